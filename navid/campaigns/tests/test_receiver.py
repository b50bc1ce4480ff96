"""The always-bound SMS receiver against the SMPP server: receipts and replies applied as they arrive, stop, rebind."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
from django.db import connection
from django.utils import timezone

from navid.campaigns import receiver
from navid.campaigns.models import MessageResponse, OutboxMessage, OutboxState
from navid.campaigns.tests.responses_helpers import message_make
from navid.channels.tests.servers import SmppServer, smpp_server_fixture  # noqa: F401
from navid.customers.models import Consent
from navid.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smpp_settings(settings: Any, smpp_server: SmppServer) -> SmppServer:
    settings.NAVID_SMS_GATEWAY = "smpp"
    settings.NAVID_SMPP_HOST, settings.NAVID_SMPP_PORT = smpp_server.host, smpp_server.port
    settings.NAVID_SMPP_SYSTEM_ID, settings.NAVID_SMPP_PASSWORD = "navid", "secret"
    return smpp_server


def _until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not applied in time"
        time.sleep(0.05)


def _run(stop: threading.Event, result: list[int]) -> None:
    try:
        result.append(receiver.sms_receiver_run(stop=stop, poll_seconds=0.1))
    finally:
        connection.close()


def test_receipts_and_replies_are_applied_while_nothing_is_being_sent(smpp_settings: SmppServer) -> None:
    customer = CustomerFactory(phone="+989121234567")
    delivered = message_make(
        channel="sms", customer=customer, provider_id="00000000A1", sent_at=timezone.now()
    )
    stop, result = threading.Event(), cast(list[int], [])
    thread = threading.Thread(target=_run, args=(stop, result))
    thread.start()
    try:
        smpp_settings.push_receipt(message_id="00000000A1", destination="+989121234567", source="NavidBank")
        _until(lambda: OutboxMessage.objects.get(pk=delivered.pk).state == OutboxState.DELIVERED)
        smpp_settings.push_inbound(sender="+989121234567", text="Call me tomorrow")
        _until(lambda: MessageResponse.objects.filter(kind="replied").exists())
        smpp_settings.push_inbound(sender="+989121234567", text="لغو")
        _until(lambda: Consent.objects.filter(channel="sms", granted=False).exists())
    finally:
        started = time.monotonic()
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 3
    assert result == [3]
    assert MessageResponse.objects.get().detail == "Call me tomorrow"


def test_a_lost_link_is_bound_again(smpp_settings: SmppServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(receiver, "RETRY_SECONDS", 0.2)
    message = message_make(channel="sms", provider_id="00000000B2", sent_at=timezone.now())
    stop, result = threading.Event(), cast(list[int], [])
    thread = threading.Thread(target=_run, args=(stop, result))
    thread.start()
    try:
        _until(lambda: len(smpp_settings.binds) == 1)
        for handler in list(smpp_settings.connections):
            handler.request.shutdown(socket.SHUT_RDWR)  # the SMSC drops the link
        _until(lambda: len(smpp_settings.binds) == 2)
        smpp_settings.push_receipt(message_id="00000000B2", destination="+989121234567", source="NavidBank")
        _until(lambda: OutboxMessage.objects.get(pk=message.pk).state == OutboxState.DELIVERED)
    finally:
        stop.set()
        thread.join(10)
    assert result == [1]
