import email
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.policy import default as default_policy
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from navid.campaigns import tracking
from navid.campaigns.execution import (
    ChannelSender,
    campaign_complete_if_done,
    channel_send,
    outbox_cancel,
    outbox_claim,
    outbox_commit,
    outbox_orphans_record,
    outbox_record,
    receipt_apply,
    sms_inbound_apply,
    template_languages,
)
from navid.campaigns.models import (
    Campaign,
    CampaignChannel,
    OutboxMessage,
    OutboxState,
    State,
    Suppression,
    Wave,
)
from navid.campaigns.progress import campaign_progress
from navid.campaigns.tests.sending import customers_bulk, outbox_write, running_campaign
from navid.channels.base import SendResult
from navid.channels.hooks import Receipt
from navid.channels.sms import SmppAdapter
from navid.channels.tests.servers import (  # noqa: F401
    SmppServer,
    SmtpServer,
    smpp_server_fixture,
    smtp_server_fixture,
)
from navid.core.errors import ValidationFailed
from navid.customers.models import Consent
from navid.customers.services import consent_set
from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import Interaction
from navid.offers.tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    settings.NAVID_SMTP_HOST, settings.NAVID_SMTP_PORT = smtp_server.host, smtp_server.port
    return smtp_server


@pytest.fixture
def smpp_settings(settings: Any, smpp_server: SmppServer) -> SmppServer:
    settings.NAVID_SMS_GATEWAY = "smpp"
    settings.NAVID_SMPP_HOST, settings.NAVID_SMPP_PORT = smpp_server.host, smpp_server.port
    settings.NAVID_SMPP_SYSTEM_ID, settings.NAVID_SMPP_PASSWORD = "navid", "secret"
    return smpp_server


def _states(campaign: Campaign) -> dict[str, str]:
    return dict(OutboxMessage.objects.filter(campaign=campaign).values_list("address", "state"))


# Claim, lease, reclaim ------------------------------------------------------------------------------------------
def test_claim_takes_due_messages_in_batches_with_one_token_and_a_lease() -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=5))
    OutboxMessage.objects.filter(address="c4@example.com").update(
        send_after=timezone.now() + timedelta(hours=1)
    )

    first = outbox_claim(campaign_id=campaign.id, channel="email", limit=3, lease_seconds=60)
    second = outbox_claim(campaign_id=campaign.id, channel="email", limit=3, lease_seconds=60)
    third = outbox_claim(campaign_id=campaign.id, channel="email", limit=3, lease_seconds=60)

    assert (len(first), len(second), third) == (3, 1, [])
    assert len({m.claim_token for m in first}) == 1
    assert first[0].claim_token != second[0].claim_token
    assert {m.state for m in first + second} == {OutboxState.CLAIMED}
    assert all(59 <= (m.lease_until - timezone.now()).total_seconds() <= 60 for m in first)  # type: ignore[operator]
    assert "c4@example.com" not in {m.address for m in first + second}


def test_a_batch_whose_lease_ran_out_is_claimed_again_and_the_old_claim_can_neither_send_nor_record() -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=2))
    dead = outbox_claim(campaign_id=campaign.id, channel="email", limit=2, lease_seconds=60)
    OutboxMessage.objects.filter(campaign=campaign).update(lease_until=timezone.now() - timedelta(seconds=1))

    alive = outbox_claim(campaign_id=campaign.id, channel="email", limit=2, lease_seconds=60)
    ids = [m.id for m in alive]

    assert sorted(ids) == sorted(m.id for m in dead)
    assert outbox_commit(claim_token=dead[0].claim_token, ids=ids) == set()
    assert (
        outbox_record(
            campaign_id=campaign.id,
            channel="email",
            claim_token=dead[0].claim_token,
            results={ids[0]: SendResult(key="x", ok=False, permanent=True, error="550")},
        )
        == {}
    )
    assert outbox_commit(claim_token=alive[0].claim_token, ids=ids) == set(ids)
    assert set(_states(campaign).values()) == {OutboxState.SENT}


def test_a_commit_after_the_lease_ran_out_is_refused_even_before_anyone_reclaims() -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=1))
    (message,) = outbox_claim(campaign_id=campaign.id, channel="email", limit=1, lease_seconds=60)
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert outbox_commit(claim_token=message.claim_token, ids=[message.id]) == set()


# Sending email ------------------------------------------------------------------------------------------------
def test_given_consents_bounces_and_suppressions_when_sent_then_each_message_ends_in_its_state(
    smtp_settings: SmtpServer,
) -> None:
    campaign = running_campaign(unit_cost=Decimal("250"))
    customers: list[Any] = [CustomerFactory(email=f"p{n}@example.com", language="en") for n in range(6)]
    outbox_write(campaign=campaign, customers=customers)
    # After the outbox was written: one customer withdraws consent, one asks not to be contacted, one address
    # bounced in another campaign, one mailbox does not exist.
    consent_set(
        actor=None, customer=customers[0], channel="email", purpose="marketing", granted=False, source="web"
    )
    customers[1].do_not_contact = True
    customers[1].save()
    Suppression.objects.create(
        channel="email", address="p2@example.com", reason=Suppression.Reason.HARD_BOUNCE
    )
    smtp_settings.recorder.refuse = {"p3@example.com": "550 5.1.1 no such user"}

    report = channel_send(campaign_id=campaign.id, channel="email")

    assert report.reason == "done"
    assert _states(campaign) == {
        "p0@example.com": OutboxState.SKIPPED,
        "p1@example.com": OutboxState.SKIPPED,
        "p2@example.com": OutboxState.SKIPPED,
        "p3@example.com": OutboxState.BOUNCED,
        "p4@example.com": OutboxState.SENT,
        "p5@example.com": OutboxState.SENT,
    }
    assert sorted(m.recipients[0] for m in smtp_settings.messages) == ["p4@example.com", "p5@example.com"]
    assert Suppression.objects.filter(
        channel="email", address="p3@example.com", reason="hard_bounce"
    ).exists()
    campaign.refresh_from_db()
    assert campaign.cost_actual == Decimal("500.00")
    interactions = Interaction.objects.filter(campaign_id=campaign.id).order_by("customer_id")
    assert [(i.customer_id, i.kind, i.direction, i.cost) for i in interactions] == [
        (customers[4].id, "email", "outbound", Decimal("250.00")),
        (customers[5].id, "email", "outbound", Decimal("250.00")),
    ]
    sent = OutboxMessage.objects.get(address="p4@example.com")
    assert (sent.attempts, sent.claim_token, sent.provider_id) == (
        1,
        "",
        f"<navid.{campaign.id}.1.{customers[4].id}.email@bank.example>",
    )
    assert campaign_complete_if_done(campaign_id=campaign.id) is True


def test_the_email_carries_brand_pixel_tracked_links_and_one_click_unsubscribe(
    smtp_settings: SmtpServer,
) -> None:
    campaign = running_campaign()
    customer = CustomerFactory(email="reader@example.com", language="fa", first_name="مریم")
    outbox_write(campaign=campaign, customers=[customer])

    channel_send(campaign_id=campaign.id, channel="email")

    (received,) = smtp_settings.messages
    mail = email.message_from_bytes(received.content, policy=default_policy)
    assert mail["Subject"] == "پیشنهادی برای شما، مریم"
    assert mail["From"] == "Navid Bank <offers@bank.example>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/r/unsubscribe/")
    assert mail["List-Unsubscribe"].endswith(
        f", <mailto:offers@bank.example?subject=unsubscribe%20{campaign.id}>"
    )
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in html and "Navid Bank, 1 Ferdowsi Square" in html
    assert 'src="http://127.0.0.1:8000/r/open/' in html
    assert "/r/click/" in html and "u=https%3A%2F%2Fbank.example%2Fdeposit" in html
    assert "https://bank.example/deposit" not in text.replace("u=https%3A", "")
    assert "/r/click/" in text


def test_template_languages_fall_back_to_the_default_language_then_the_settings_order() -> None:
    assert template_languages(campaign_language="ru", available=["fa", "en"]) == ["en", "fa"]
    assert template_languages(campaign_language="fa", available=["ru", "en", "fa"]) == ["fa", "en", "ru"]
    assert template_languages(campaign_language="ru", available=[]) == []


def test_a_temporary_refusal_goes_back_to_the_queue_for_later(smtp_settings: SmtpServer) -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=1))
    smtp_settings.recorder.refuse = {"c0@example.com": "451 4.7.1 try later"}

    report = channel_send(campaign_id=campaign.id, channel="email")

    message = OutboxMessage.objects.get(campaign=campaign)
    assert (message.state, message.attempts, message.error) == (
        OutboxState.PENDING,
        1,
        "RCPT TO: 451 4.7.1 try later",
    )
    assert 110 <= (message.send_after - timezone.now()).total_seconds() <= 120  # type: ignore[operator]
    assert report.next_due_in is not None and 110 <= report.next_due_in <= 120
    assert campaign_complete_if_done(campaign_id=campaign.id) is False


def _dead_worker(*, claimed: int, committed: int) -> tuple[Campaign, list[OutboxMessage]]:
    """A running campaign of three email messages; a worker claimed some with a 60 s lease and passed the commit
    point of the first `committed` of them, and then died without recording them."""
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=3))
    claim = outbox_claim(campaign_id=campaign.id, channel="email", limit=claimed, lease_seconds=60)
    ids = {message.id for message in claim[:committed]}
    assert outbox_commit(claim_token=claim[0].claim_token, ids=list(ids)) == ids
    return campaign, claim


def test_a_worker_that_died_after_its_commit_point_is_recorded_by_the_next_and_nothing_is_sent_twice(
    smtp_settings: SmtpServer,
) -> None:
    # The dead worker got two messages past their point of no return, then died.
    campaign, claimed = _dead_worker(claimed=3, committed=2)
    OutboxMessage.objects.filter(campaign=campaign).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert outbox_orphans_record(campaign_id=campaign.id, channel="email") == 1
    channel_send(campaign_id=campaign.id, channel="email")

    assert [m.recipients for m in smtp_settings.messages] == [[claimed[2].address]]
    assert set(_states(campaign).values()) == {OutboxState.SENT}
    assert Interaction.objects.filter(campaign_id=campaign.id).count() == 3


def test_a_dead_workers_sent_claim_still_in_its_lease_is_waited_for_then_recorded(
    smtp_settings: SmtpServer,
) -> None:
    # The dead worker got its message past the point of no return; its lease runs for another minute.
    campaign, _ = _dead_worker(claimed=1, committed=1)

    report = channel_send(campaign_id=campaign.id, channel="email")

    assert (report.reason, report.counts) == ("done", {"sent": 2})
    # A send_outbox --wait worker comes back when the lease runs out.
    assert report.next_due_in is not None and 50 <= report.next_due_in <= 60
    assert campaign_complete_if_done(campaign_id=campaign.id) is False
    OutboxMessage.objects.filter(campaign=campaign).update(lease_until=timezone.now() - timedelta(seconds=1))

    report = channel_send(campaign_id=campaign.id, channel="email")

    assert (report.reason, report.next_due_in) == ("done", None)
    assert Interaction.objects.filter(campaign_id=campaign.id).count() == 3
    assert campaign_complete_if_done(campaign_id=campaign.id) is True


# Pause, stop, rate ------------------------------------------------------------------------------------------
def test_a_paused_campaign_sends_nothing_and_keeps_its_messages_pending(smtp_settings: SmtpServer) -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=3))
    Campaign.objects.filter(pk=campaign.pk).update(state=State.PAUSED)

    report = channel_send(campaign_id=campaign.id, channel="email")

    assert (report.reason, smtp_settings.messages) == ("not_running", [])
    assert set(_states(campaign).values()) == {OutboxState.PENDING}


def test_a_stopped_campaign_cancels_its_pending_messages(smtp_settings: SmtpServer) -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=3))
    Campaign.objects.filter(pk=campaign.pk).update(state=State.STOPPED)

    channel_send(campaign_id=campaign.id, channel="email")

    assert set(_states(campaign).values()) == {OutboxState.CANCELLED}
    assert outbox_cancel(campaign_id=campaign.id) == 0


@pytest.mark.django_db(transaction=True)
def test_stop_takes_effect_within_two_seconds_while_a_worker_is_sending(smtp_settings: SmtpServer) -> None:
    campaign = running_campaign(rate_per_second=40)
    outbox_write(campaign=campaign, customers=customers_bulk(count=400))  # 10 s of sending at 40 per second

    def send() -> None:
        channel_send(campaign_id=campaign.id, channel="email")
        connection.close()  # the thread's own connection

    worker = threading.Thread(target=send)
    worker.start()
    time.sleep(1.0)

    Campaign.objects.filter(pk=campaign.pk).update(state=State.STOPPED)
    stopped_at = time.monotonic()
    worker.join(timeout=5)
    took = time.monotonic() - stopped_at

    assert not worker.is_alive()
    assert took < 2.0
    progress = campaign_progress(campaign_id=campaign.id)
    sent, cancelled = progress["states"]["sent"], progress["states"]["cancelled"]
    assert sent + cancelled == 400 and 0 < sent < 200
    assert len(smtp_settings.messages) == sent


def test_the_rate_limit_spaces_batches_across_workers(smtp_settings: SmtpServer) -> None:
    campaign = running_campaign(rate_per_second=20)
    outbox_write(campaign=campaign, customers=customers_bulk(count=30))

    started = time.monotonic()
    channel_send(campaign_id=campaign.id, channel="email")
    took = time.monotonic() - started

    assert len(smtp_settings.messages) == 30
    assert 1.0 <= took < 3.0  # batch 1: 20 at once; batch 2 (10) waits until 20 / 20 per second = 1 s


# SMS: encoding and cost, receipts, STOP ---------------------------------------------------------------------------
def test_sms_are_sent_costed_per_part_and_receipts_mark_them_delivered(smpp_settings: SmppServer) -> None:
    campaign = running_campaign(channel=CampaignChannel.SMS, unit_cost=Decimal("30"))
    campaign.templates.filter(language="fa").update(
        body="{first_name} گرامی، " + "سپرده جدید بانک نوید. " * 6
    )
    short, long = (
        CustomerFactory(language="en", first_name="Ali", phone="+989120000001"),
        CustomerFactory(language="fa", phone="+989120000002"),
    )
    outbox_write(campaign=campaign, customers=[short, long], channel=CampaignChannel.SMS)

    channel_send(campaign_id=campaign.id, channel="sms")

    messages = {m.address: m for m in OutboxMessage.objects.filter(campaign=campaign)}
    assert [(s.destination, s.data_coding, s.esm_class) for s in smpp_settings.submitted] == [
        ("989120000001", 0, 0),
        ("989120000002", 8, 0x40),
        ("989120000002", 8, 0x40),
        ("989120000002", 8, 0x40),
    ]
    assert (messages["+989120000001"].cost, messages["+989120000002"].cost) == (
        Decimal("30.00"),
        Decimal("90.00"),
    )
    campaign.refresh_from_db()
    assert campaign.cost_actual == Decimal("120.00")

    listener = SmppAdapter(
        host=smpp_settings.host,
        port=smpp_settings.port,
        system_id="navid",
        password="secret",
        on_deliver=lambda event: _deliver(event),
    )
    listener.poll(0)
    smpp_settings.push_receipt(
        message_id=messages["+989120000001"].provider_id, destination="NavidBank", source="989120000001"
    )
    smpp_settings.push_receipt(
        message_id=messages["+989120000002"].provider_id,
        destination="NavidBank",
        source="989120000002",
        stat="UNDELIV",
    )
    deadline = time.monotonic() + 5
    while len(smpp_settings.deliver_responses) < 2 and time.monotonic() < deadline:
        listener.poll(0.2)
    listener.close()

    assert _states(campaign) == {"+989120000001": OutboxState.DELIVERED, "+989120000002": OutboxState.FAILED}
    assert OutboxMessage.objects.get(address="+989120000002").error == "delivery receipt: UNDELIV"


def _deliver(event: object) -> None:
    from navid.campaigns.execution import deliver_apply

    assert isinstance(event, Receipt)
    deliver_apply(event=event)


def test_receipt_apply_only_moves_sent_messages() -> None:
    campaign = running_campaign(channel=CampaignChannel.SMS)
    outbox_write(campaign=campaign, customers=customers_bulk(count=1), channel=CampaignChannel.SMS)
    OutboxMessage.objects.filter(campaign=campaign).update(state=OutboxState.SENT, provider_id="A1")
    at = datetime(2026, 11, 22, 12, tzinfo=UTC)

    assert receipt_apply(provider_id="A1", delivered=True, at=at) == 1
    assert receipt_apply(provider_id="A1", delivered=False, at=at) == 0
    assert receipt_apply(provider_id="", delivered=True, at=at) == 0
    assert OutboxMessage.objects.get(campaign=campaign).delivered_at == at


@pytest.mark.parametrize("word", ["STOP", "stop", "لغو", "СТОП", " Stop. "])
def test_a_stop_reply_withdraws_sms_marketing_consent_and_the_next_message_is_skipped(
    word: str, smpp_settings: SmppServer
) -> None:
    customer = CustomerFactory(phone="+989121234567", language="en")
    at = datetime(2026, 11, 22, 12, tzinfo=UTC)

    assert sms_inbound_apply(sender="989121234567", text=word, at=at) == 1

    consent = Consent.objects.get(customer=customer, channel="sms", purpose="marketing")
    assert consent.granted is False
    campaign = running_campaign(channel=CampaignChannel.SMS)
    outbox_write(campaign=campaign, customers=[customer], channel=CampaignChannel.SMS)
    channel_send(campaign_id=campaign.id, channel="sms")
    assert _states(campaign) == {"+989121234567": OutboxState.SKIPPED}
    assert smpp_settings.submitted == []


def test_other_replies_change_nothing() -> None:
    CustomerFactory(phone="+989121234567")
    assert sms_inbound_apply(sender="989121234567", text="thanks", at=timezone.now()) == 0
    assert not Consent.objects.exists()


# Completion and progress ---------------------------------------------------------------------------------------------
def test_a_campaign_completes_when_every_message_is_final_unless_a_wave_is_planned() -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=2))
    assert campaign_complete_if_done(campaign_id=campaign.id) is False
    OutboxMessage.objects.filter(campaign=campaign).update(state=OutboxState.SENT)
    Wave.objects.create(campaign=campaign, number=2, scheduled_at=timezone.now() + timedelta(days=7))
    assert campaign_complete_if_done(campaign_id=campaign.id) is False
    Wave.objects.filter(campaign=campaign).update(state=Wave.WaveState.CANCELLED)

    assert campaign_complete_if_done(campaign_id=campaign.id) is True

    campaign.refresh_from_db()
    assert campaign.state == State.COMPLETED and campaign.finished_at is not None
    assert campaign_complete_if_done(campaign_id=campaign.id) is False


def test_progress_counts_states_per_channel() -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=4))
    outbox_write(campaign=campaign, customers=customers_bulk(count=1, start=10), channel=CampaignChannel.SMS)
    OutboxMessage.objects.filter(campaign=campaign, address__in=["c0@example.com", "c1@example.com"]).update(
        state=OutboxState.SENT
    )
    OutboxMessage.objects.filter(campaign=campaign, address="c2@example.com").update(
        state=OutboxState.BOUNCED
    )

    progress = campaign_progress(campaign_id=campaign.id)

    assert (progress["total"], progress["done"], progress["percent"]) == (5, 3, 60.0)
    assert progress["channels"]["email"]["total"] == 4
    assert progress["channels"]["email"]["states"]["sent"] == 2
    assert progress["channels"]["sms"]["states"]["pending"] == 1
    assert progress["states"]["bounced"] == 1


# Real worker processes ---------------------------------------------------------------------------------------------
# The size is 50,000 messages, run on PostgreSQL with four workers (about three minutes on the shared
# two-core machine). SQLite runs the same scenario with 1,000: it has one writer at a time, so its workers mostly
# wait for each other, and 50,000 would take far longer than a test may; without PostgreSQL only the large size is
# skipped.
ON_POSTGRESQL = connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("messages", "workers", "batch", "lease"),
    [
        pytest.param(
            1000,
            2,
            50,
            3,
            id="1000-messages",
            marks=pytest.mark.skipif(ON_POSTGRESQL, reason="PostgreSQL runs the issue's size, 50,000"),
        ),
        pytest.param(
            50000,
            4,
            100,
            10,
            id="50000-messages",
            marks=pytest.mark.skipif(
                not ON_POSTGRESQL, reason="50,000 messages need PostgreSQL (SQLite has one writer at a time)"
            ),
        ),
    ],
)
def test_kill_9_a_worker_in_the_middle_then_the_server_receives_every_message_exactly_once(
    smtp_server: SmtpServer, messages: int, workers: int, batch: int, lease: int
) -> None:
    campaign = running_campaign(unit_cost=Decimal("10"))
    outbox_write(campaign=campaign, customers=customers_bulk(count=messages))
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        if ON_POSTGRESQL
        else f"sqlite:///{database['NAME']}"
    )
    # The workers keep their bytecode in the test's own directory instead of compiling Django at every start-up.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"} | {
        "PYTHONPYCACHEPREFIX": str(settings.VAR_DIR / "pycache"),
        "DATABASE_URL": url,
        "NAVID_SMTP_HOST": smtp_server.host,
        "NAVID_SMTP_PORT": str(smtp_server.port),
        "NAVID_SEND_BATCH": str(batch),
        "NAVID_SEND_LEASE_SECONDS": str(lease),  # the dead worker's batch is claimed again after its lease
    }
    command = [
        sys.executable,
        "manage.py",
        "send_outbox",
        "--campaign",
        str(campaign.id),
        "--channel",
        "email",
        "--wait",
    ]

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=settings.PROJECT_DIR, env=env, stdout=subprocess.PIPE)

    first, *others = [worker() for _ in range(workers)]
    deadline = time.monotonic() + 120
    while len(smtp_server.messages) < messages // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    received_at_kill = len(smtp_server.messages)
    others.append(worker())
    for process in others:
        process.wait(timeout=600)  # generous: the shared machine is sometimes loaded ten times over

    received = smtp_server.recorder.message_ids()
    expected = {
        f"<navid.{campaign.id}.1.{customer_id}.email@bank.example>"
        for customer_id in OutboxMessage.objects.filter(campaign=campaign).values_list(
            "customer_id", flat=True
        )
    }
    assert messages // 3 <= received_at_kill < messages  # killed in the middle
    assert first.returncode == -signal.SIGKILL
    assert [process.returncode for process in others] == [0] * workers
    assert len(expected) == messages
    assert set(received) == expected
    assert max(received.values()) == 1
    assert campaign_progress(campaign_id=campaign.id)["states"]["sent"] == messages
    assert Interaction.objects.filter(campaign_id=campaign.id).count() == messages
    campaign.refresh_from_db()
    assert campaign.cost_actual == Decimal("10") * messages


def test_a_pause_reaching_a_batch_in_flight_sends_nothing_more_and_the_attempt_does_not_count(
    smtp_settings: SmtpServer,
) -> None:
    campaign = running_campaign(rate_per_second=0)  # no rate limit: the batch goes straight to the adapter
    outbox_write(campaign=campaign, customers=customers_bulk(count=3))
    sender = ChannelSender(campaign_id=campaign.id, channel="email")
    Campaign.objects.filter(pk=campaign.pk).update(state=State.PAUSED)
    sender._state_read = -1e9  # the state is due to be read at the first commit point

    counts = sender.batch()
    sender.close()

    assert counts == {"pending": 3}
    assert smtp_settings.messages == []
    assert (
        list(OutboxMessage.objects.filter(campaign=campaign).values_list("state", "attempts", "send_after"))
        == [("pending", 0, None)] * 3
    )


def test_offer_url_is_the_offers_landing_page_behind_a_tracked_link(smtp_settings: SmtpServer) -> None:
    campaign = running_campaign()
    campaign.offer = OfferFactory(landing_url="https://bank.example/offers/deposit")
    campaign.save()
    campaign.templates.filter(language="en").update(body="Dear {full_name}, read {offer_url}")
    customer = CustomerFactory(email="reader@example.com", language="en")
    outbox_write(campaign=campaign, customers=[customer])

    channel_send(campaign_id=campaign.id, channel="email")

    (received,) = smtp_settings.messages
    text = (
        email.message_from_bytes(received.content, policy=default_policy).get_body(("plain",)).get_content()
    )
    assert "u=https%3A%2F%2Fbank.example%2Foffers%2Fdeposit" in text
    message = OutboxMessage.objects.get(campaign=campaign)
    assert (
        tracking.message_click_record(message_id=message.pk, target="https://bank.example/offers/deposit")
        == "https://bank.example/offers/deposit"
    )
    with pytest.raises(ValidationFailed):
        tracking.message_click_record(message_id=message.pk, target="https://bank.example/offers/deposit/x")
