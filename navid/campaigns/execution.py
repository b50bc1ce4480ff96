"""Sending the outbox exactly once: claim a batch with a lease, check consent, render, send, record.

The steps of one batch (docs/channels.md explains why each exists):
1. `outbox_claim` gives a batch of due messages a fresh claim token and a lease.
2. Right before sending, consent, do-not-contact and the suppression list are checked again: a customer who
   withdrew since the outbox was written is SKIPPED, never sent. Attempts and the cost of each message are written.
3. The adapter sends. At each message's point of no return (before the SMTP end-of-data dot, before a window of
   submit_sm PDUs) it calls the commit point, which turns the message from CLAIMED to SENT with one UPDATE guarded
   by the claim token and the lease. Only one worker can ever win that UPDATE, so only one can send the message.
4. The results are recorded in one transaction guarded by the claim token: provider ids, bounces (and a
   suppression row for a hard bounce), temporary failures back to the queue, one outbound interaction per sent
   message, and the campaign's actual cost; the claim token is cleared last. A worker that dies between 3 and 4
   leaves SENT rows with its stale token, which the next worker records the same way (`outbox_orphans_record`).
"""

from __future__ import annotations

import html
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from navid.accounts.models import AuditAction
from navid.accounts.services import audit_record
from navid.campaigns.models import (
    Brand,
    Campaign,
    CampaignChannel,
    ChannelPlan,
    Goal,
    MessageTemplate,
    OutboxMessage,
    OutboxState,
    State,
    Suppression,
    Wave,
)
from navid.campaigns.personalise import personalise
from navid.campaigns.tokens import public_url
from navid.campaigns.tracking import sms_reply_record
from navid.channels import mail
from navid.channels.base import Adapter, ChannelUnavailable, Outgoing, SendResult
from navid.channels.hooks import Halt, Inbound, Receipt
from navid.channels.registry import adapter_open
from navid.channels.sms import sms_part_count
from navid.channels.throttle import send_rate_reserve
from navid.core.dates import format_date
from navid.customers.models import Consent, ConsentPurpose, Customer
from navid.customers.services import consent_set
from navid.interactions.models import Direction, Interaction, InteractionChannel, InteractionKind, Outcome

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
STATE_EVERY_SECONDS = 0.5  # how often a batch in flight reads the campaign's state again
RETRY_AFTER = timedelta(minutes=2)  # times the attempt number, after a temporary failure
FINAL_STATES = (
    OutboxState.SENT,
    OutboxState.DELIVERED,
    OutboxState.FAILED,
    OutboxState.BOUNCED,
    OutboxState.SKIPPED,
    OutboxState.CANCELLED,
)
# The customers' consent channel, the interaction kind and channel of each campaign channel.
_CONSENT_CHANNEL = {"email": "email", "sms": "sms", "mail": "mail", "event": "email", "phone": "phone"}
_INTERACTION = {
    "email": (InteractionKind.EMAIL, InteractionChannel.EMAIL),
    "sms": (InteractionKind.SMS, InteractionChannel.SMS),
    "mail": (InteractionKind.LETTER, InteractionChannel.POST),
    "event": (InteractionKind.EMAIL, InteractionChannel.EMAIL),
    "phone": (InteractionKind.CALL, InteractionChannel.PHONE),
}
_SUPPRESSION_REASON = {"email": Suppression.Reason.HARD_BOUNCE, "sms": Suppression.Reason.INVALID_NUMBER}
_URL = re.compile(r"https?://[^\s<>\"']+")


def outbox_claim(*, campaign_id: int, channel: str, limit: int, lease_seconds: int) -> list[OutboxMessage]:
    """Claim up to `limit` messages with a fresh token and lease: first those of workers whose lease ran out,
    then due pending ones. No ORDER BY, so that the index scan stops after `limit` rows."""
    token = secrets.token_hex(16)
    now = timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    expired = Q(state=OutboxState.CLAIMED, lease_until__lt=now)
    due = Q(state=OutboxState.PENDING) & (Q(send_after__isnull=True) | Q(send_after__lte=now))
    claimed = 0
    for condition in (expired, due):
        if claimed >= limit:
            break
        candidates = OutboxMessage.objects.filter(condition, campaign_id=campaign_id, channel=channel)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED): workers skip each other's rows
                # instead of queueing behind them.
                ids = candidates.select_for_update(skip_locked=True).values("id")[: limit - claimed]
                claimed += OutboxMessage.objects.filter(id__in=ids).update(
                    state=OutboxState.CLAIMED, claim_token=token, lease_until=lease_until
                )
            else:
                # SQLite has one writer at a time: the write transaction (BEGIN IMMEDIATE) is the lock.
                id_list = list(candidates.values_list("id", flat=True)[: limit - claimed])
                claimed += OutboxMessage.objects.filter(id__in=id_list).update(
                    state=OutboxState.CLAIMED, claim_token=token, lease_until=lease_until
                )
    if not claimed:
        return []
    return list(OutboxMessage.objects.filter(claim_token=token).order_by("id"))


def outbox_release(*, claim_token: str, state: str = OutboxState.PENDING) -> int:
    """Give back the still-unsent messages of a claim (to the queue, or CANCELLED when the campaign stopped)."""
    return OutboxMessage.objects.filter(claim_token=claim_token, state=OutboxState.CLAIMED).update(
        state=state, claim_token="", lease_until=None
    )


def outbox_cancel(*, campaign_id: int) -> int:
    """Cancel every message of the campaign that no worker is sending; answer how many."""
    now = timezone.now()
    return (
        OutboxMessage.objects.filter(campaign_id=campaign_id)
        .filter(Q(state=OutboxState.PENDING) | Q(state=OutboxState.CLAIMED, lease_until__lt=now))
        .update(state=OutboxState.CANCELLED, claim_token="", lease_until=None)
    )


def outbox_commit(*, claim_token: str, ids: Sequence[int]) -> set[int]:
    """Turn claimed messages into SENT at their point of no return; answer the ids this claim still held."""
    if not ids:
        return set()
    now = timezone.now()
    held = OutboxMessage.objects.filter(
        id__in=ids, claim_token=claim_token, state=OutboxState.CLAIMED, lease_until__gt=now
    )
    if held.update(state=OutboxState.SENT, sent_at=now) == len(ids):
        return set(ids)
    return set(
        OutboxMessage.objects.filter(
            id__in=ids, claim_token=claim_token, state=OutboxState.SENT, sent_at=now
        ).values_list("id", flat=True)
    )


def _update_rows(sql_set: str, rows: Sequence[Sequence[Any]]) -> None:
    """One parameterised UPDATE of the outbox per row, sent with executemany (pipelined on PostgreSQL); far
    cheaper than bulk_update's CASE expressions, which cost more than the sending itself."""
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {OutboxMessage._meta.db_table} SET {sql_set} WHERE id = %s",  # noqa: S608 (fixed names)
                rows,
            )


@transaction.atomic
def outbox_record(
    *, campaign_id: int, channel: str, claim_token: str, results: dict[int, SendResult] | None = None
) -> dict[str, int]:
    """Record a claim's results, its interactions and cost, and end the claim; answer counts per final state.

    A claimed message without a result goes back to the queue; a SENT one without a result (its worker died after
    the commit point) stays sent. Everything is guarded by the claim token, so a claim that another worker has
    taken over since records nothing.
    """
    results = results or {}
    now = timezone.now()
    rows = list(OutboxMessage.objects.select_for_update().filter(claim_token=claim_token))
    suppressions = []
    provider_ids: list[tuple[str, str, int]] = []
    failures: list[tuple[str, str, int]] = []
    retries: list[tuple[str, datetime, int]] = []
    released: list[int] = []
    uncommitted: list[int] = []
    for row in rows:
        result = results.get(row.id)
        if result is None:
            if row.state == OutboxState.CLAIMED:
                row.state = OutboxState.PENDING
                released.append(row.id)
        elif result.ok:
            if row.state == OutboxState.CLAIMED:  # an adapter without a commit point
                row.state, row.sent_at = OutboxState.SENT, now
                uncommitted.append(row.id)
            if result.provider_id or result.error:
                provider_ids.append((result.provider_id[:100], result.error[:500], row.id))
        elif result.permanent:
            row.state = OutboxState.BOUNCED if channel == CampaignChannel.EMAIL else OutboxState.FAILED
            failures.append((row.state, result.error[:500], row.id))
            reason = _SUPPRESSION_REASON.get(channel)
            if reason:
                suppressions.append(
                    Suppression(
                        channel=channel, address=row.address, reason=reason, detail=result.error[:500]
                    )
                )
        elif row.attempts >= MAX_ATTEMPTS:
            row.state = OutboxState.FAILED
            failures.append((row.state, result.error[:500], row.id))
        else:
            row.state = OutboxState.PENDING
            retries.append((result.error[:500], now + RETRY_AFTER * max(1, row.attempts), row.id))
    mine = OutboxMessage.objects.filter(claim_token=claim_token)
    if released:
        # Never handed to the provider (sending halted, the channel went down): this attempt does not count.
        mine.filter(id__in=released).update(state=OutboxState.PENDING)
        mine.filter(id__in=released, attempts__gt=0).update(attempts=F("attempts") - 1)
    if uncommitted:
        mine.filter(id__in=uncommitted).update(state=OutboxState.SENT, sent_at=now)
    _update_rows("provider_id = %s, error = %s", provider_ids)
    _update_rows("state = %s, error = %s, sent_at = NULL", failures)
    _update_rows(f"state = '{OutboxState.PENDING}', error = %s, send_after = %s, sent_at = NULL", retries)
    mine.update(claim_token="", lease_until=None)
    if suppressions:
        Suppression.objects.bulk_create(suppressions, ignore_conflicts=True)
    sent = [row for row in rows if row.state == OutboxState.SENT]
    kind, interaction_channel = _INTERACTION.get(channel, (InteractionKind.EMAIL, InteractionChannel.EMAIL))
    Interaction.objects.bulk_create(
        [
            Interaction(
                customer_id=row.customer_id,
                kind=kind,
                channel=interaction_channel,
                direction=Direction.OUTBOUND,
                occurred_at=row.sent_at or now,
                outcome=Outcome.COMPLETED,
                cost=row.cost,
                campaign_id=campaign_id,
                source=f"campaign:{campaign_id}",
            )
            for row in sent
        ]
    )
    cost = sum((row.cost for row in sent), Decimal("0"))
    if cost:
        Campaign.objects.filter(pk=campaign_id).update(cost_actual=F("cost_actual") + cost)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return counts


def outbox_orphans_record(*, campaign_id: int, channel: str) -> int:
    """Record the SENT messages of workers that died before recording them; answer how many claims."""
    stale = set(
        OutboxMessage.objects.filter(
            campaign_id=campaign_id, channel=channel, state=OutboxState.SENT, lease_until__lt=timezone.now()
        )
        .exclude(claim_token="")
        .values_list("claim_token", flat=True)
    )
    for token in stale:
        outbox_record(campaign_id=campaign_id, channel=channel, claim_token=token)
    return len(stale)


# Rendering ----------------------------------------------------------------------------------------------------
def template_languages(*, campaign_language: str, available: Sequence[str]) -> list[str]:
    """The order in which languages are tried for a message: the customer's, the bank's default, then the rest
    in the order of settings.LANGUAGES."""
    order = [campaign_language, settings.LANGUAGE_CODE, *(code for code, _ in settings.LANGUAGES)]
    return [code for code in dict.fromkeys(order) if code in available]


def _html(*, brand: Brand | None, language: str, body: str, pixel: str, link: Callable[[str], str]) -> str:
    direction = "rtl" if language == "fa" else "ltr"
    text = html.escape(body)
    text = _URL.sub(
        lambda m: f'<a href="{html.escape(link(html.unescape(m.group(0))))}">{m.group(0)}</a>', text
    )
    text = text.replace("\n", "<br>\n")
    primary = brand.primary_color if brand else "#0b5394"
    accent = brand.accent_color if brand else "#f1c232"
    header = html.escape(brand.header_text or brand.sender_name) if brand else ""
    footer = html.escape(brand.footer_text).replace("\n", "<br>") if brand else ""
    font = "Vazirmatn, Tahoma, sans-serif" if language == "fa" else "Arial, sans-serif"
    return (
        f'<!doctype html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8"></head>'
        f'<body style="margin:0;font-family:{font};direction:{direction}">'
        f'<div style="background:{primary};color:#fff;padding:16px;font-size:20px">{header}</div>'
        f'<div style="padding:16px;border-bottom:4px solid {accent}">{text}</div>'
        f'<div style="padding:16px;color:#666;font-size:12px">{footer}</div>'
        f'<img src="{html.escape(pixel)}" width="1" height="1" alt="" style="display:block">'
        "</body></html>"
    )


@dataclass
class _Context:
    """What every message of one campaign channel shares; loaded once per worker."""

    campaign: Campaign
    plan: ChannelPlan | None
    templates: dict[str, MessageTemplate]
    purpose: str

    @property
    def unit_cost(self) -> Decimal:
        return self.plan.unit_cost if self.plan else Decimal("0")


def _context(*, campaign_id: int, channel: str) -> _Context:
    campaign = Campaign.objects.select_related("brand", "offer").get(pk=campaign_id)
    return _Context(
        campaign=campaign,
        plan=ChannelPlan.objects.filter(campaign_id=campaign_id, channel=channel).first(),
        templates={
            t.language: t for t in MessageTemplate.objects.filter(campaign_id=campaign_id, channel=channel)
        },
        purpose=ConsentPurpose.SURVEYS if campaign.goal == Goal.SATISFACTION else ConsentPurpose.MARKETING,
    )


def message_render(*, context: _Context, message: OutboxMessage, customer: Customer) -> Outgoing | None:
    """The message ready for its channel, or None when the campaign has no template for its channel."""
    languages = template_languages(campaign_language=message.language, available=list(context.templates))
    if not languages:
        return None
    language = languages[0]
    template = context.templates[language]
    campaign, brand, offer = context.campaign, context.campaign.brand, context.campaign.offer
    unsubscribe = public_url(message_id=message.id, purpose="unsubscribe")
    values = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "full_name": customer.display_name,
        "customer_number": customer.external_id or str(customer.id),
        "branch": str(customer.branch) if customer.branch_id else "",
        "offer": offer.name if offer else "",
        "offer_valid_until": format_date(offer.valid_until, language) if offer and offer.valid_until else "",
        "unsubscribe_url": unsubscribe,
        "offer_url": offer.landing_url if offer else "",
        "rsvp_url": public_url(message_id=message.id, purpose="rsvp") if message.channel == "event" else "",
        "survey_url": public_url(message_id=message.id, purpose="survey")
        if campaign.goal == Goal.SATISFACTION
        else "",
    }
    text = personalise(template.body, values)
    subject = personalise(template.subject, values)
    if message.channel == CampaignChannel.SMS:
        return Outgoing(
            key=message.idempotency_key,
            to=message.address,
            language=language,
            text=text,
            sender=brand.sms_sender if brand and brand.sms_sender else "Navid",
        )

    if message.channel == CampaignChannel.MAIL:
        return Outgoing(
            key=message.idempotency_key,
            to=message.address,
            language=language,
            subject=subject,
            text=text,
            sender=brand.sender_name if brand else "",
            headers={
                mail.HEADER_RECIPIENT: customer.display_name,
                mail.HEADER_POSTAL_CODE: customer.postal_code,
                mail.HEADER_BRAND_NAME: brand.name if brand else "",
                mail.HEADER_BRAND_HEADER: brand.header_text if brand else "",
                mail.HEADER_BRAND_FOOTER: brand.footer_text if brand else "",
                mail.HEADER_BRAND_COLOR: brand.primary_color if brand else "",
                mail.HEADER_RETURN_ADDRESS: brand.postal_address if brand else "",
                mail.HEADER_DATE: format_date(timezone.now(), language),
            },
        )

    def link(target: str) -> str:
        if target == unsubscribe:
            return target
        return public_url(message_id=message.id, purpose="click", target=target)

    sender = formataddr((brand.sender_name, brand.email_from)) if brand else settings.DEFAULT_FROM_EMAIL
    mailto = brand.email_from if brand else settings.DEFAULT_FROM_EMAIL
    footer = f"\n\n--\n{brand.footer_text}" if brand and brand.footer_text else ""
    return Outgoing(
        key=message.idempotency_key,
        to=message.address,
        language=language,
        subject=subject,
        text=_URL.sub(lambda m: link(m.group(0)), text) + footer,
        html=_html(
            brand=brand,
            language=language,
            body=text,
            pixel=public_url(message_id=message.id, purpose="open"),
            link=link,
        ),
        sender=sender,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>, <mailto:{mailto}?subject=unsubscribe%20{campaign.id}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# The sending loop ---------------------------------------------------------------------------------------------
@dataclass
class SendReport:
    """What one run of the send loop did, and why it stopped."""

    batches: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    # "done" (nothing due), "not_running" (paused or stopped), "time" (its time slice ran out), "unavailable"
    reason: str = "done"
    next_due_in: float | None = None  # seconds until the earliest message waiting for its send_after


class ChannelSender:
    """Sends one campaign channel's outbox, batch after batch, with one adapter connection kept open."""

    def __init__(
        self,
        *,
        campaign_id: int,
        channel: str,
        batch_size: int | None = None,
        lease_seconds: int | None = None,
    ):
        self.campaign_id, self.channel = campaign_id, channel
        self.context = _context(campaign_id=campaign_id, channel=channel)
        rate = self.context.plan.rate_per_second if self.context.plan else 0
        size = batch_size or settings.NAVID_SEND_BATCH
        # A batch never lasts more than about a second at the channel's rate, so pause and stop act quickly.
        self.batch_size = max(1, min(size, rate)) if rate else size
        self.rate = rate
        self.lease_seconds = lease_seconds or settings.NAVID_SEND_LEASE_SECONDS
        self._token = ""
        self._atomic: transaction.Atomic | None = None
        self._raw: Any = None  # the driver's connection while a commit point's transaction is open
        self._state_read = time.monotonic()
        self._ids: dict[str, int] = {}
        # The keys of this batch that reached the commit point, and those it refused (another claim holds them,
        # or the lease ran out).
        self._asked: set[str] = set()
        self._refused: set[str] = set()
        self._halted = False
        self._events: list[Receipt | Inbound] = []
        self.adapter: Adapter = adapter_open(
            channel=channel,
            commit_point=self._commit,
            commit_end=self._commit_end,
            on_deliver=self._events.append,
        )

    def _commit(self, keys: Sequence[str]) -> set[str]:
        """The commit point: mark the messages SENT in a transaction left open until `_commit_end`."""
        if time.monotonic() - self._state_read > STATE_EVERY_SECONDS:
            # Pause and stop reach a batch in flight too: stop takes effect within about half a second.
            self._state_read = time.monotonic()
            if self.campaign_state() != State.RUNNING:
                self._halted = True
                raise Halt
        self._commit_end()  # an adapter that never called it must not leave a transaction behind
        ids = [self._ids[key] for key in keys if key in self._ids]
        self._begin()
        try:
            held = outbox_commit(claim_token=self._token, ids=ids)
        except BaseException as exc:
            self._rollback(exc)
            raise
        if not held:
            self._commit_end()
        allowed = {key for key in keys if self._ids.get(key) in held}
        self._asked.update(keys)
        self._refused.update(set(keys) - allowed)
        return allowed

    def _begin(self) -> None:
        if not connection.get_autocommit():
            # Already inside a transaction (a test, a caller's atomic block): a savepoint instead.
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            return
        # A plain BEGIN on the driver's connection, so that the COMMIT below is one statement sent at once,
        # without Django's bookkeeping between the irrevocable write and the COMMIT.
        connection.ensure_connection()
        self._raw = connection.connection
        self._raw.execute("BEGIN IMMEDIATE" if connection.vendor == "sqlite" else "BEGIN")

    def _rollback(self, exc: BaseException) -> None:
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(type(exc), exc, exc.__traceback__)
        elif self._raw is not None:
            raw, self._raw = self._raw, None
            raw.execute("ROLLBACK")

    def _commit_end(self) -> None:
        """Make the commit point's record final: called right after the irrevocable write (the dot)."""
        if self._raw is not None:
            raw, self._raw = self._raw, None
            raw.execute("COMMIT")
        elif self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(None, None, None)

    def campaign_state(self) -> str:
        return Campaign.objects.values_list("state", flat=True).get(pk=self.campaign_id)

    def batch(self) -> dict[str, int]:
        """Claim, check, send and record one batch; answer counts per state ({} when nothing was due)."""
        claimed = outbox_claim(
            campaign_id=self.campaign_id,
            channel=self.channel,
            limit=self.batch_size,
            lease_seconds=self.lease_seconds,
        )
        if not claimed:
            return {}
        self._token = claimed[0].claim_token
        if self.rate:
            wait = send_rate_reserve(
                key=f"campaign:{self.campaign_id}:{self.channel}", count=len(claimed), per_second=self.rate
            )
            time.sleep(wait)
            state = self.campaign_state()
            if state != State.RUNNING:
                outbox_release(
                    claim_token=self._token,
                    state=OutboxState.CANCELLED if state == State.STOPPED else OutboxState.PENDING,
                )
                return {}
        outgoing = self._prepare(claimed)
        self._ids = {message.key: message_id for message_id, message in outgoing.items()}
        results: dict[int, SendResult] = {}
        self._asked, self._refused, self._halted = set(), set(), False
        try:
            if outgoing:
                sent = self.adapter.send_many(list(outgoing.values()))
                # A message refused at the commit point, or never reached because sending halted, was not tried:
                # without a result it simply goes back to the queue.
                results = {
                    self._ids[result.key]: result
                    for result in sent
                    if result.ok
                    or not (result.key in self._refused or (self._halted and result.key not in self._asked))
                }
        finally:
            # Also when the channel fails: what passed its commit point is recorded, the rest goes back.
            self._commit_end()
            counts = outbox_record(
                campaign_id=self.campaign_id, channel=self.channel, claim_token=self._token, results=results
            )
            self._apply_events()
        return counts

    def _prepare(self, claimed: list[OutboxMessage]) -> dict[int, Outgoing]:
        """Check consent and suppression, count attempts and cost, render; answer what to send."""
        customers = Customer.objects.select_related("branch").in_bulk([m.customer_id for m in claimed])
        blocked = set(
            Customer.objects.filter(id__in=list(customers))
            .filter(
                Q(do_not_contact=True)
                | Q(deleted_at__isnull=False)
                | Q(
                    id__in=Consent.objects.filter(
                        channel=_CONSENT_CHANNEL.get(self.channel, self.channel),
                        purpose=self.context.purpose,
                        granted=False,
                    ).values("customer_id")
                )
            )
            .values_list("id", flat=True)
        )
        suppressed = set(
            Suppression.objects.filter(
                channel=self.channel, address__in=[m.address for m in claimed]
            ).values_list("address", flat=True)
        )
        outgoing: dict[int, Outgoing] = {}
        by_cost: dict[Decimal, list[int]] = {}
        by_outcome: dict[tuple[str, str], list[int]] = {}
        for message in claimed:
            customer = customers.get(message.customer_id)
            rendered = None
            if customer is None or message.customer_id in blocked:
                message.state, message.error = OutboxState.SKIPPED, "consent withdrawn or do not contact"
            elif message.address in suppressed:
                message.state, message.error = OutboxState.SKIPPED, "address on the suppression list"
            elif message.attempts >= MAX_ATTEMPTS:
                message.state, message.error = (
                    OutboxState.FAILED,
                    f"gave up after {message.attempts} attempts",
                )
            else:
                rendered = message_render(context=self.context, message=message, customer=customer)
                if rendered is None:
                    message.state, message.error = (
                        OutboxState.FAILED,
                        f"no {self.channel} template in any language",
                    )
            if rendered is not None:
                parts = sms_part_count(rendered.text) if self.channel == CampaignChannel.SMS else 1
                by_cost.setdefault(self.context.unit_cost * parts, []).append(message.id)
                outgoing[message.id] = rendered
            else:
                by_outcome.setdefault((message.state, message.error), []).append(message.id)
        # A few set-based UPDATEs: one per cost (SMS parts) and one per reason for not sending.
        mine = OutboxMessage.objects.filter(claim_token=self._token)
        for cost, ids in by_cost.items():
            mine.filter(id__in=ids).update(attempts=F("attempts") + 1, cost=cost)
        for (state, error), ids in by_outcome.items():
            mine.filter(id__in=ids).update(state=state, error=error)
        return outgoing

    def _apply_events(self) -> None:
        events, self._events[:] = list(self._events), []
        for event in events:
            deliver_apply(event=event)

    def close(self) -> None:
        self.adapter.close()


def channel_send(
    *,
    campaign_id: int,
    channel: str,
    max_seconds: float | None = None,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
) -> SendReport:
    """Send the campaign channel's due messages batch by batch until none is due, the campaign is no longer
    running, or `max_seconds` have passed; between batches the campaign's state is read again."""
    report = SendReport()
    deadline = time.monotonic() + max_seconds if max_seconds else None
    sender = ChannelSender(
        campaign_id=campaign_id, channel=channel, batch_size=batch_size, lease_seconds=lease_seconds
    )
    orphans_checked = -float("inf")
    try:
        while True:
            state = sender.campaign_state()
            if state != State.RUNNING:
                report.reason = "not_running"
                break
            if deadline is not None and time.monotonic() > deadline:
                report.reason = "time"
                break
            if time.monotonic() - orphans_checked > sender.lease_seconds:
                # Claims of dead workers: rare, and the query reads every sent row, so not every batch.
                outbox_orphans_record(campaign_id=campaign_id, channel=channel)
                orphans_checked = time.monotonic()
            counts = sender.batch()
            if not counts:
                report.reason = "done" if sender.campaign_state() == State.RUNNING else "not_running"
                break
            report.batches += 1
            for state_name, count in counts.items():
                report.counts[state_name] = report.counts.get(state_name, 0) + count
    except ChannelUnavailable as exc:
        log.warning("campaign %s, %s channel unavailable: %s", campaign_id, channel, exc)
        report.reason = "unavailable"
    finally:
        sender.close()
    if report.reason == "not_running" and sender.campaign_state() == State.STOPPED:
        outbox_cancel(campaign_id=campaign_id)
    if report.reason == "done":
        report.next_due_in = outbox_next_due_in(campaign_id=campaign_id, channel=channel)
    return report


def outbox_next_due_in(*, campaign_id: int, channel: str) -> float | None:
    """Seconds until the earliest message still waiting (for its send_after, a claim's lease, or the lease of a
    sent claim not recorded yet, whose worker may have died), or None."""
    outbox = OutboxMessage.objects.filter(campaign_id=campaign_id, channel=channel)
    held = outbox.filter(state=OutboxState.CLAIMED) | outbox.filter(state=OutboxState.SENT).exclude(
        claim_token=""
    )
    # The earliest of each, a missing time first; other workers may change both between the two queries.
    moments = [
        *outbox.filter(state=OutboxState.PENDING)
        .order_by(F("send_after").asc(nulls_first=True))
        .values_list("send_after", flat=True)[:1],
        *held.order_by(F("lease_until").asc(nulls_first=True)).values_list("lease_until", flat=True)[:1],
    ]
    if not moments:
        return None
    times = [moment for moment in moments if moment is not None]
    if len(times) < len(moments):
        return 0.0
    return max(0.0, (min(times) - timezone.now()).total_seconds())


@transaction.atomic
def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """Mark a running campaign COMPLETED once every message is final and no later wave is planned."""
    outbox = OutboxMessage.objects.filter(campaign_id=campaign_id)
    if outbox.filter(state__in=[OutboxState.PENDING, OutboxState.CLAIMED]).exists():
        return False
    if outbox.filter(state=OutboxState.SENT).exclude(claim_token="").exists():
        return False  # sent, but not recorded yet
    Wave.objects.filter(
        campaign_id=campaign_id, state__in=[Wave.WaveState.WRITTEN, Wave.WaveState.SENDING]
    ).update(state=Wave.WaveState.DONE)
    if Wave.objects.filter(campaign_id=campaign_id, state=Wave.WaveState.PLANNED).exists():
        return False
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.state != State.RUNNING:
        return False
    campaign.state, campaign.finished_at = State.COMPLETED, timezone.now()
    campaign.save(update_fields=["state", "finished_at", "updated_at"])
    audit_record(
        actor=None,
        action=AuditAction.UPDATE,
        instance=campaign,
        before={"state": State.RUNNING},
        after={"state": State.COMPLETED},
    )
    return True


# What comes back from the SMS centre ----------------------------------------------------------------------------
STOP_WORDS = {"STOP", "لغو", "СТОП", "STOPALL", "UNSUBSCRIBE"}


def receipt_apply(*, provider_id: str, delivered: bool, at: datetime, status: str = "") -> int:
    """Mark the sent message with this provider id delivered (or failed); answer how many messages changed."""
    if not provider_id:
        return 0
    messages = OutboxMessage.objects.filter(provider_id=provider_id, state=OutboxState.SENT)
    if delivered:
        return messages.update(state=OutboxState.DELIVERED, delivered_at=at)
    return messages.update(
        state=OutboxState.FAILED, error=f"delivery receipt: {status or 'not delivered'}"[:500]
    )


def sms_inbound_apply(*, sender: str, text: str, at: datetime) -> int:
    """A customer's SMS to the bank: STOP (or لغو, СТОП) withdraws SMS marketing consent; answer customers changed."""
    word = text.strip().strip(".!").upper()
    if word not in STOP_WORDS:
        # Any other text is a reply to the campaign SMS it answers.
        sms_reply_record(sender=sender, text=text, at=at)
        return 0
    digits = "".join(char for char in sender if char.isdigit())
    if not digits:
        return 0
    changed = 0
    for customer in Customer.objects.filter(phone__in=[f"+{digits}", digits], deleted_at__isnull=True):
        consent_set(
            actor=None,
            customer=customer,
            channel=_CONSENT_CHANNEL["sms"],
            purpose=ConsentPurpose.MARKETING,
            granted=False,
            source=f"SMS reply {text.strip()[:20]} at {at:%Y-%m-%d %H:%M}",
        )
        changed += 1
    return changed


def deliver_apply(*, event: Receipt | Inbound) -> int:
    """Apply one receipt or inbound message read from a channel."""
    if isinstance(event, Receipt):
        return receipt_apply(
            provider_id=event.provider_id, delivered=event.delivered, at=event.at, status=event.status
        )
    return sms_inbound_apply(sender=event.sender, text=event.text, at=event.at)
