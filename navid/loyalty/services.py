"""Writes of loyalty: earn rules, tiers, earning, redemption, expiry and the nightly tier refresh.

The ledger is append-only: nothing here updates or deletes a `PointsEntry`. Points are consumed in order of
expiry, soonest first (oldest first when every rule has the same validity), so the points that expire at a
moment are exactly `max(0, points earned that expired by then - points taken away so far)` per customer: one
set-based statement, idempotent (docs/loyalty.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, model_snapshot
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.models import Customer, ProductHolding, ProductType, Transaction
from navid.loyalty.models import (
    EARN_KINDS,
    CustomerTier,
    EarnKind,
    EarnRule,
    EarnWatermark,
    EntryKind,
    PointsEntry,
    Tier,
)
from navid.offers.models import Offer

SOURCE_REF_MAX = 120
MAX_POINTS = 10**12  # far above any real balance; keeps arithmetic and columns safe
MAX_VALIDITY_MONTHS = 600
_PG_EXPIRY_LOCK = 7_310_001  # advisory lock: the expiry run (exclusive) against redemptions (shared)


def _require(actor: Actor, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise PermissionDenied(perm)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` plus whole calendar months, in UTC; a day past the end of the month becomes its last day."""
    utc = moment.astimezone(dt.UTC)
    month_index = utc.month - 1 + months
    year, month = utc.year + month_index // 12, month_index % 12 + 1
    day = min(utc.day, calendar.monthrange(year, month)[1])
    return utc.replace(year=year, month=month, day=day)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _whole_number(value: Any, field: str, errors: dict[str, list[str]], *, minimum: int) -> int | None:
    """An integer of at least `minimum` from an int or a text of digits; None (and an error) otherwise."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    if number is None:
        errors[field] = [_("Enter a whole number.")]
        return None
    if number < minimum:
        errors[field] = [_("Enter a whole number of at least %(n)s.") % {"n": minimum}]
        return None
    if number > MAX_POINTS:
        errors[field] = [_("Enter a whole number of at most %(n)s.") % {"n": MAX_POINTS}]
        return None
    return number


# --- earn rules -------------------------------------------------------------------------------------------------


def _clean_rule(values: dict[str, Any], rule: EarnRule | None) -> dict[str, Any]:
    """Checked rule fields, or ValidationFailed naming each bad one; nothing is written."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    kind = str(values.get("kind") or "")
    if kind not in EARN_KINDS:
        errors["kind"] = [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(EARN_KINDS)}]
    clean["kind"] = kind
    clean["points"] = _whole_number(values.get("points"), "points", errors, minimum=1)
    unit = values.get("amount_unit")
    clean["amount_unit"] = None
    if unit not in (None, ""):
        try:
            amount_unit = Decimal(str(unit))
            if not amount_unit.is_finite() or amount_unit <= 0 or amount_unit >= Decimal("1e16"):
                raise InvalidOperation
            clean["amount_unit"] = amount_unit.quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["amount_unit"] = [_("Enter an amount above 0, or leave it empty for points per event.")]
    if clean["amount_unit"] is not None and kind not in (EarnKind.TRANSACTION, EarnKind.MANUAL):
        errors["amount_unit"] = [_("Only transactions and manual awards earn per amount.")]
    product = values.get("product_type")
    if product not in (None, "") and not isinstance(product, ProductType):
        product = ProductType.objects.filter(pk=int(str(product))).first() if str(product).isdigit() else None
        if product is None:
            errors["product_type"] = [_("Choose a product.")]
    clean["product_type"] = product or None
    if clean["product_type"] is not None and kind != EarnKind.PRODUCT_OPENED:
        errors["product_type"] = [_("A product applies only to rules for products opened.")]
    tx_kind = str(values.get("transaction_kind") or "")
    if tx_kind and tx_kind not in Transaction.TxKind.values:
        errors["transaction_kind"] = [_("Choose a transaction type.")]
    elif tx_kind and kind != EarnKind.TRANSACTION:
        errors["transaction_kind"] = [_("A transaction type applies only to rules for transactions.")]
    clean["transaction_kind"] = tx_kind
    months = values.get("validity_months")
    clean["validity_months"] = None
    if months not in (None, ""):
        number = _whole_number(months, "validity_months", errors, minimum=1)
        if number is not None and number > MAX_VALIDITY_MONTHS:
            errors["validity_months"] = [_("Enter at most %(n)s months.") % {"n": MAX_VALIDITY_MONTHS}]
        clean["validity_months"] = number
    day = values.get("valid_from")
    if day in (None, ""):
        clean["valid_from"] = rule.valid_from if rule is not None else timezone.localdate()
    elif isinstance(day, dt.date):
        clean["valid_from"] = day
    else:
        try:
            clean["valid_from"] = dt.date.fromisoformat(str(day))
        except ValueError:
            errors["valid_from"] = [_("Enter a date as YYYY-MM-DD.")]
    clean["is_active"] = bool(values.get("is_active", True))
    if not errors and clean["is_active"]:
        same = EarnRule.objects.filter(
            is_active=True,
            kind=kind,
            product_type=clean["product_type"],
            transaction_kind=clean["transaction_kind"],
        )
        if rule is not None:
            same = same.exclude(pk=rule.pk)
        if same.exists():
            errors["kind"] = [
                _("Another active rule already covers these events; deactivate it first or edit it.")
            ]
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def earn_rule_create(*, actor: Actor, values: dict[str, Any]) -> EarnRule:
    """Create an earn rule from checked values."""
    _require(actor, "loyalty.add_earnrule")
    rule = EarnRule.objects.create(**_clean_rule(values, None))
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=rule, before=None, after=model_snapshot(rule)
    )
    return rule


@transaction.atomic
def earn_rule_update(*, actor: Actor, rule: EarnRule, values: dict[str, Any]) -> EarnRule:
    """Change an earn rule; points already earned keep their value and expiry."""
    _require(actor, "loyalty.change_earnrule")
    rule = EarnRule.objects.select_for_update().get(pk=rule.pk)
    before = model_snapshot(rule)
    for name, value in _clean_rule(values, rule).items():
        setattr(rule, name, value)
    rule.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=rule, before=before, after=model_snapshot(rule)
    )
    return rule


# --- tiers ------------------------------------------------------------------------------------------------------


def _clean_tier(values: dict[str, Any], tier: Tier | None) -> tuple[dict[str, Any], list[Offer] | None]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    others = Tier.objects.all() if tier is None else Tier.objects.exclude(pk=tier.pk)
    code = str(values.get("code") or "").strip().lower()
    if not code or len(code) > 50 or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in code):
        errors["code"] = [_("Enter a code of letters, digits, - and _ (at most 50).")]
    elif others.filter(code=code).exists():
        errors["code"] = [_("Another tier has the code %(code)s.") % {"code": code}]
    clean["code"] = code
    for lang in ("en", "fa", "ru"):
        clean[f"name_{lang}"] = str(values.get(f"name_{lang}") or "").strip()[:100]
    if not clean["name_en"]:
        errors["name_en"] = [_("An English name is required.")]
    threshold = _whole_number(values.get("threshold"), "threshold", errors, minimum=1)
    if threshold is not None and others.filter(threshold=threshold).exists():
        errors["threshold"] = [_("Another tier starts at %(n)s points.") % {"n": threshold}]
    clean["threshold"] = threshold
    offers: list[Offer] | None = None
    if "offers" in values:
        offers = []
        for item in values.get("offers") or []:
            offer = item if isinstance(item, Offer) else None
            if offer is None and str(item).isdigit():
                offer = Offer.objects.filter(pk=int(str(item))).first()
            if offer is None:
                errors["offers"] = [_("There is no offer %(id)s.") % {"id": item}]
                break
            offers.append(offer)
    if errors:
        raise ValidationFailed(errors)
    return clean, offers


@transaction.atomic
def tier_create(*, actor: Actor, values: dict[str, Any]) -> Tier:
    """Create a tier (and its offers) from checked values."""
    _require(actor, "loyalty.add_tier")
    clean, offers = _clean_tier(values, None)
    tier = Tier.objects.create(**clean)
    if offers is not None:
        tier.offers.set(offers)
    after = {**model_snapshot(tier), "offers": sorted(o.pk for o in offers or [])}
    audit_record(actor=actor, action=AuditAction.CREATE, instance=tier, before=None, after=after)
    return tier


@transaction.atomic
def tier_update(*, actor: Actor, tier: Tier, values: dict[str, Any]) -> Tier:
    """Change a tier; its offers change only when `values` names them. Customers move at the next refresh."""
    _require(actor, "loyalty.change_tier")
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    before = {**model_snapshot(tier), "offers": sorted(tier.offers.values_list("pk", flat=True))}
    clean, offers = _clean_tier(values, tier)
    for name, value in clean.items():
        setattr(tier, name, value)
    tier.save()
    if offers is not None:
        tier.offers.set(offers)
    after = {**model_snapshot(tier), "offers": sorted(tier.offers.values_list("pk", flat=True))}
    audit_record(actor=actor, action=AuditAction.UPDATE, instance=tier, before=before, after=after)
    return tier


# --- earning ------------------------------------------------------------------------------------------------------


def matching_rule(
    *, kind: str, product_type: ProductType | None = None, transaction_kind: str = ""
) -> EarnRule | None:
    """The active rule an event meets: the one for its product or transaction type, else the kind's general one."""
    rules = list(EarnRule.objects.filter(kind=kind, is_active=True))
    if kind == EarnKind.PRODUCT_OPENED and product_type is not None:
        specific = [r for r in rules if r.product_type_id == product_type.pk]
        if specific:
            return specific[0]
    if kind == EarnKind.TRANSACTION and transaction_kind:
        specific = [r for r in rules if r.transaction_kind == transaction_kind]
        if specific:
            return specific[0]
    general = [r for r in rules if r.product_type_id is None and not r.transaction_kind]
    return general[0] if general else None


def rule_points(rule: EarnRule, amount: Decimal | None) -> int:
    """Points a rule gives an event: per event, or per whole `amount_unit` of the amount's size."""
    if rule.amount_unit is None:
        return int(rule.points)
    if amount is None:
        raise ValidationFailed({"amount": [_("This rule earns per amount: give the amount.")]})
    return int(rule.points) * int(abs(amount) // rule.amount_unit)


@transaction.atomic
def points_earn(
    *,
    customer: Customer,
    kind: str,
    source_ref: str,
    occurred_at: dt.datetime,
    actor: Actor = None,
    amount: Decimal | None = None,
    product_type: ProductType | None = None,
    transaction_kind: str = "",
) -> PointsEntry | None:
    """Award the points the bank's rule gives this event; None when it earns nothing or earned already.

    Idempotent on (kind, source_ref): a second call with the same pair writes nothing and returns None. No
    active rule for the kind, an event before the rule's start, or an amount below one unit earn nothing.
    """
    errors: dict[str, list[str]] = {}
    if kind not in EARN_KINDS:
        errors["kind"] = [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(EARN_KINDS)}]
    source_ref = str(source_ref or "").strip()
    if not source_ref or len(source_ref) > SOURCE_REF_MAX:
        errors["source_ref"] = [_("Give a source of 1 to %(n)s characters.") % {"n": SOURCE_REF_MAX}]
    if not isinstance(occurred_at, dt.datetime) or timezone.is_naive(occurred_at):
        errors["occurred_at"] = [_("Give the time of the event with its time zone.")]
    if amount is not None:
        try:
            amount = Decimal(str(amount))
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors["amount"] = [_("Give the amount as a number.")]
    if errors:
        raise ValidationFailed(errors)
    if PointsEntry.objects.filter(kind=kind, source_ref=source_ref).exists():
        return None
    rule = matching_rule(kind=kind, product_type=product_type, transaction_kind=transaction_kind)
    if rule is None or occurred_at < _local_midnight(rule.valid_from):
        return None
    points = rule_points(rule, amount)
    if points <= 0:
        return None
    if points > MAX_POINTS:
        raise ValidationFailed({"amount": [_("The amount earns more points than the ledger takes.")]})
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                customer=customer,
                kind=kind,
                points=points,
                source_ref=source_ref,
                occurred_at=occurred_at,
                expires_at=add_months(occurred_at, rule.validity_months) if rule.validity_months else None,
                rule=rule,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except IntegrityError:
        if PointsEntry.objects.filter(kind=kind, source_ref=source_ref).exists():
            return None  # a concurrent call earned it first
        raise
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=entry,
        before=None,
        after=model_snapshot(entry),
        record=customer,
    )
    return entry


# --- SQL shared by the set-based runs ---------------------------------------------------------------------------


class _Sql:
    """Quoted names and the vendor's spelling of month arithmetic."""

    def __init__(self) -> None:
        self.postgresql = connection.vendor == "postgresql"
        self.qn = connection.ops.quote_name

    def table(self, model: type[Any]) -> str:
        return str(self.qn(model._meta.db_table))

    def col(self, model: type[Any], name: str) -> str:
        return str(self.qn(model._meta.get_field(name).column))

    def plus_months(self, expression: str, months: int | None) -> tuple[str, list[Any]]:
        """`expression` (a UTC timestamp) plus whole months, clamped to the month's end like `add_months`."""
        if months is None:
            return "NULL", []
        if self.postgresql:
            return f"({expression} + make_interval(months => %s))", [months]
        return (
            f"MIN(datetime({expression}, %s), datetime(date({expression}, 'start of month', %s, '-1 day')"
            f" || ' ' || time({expression})))",
            [f"+{months} months", f"+{months + 1} months"],
        )

    def stamp(self, moment: dt.datetime) -> Any:
        return connection.ops.adapt_datetimefield_value(moment)


_ENTRY_COLUMNS = (
    "customer",
    "kind",
    "points",
    "source_ref",
    "occurred_at",
    "expires_at",
    "rule",
    "note",
    "created_by",
    "created_at",
)


def _entry_columns(sql: _Sql) -> str:
    return ", ".join(sql.col(PointsEntry, name) for name in _ENTRY_COLUMNS)


def _earn_transactions(sql: _Sql, low: int, high: int, now: dt.datetime) -> int:
    """Earn for transactions with ids in (low, high], one INSERT ... SELECT per active rule, specific rules first."""
    t = Transaction
    rules = list(EarnRule.objects.filter(kind=EarnKind.TRANSACTION, is_active=True))
    specific_kinds = [r.transaction_kind for r in rules if r.transaction_kind]
    written = 0
    for rule in sorted(rules, key=lambda r: r.transaction_kind == ""):
        amount = f"ABS({sql.col(t, 'amount')})"
        points_params: list[Any]
        if rule.amount_unit is None:
            points, points_params = "%s", [rule.points]
        elif sql.postgresql:
            points, points_params = f"(%s * FLOOR({amount} / %s)::bigint)", [rule.points, rule.amount_unit]
        else:
            points, points_params = f"(%s * CAST({amount} / %s AS INTEGER))", [rule.points, rule.amount_unit]
        expires, expires_params = sql.plus_months(sql.col(t, "occurred_at"), rule.validity_months)
        where = [
            f"{sql.col(t, 'id')} > %s",
            f"{sql.col(t, 'id')} <= %s",
            f"{sql.col(t, 'occurred_at')} >= %s",
            f"{points} > 0",
        ]
        params: list[Any] = [low, high, sql.stamp(_local_midnight(rule.valid_from)), *points_params]
        if rule.transaction_kind:
            where.append(f"{sql.col(t, 'kind')} = %s")
            params.append(rule.transaction_kind)
        elif specific_kinds:
            where.append(f"{sql.col(t, 'kind')} NOT IN ({', '.join(['%s'] * len(specific_kinds))})")
            params.extend(specific_kinds)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {sql.table(PointsEntry)} ({_entry_columns(sql)})"  # noqa: S608 - names from metadata
                f" SELECT {sql.col(t, 'customer')}, %s, {points}, CAST({sql.col(t, 'id')} AS TEXT),"
                f" {sql.col(t, 'occurred_at')}, {expires}, %s, '', NULL, %s"
                f" FROM {sql.table(t)} WHERE {' AND '.join(where)}"
                f" ON CONFLICT ({sql.col(PointsEntry, 'kind')}, {sql.col(PointsEntry, 'source_ref')}) DO NOTHING",
                [
                    EarnKind.TRANSACTION.value,
                    *points_params,
                    *expires_params,
                    rule.pk,
                    sql.stamp(now),
                    *params,
                ],
            )
            written += max(cursor.rowcount, 0)
    return written


def _earn_products(sql: _Sql, low: int, high: int, now: dt.datetime) -> int:
    """Earn for product holdings with ids in (low, high]: dated at the local midnight of the day opened."""
    h = ProductHolding
    rules = list(EarnRule.objects.filter(kind=EarnKind.PRODUCT_OPENED, is_active=True))
    specific = [r.product_type_id for r in rules if r.product_type_id is not None]
    offset = timezone.localtime(now).utcoffset() or dt.timedelta(0)
    seconds = int(offset.total_seconds())
    opened = sql.col(h, "opened_on")
    # The offset is a whole number computed here, written into the SQL as a literal (no text from outside).
    if sql.postgresql:
        occurred = f"(({opened}::timestamp - make_interval(secs => {seconds})) AT TIME ZONE 'UTC')"
    else:
        occurred = f"datetime({opened}, '{-seconds} seconds')"
    written = 0
    for rule in sorted(rules, key=lambda r: r.product_type_id is None):
        expires, expires_params = sql.plus_months(occurred, rule.validity_months)
        where = [f"{sql.col(h, 'id')} > %s", f"{sql.col(h, 'id')} <= %s", f"{opened} >= %s"]
        params: list[Any] = [low, high, rule.valid_from]
        if rule.product_type_id is not None:
            where.append(f"{sql.col(h, 'product_type')} = %s")
            params.append(rule.product_type_id)
        elif specific:
            where.append(f"{sql.col(h, 'product_type')} NOT IN ({', '.join(['%s'] * len(specific))})")
            params.extend(specific)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {sql.table(PointsEntry)} ({_entry_columns(sql)})"  # noqa: S608 - names from metadata
                f" SELECT {sql.col(h, 'customer')}, %s, %s, CAST({sql.col(h, 'id')} AS TEXT),"
                f" {occurred}, {expires}, %s, '', NULL, %s"
                f" FROM {sql.table(h)} WHERE {' AND '.join(where)}"
                f" ON CONFLICT ({sql.col(PointsEntry, 'kind')}, {sql.col(PointsEntry, 'source_ref')}) DO NOTHING",
                [
                    EarnKind.PRODUCT_OPENED.value,
                    rule.points,
                    *expires_params,
                    rule.pk,
                    sql.stamp(now),
                    *params,
                ],
            )
            written += max(cursor.rowcount, 0)
    return written


def _watermark(source: str) -> EarnWatermark:
    EarnWatermark.objects.get_or_create(source=source)
    return EarnWatermark.objects.select_for_update().get(source=source)


@transaction.atomic
def points_earn_pending(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Earn for every transaction and product opened since the last run: set-based, idempotent.

    Each source has a watermark (the last id looked at); the rows after it are earned by INSERT ... SELECT,
    and the unique (kind, source_ref) makes a repeated or overlapping run write nothing twice.
    """
    now = now or timezone.now()
    sql = _Sql()
    written: dict[str, int] = {}
    for source, model, earn in (
        (EarnKind.TRANSACTION.value, Transaction, _earn_transactions),
        (EarnKind.PRODUCT_OPENED.value, ProductHolding, _earn_products),
    ):
        mark = _watermark(source)
        before = model_snapshot(mark)
        high = model.objects.order_by("-id").values_list("id", flat=True).first() or 0
        written[source] = earn(sql, mark.last_id, high, now) if high > mark.last_id else 0
        mark.last_id = max(mark.last_id, high)
        mark.run_at = now
        mark.save()
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            instance=mark,
            before=before,
            after={**model_snapshot(mark), "entries_written": written[source]},
        )
    return written


# --- expiry and redemption -----------------------------------------------------------------------------------------


def _expire(sql: _Sql, now: dt.datetime, customer_id: int | None) -> int:
    """Write one expiry entry per customer whose earned points past `expires_at` were not used; the count."""
    e = PointsEntry
    customer, points, expires = sql.col(e, "customer"), sql.col(e, "points"), sql.col(e, "expires_at")
    where, params = ("", []) if customer_id is None else (f" WHERE {customer} = %s", [customer_id])
    stamp = sql.stamp(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sql.table(e)} ({_entry_columns(sql)})"  # noqa: S608 - names from metadata
            f" SELECT d.customer_id, %s, -d.due, %s || CAST(d.customer_id AS TEXT), %s, NULL, NULL, '', NULL, %s"
            f" FROM (SELECT {customer} AS customer_id,"
            f" SUM(CASE WHEN {points} > 0 AND {expires} IS NOT NULL AND {expires} <= %s THEN {points} ELSE 0 END)"
            f" + SUM(CASE WHEN {points} < 0 THEN {points} ELSE 0 END) AS due"
            f" FROM {sql.table(e)}{where} GROUP BY {customer}) AS d WHERE d.due > 0"
            f" ON CONFLICT ({sql.col(e, 'kind')}, {sql.col(e, 'source_ref')}) DO NOTHING",
            [EntryKind.EXPIRY.value, f"{now.astimezone(dt.UTC).isoformat()}:", stamp, stamp, stamp, *params],
        )
        return max(cursor.rowcount, 0)


@transaction.atomic
def points_expire(*, now: dt.datetime | None = None) -> int:
    """Write the expiry entries due at `now` for every customer (the nightly run); idempotent."""
    now = now or timezone.now()
    sql = _Sql()
    if sql.postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_EXPIRY_LOCK])
    mark = _watermark(EntryKind.EXPIRY.value)
    before = model_snapshot(mark)
    written = _expire(sql, now, None)
    mark.run_at = now
    mark.save()
    audit_record(
        actor=None,
        action=AuditAction.CREATE,
        instance=mark,
        before=before,
        after={**model_snapshot(mark), "entries_written": written},
    )
    return written


def _lock_customer(customer: Customer) -> None:
    """Serialise redemptions of one customer: a row lock on PostgreSQL (SQLite transactions are serial)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_PG_EXPIRY_LOCK])
        list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))


@transaction.atomic
def points_redeem(
    *,
    customer: Customer,
    points: Any,
    actor: Actor,
    idempotency_key: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> PointsEntry:
    """Take points from a customer's balance; never more than the balance (after the expiry due now).

    The same idempotency key again returns the first redemption and writes nothing.
    """
    _require(actor, "loyalty.redeem_points")
    errors: dict[str, list[str]] = {}
    amount = _whole_number(points, "points", errors, minimum=1)
    key = str(idempotency_key or "").strip()
    if not key or len(key) > SOURCE_REF_MAX:
        errors["idempotency_key"] = [_("Give a key of 1 to %(n)s characters.") % {"n": SOURCE_REF_MAX}]
    note = str(note or "").strip()
    if len(note) > 200:
        errors["note"] = [_("Keep the note to 200 characters.")]
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None
    now = now or timezone.now()
    _lock_customer(customer)
    earlier = PointsEntry.objects.filter(kind=EntryKind.REDEMPTION, source_ref=key).first()
    if earlier is not None:
        if earlier.customer_id == customer.pk and -earlier.points == amount:
            return earlier
        raise Conflict(_("The idempotency key %(key)s was used for another redemption.") % {"key": key})
    sql = _Sql()
    if _expire(sql, now, customer.pk):
        expired = PointsEntry.objects.filter(kind=EntryKind.EXPIRY, customer=customer).order_by("-id").first()
        assert expired is not None
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=expired,
            before=None,
            after=model_snapshot(expired),
            record=customer,
        )
    balance = int(sum(PointsEntry.objects.filter(customer=customer).values_list("points", flat=True)))
    if amount > balance:
        raise ValidationFailed(
            {
                "points": [
                    _("The balance is %(balance)s points: %(points)s cannot be redeemed.")
                    % {"balance": balance, "points": amount}
                ]
            }
        )
    entry = PointsEntry.objects.create(
        customer=customer,
        kind=EntryKind.REDEMPTION,
        points=-amount,
        source_ref=key,
        occurred_at=now,
        note=note,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=entry,
        before=None,
        after=model_snapshot(entry),
        record=customer,
    )
    return entry


# --- tiers ------------------------------------------------------------------------------------------------------


@transaction.atomic
def tiers_refresh(*, now: dt.datetime | None = None) -> int:
    """Recompute every customer's tier from the points earned in the 12 months to `now`; the rows written."""
    now = now or timezone.now()
    sql = _Sql()
    e, t, c = PointsEntry, Tier, CustomerTier
    kinds = ", ".join(["%s"] * len(EARN_KINDS))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {sql.table(c)}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {sql.table(c)} ({sql.col(c, 'customer')}, {sql.col(c, 'tier')},"  # noqa: S608
            f" {sql.col(c, 'points_12_months')}, {sql.col(c, 'computed_at')})"
            f" SELECT s.customer_id, (SELECT {sql.col(t, 'id')} FROM {sql.table(t)}"
            f" WHERE {sql.col(t, 'threshold')} <= s.earned ORDER BY {sql.col(t, 'threshold')} DESC LIMIT 1),"
            f" s.earned, %s"
            f" FROM (SELECT {sql.col(e, 'customer')} AS customer_id, SUM({sql.col(e, 'points')}) AS earned"
            f" FROM {sql.table(e)} WHERE {sql.col(e, 'kind')} IN ({kinds})"
            f" AND {sql.col(e, 'occurred_at')} > %s AND {sql.col(e, 'occurred_at')} <= %s"
            f" GROUP BY {sql.col(e, 'customer')}) AS s"
            f" WHERE s.earned >= (SELECT MIN({sql.col(t, 'threshold')}) FROM {sql.table(t)})",
            [sql.stamp(now), *EARN_KINDS, sql.stamp(add_months(now, -12)), sql.stamp(now)],
        )
        return max(cursor.rowcount, 0)
