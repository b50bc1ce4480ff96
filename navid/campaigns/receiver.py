"""The always-bound SMS receiver: delivery receipts and customers' replies applied as they arrive.

Sending workers read receipts only while they are bound; an SMSC keeps later ones for the next bind. `navid
sms-receiver` stays bound between campaigns, so a receipt turns a message `delivered` (or `failed`) and a STOP
withdraws consent within a second of arriving, whether or not anything is being sent.
"""

from __future__ import annotations

import logging
import threading
import time

from navid.campaigns.execution import deliver_apply
from navid.channels.base import ChannelUnavailable
from navid.channels.hooks import Inbound, Receipt
from navid.channels.registry import adapter_open

log = logging.getLogger(__name__)

# An idle link is checked with enquire_link this often; a lost one is bound again after RETRY_SECONDS.
KEEPALIVE_SECONDS = 30.0
RETRY_SECONDS = 5.0


def sms_receiver_run(*, stop: threading.Event, poll_seconds: float = 0.5) -> int:
    """Stay bound to the SMSC and apply every receipt and reply until `stop` is set; answer how many were applied."""
    applied = 0

    def on_deliver(event: Receipt | Inbound) -> None:
        nonlocal applied
        deliver_apply(event=event)  # an error leaves the PDU unanswered, so the SMSC delivers it again
        applied += 1

    while not stop.is_set():
        adapter = adapter_open(channel="sms", on_deliver=on_deliver)
        poll = getattr(adapter, "poll", None)
        keepalive = getattr(adapter, "keepalive", None)
        if poll is None or keepalive is None:
            adapter.close()
            raise ChannelUnavailable(
                "the SMS adapter in the settings does not receive (an SMPP bind is needed)"
            )
        try:
            checked = time.monotonic()
            while not stop.is_set():
                poll(poll_seconds)
                if time.monotonic() - checked >= KEEPALIVE_SECONDS:
                    keepalive()
                    checked = time.monotonic()
        except ChannelUnavailable as exc:
            log.warning("SMS receiver: %s; binding again in %.0f s", exc, RETRY_SECONDS)
            stop.wait(RETRY_SECONDS)
        finally:
            adapter.close()
    return applied
