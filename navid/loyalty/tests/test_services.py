"""Earning, redemption, expiry and tiers: exact points, bad input refused with nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.models import Transaction
from navid.customers.services import customer_merge
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.loyalty import services
from navid.loyalty.models import CustomerTier, EarnKind, EntryKind, PointsEntry
from navid.loyalty.selectors import points_balance
from navid.loyalty.tests.factories import T0, EarnRuleFactory, PointsEntryFactory, TierFactory
from navid.offers.tests.factories import HoldingFactory

pytestmark = pytest.mark.django_db


def _ledger(customer: Any) -> list[tuple[str, int]]:
    return [(e.kind, e.points) for e in PointsEntry.objects.filter(customer=customer).order_by("id")]


@pytest.fixture
def clerk(make_user: Any) -> Any:
    return make_user(Role.BRANCH_OFFICER)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert services.add_months(dt.datetime(2025, 1, 31, 10, tzinfo=dt.UTC), 1) == dt.datetime(
        2025, 2, 28, 10, tzinfo=dt.UTC
    )
    assert services.add_months(dt.datetime(2025, 3, 15, tzinfo=dt.UTC), -12) == dt.datetime(
        2024, 3, 15, tzinfo=dt.UTC
    )
    assert services.add_months(dt.datetime(2024, 11, 30, tzinfo=dt.UTC), 15) == dt.datetime(
        2026, 2, 28, tzinfo=dt.UTC
    )


def test_given_a_survey_rule_when_earning_twice_then_the_second_call_writes_nothing() -> None:
    EarnRuleFactory(kind=EarnKind.SURVEY_ANSWERED, points=50, validity_months=6)
    customer = CustomerFactory()
    entry = services.points_earn(
        customer=customer, kind="survey_answered", source_ref="response:7", occurred_at=T0
    )
    assert entry is not None
    assert (entry.points, entry.expires_at) == (50, dt.datetime(2025, 7, 15, 9, 0, tzinfo=dt.UTC))
    again = services.points_earn(
        customer=customer, kind="survey_answered", source_ref="response:7", occurred_at=T0
    )
    assert again is None
    assert _ledger(customer) == [("survey_answered", 50)]
    assert AuditEntry.objects.filter(record_id=str(customer.pk), model="loyalty.pointsentry").count() == 1


def test_amount_rules_earn_per_whole_unit_and_below_one_unit_earn_nothing() -> None:
    EarnRuleFactory(kind=EarnKind.TRANSACTION, points=3, amount_unit=Decimal("1000000"))
    customer = CustomerFactory()
    entry = services.points_earn(
        customer=customer, kind="transaction", source_ref="1", occurred_at=T0, amount=Decimal("-2999999.99")
    )
    assert entry is not None and entry.points == 6
    assert (
        services.points_earn(
            customer=customer, kind="transaction", source_ref="2", occurred_at=T0, amount=Decimal("999999")
        )
        is None
    )
    with pytest.raises(ValidationFailed) as missing:
        services.points_earn(customer=customer, kind="transaction", source_ref="3", occurred_at=T0)
    assert missing.value.errors == {"amount": ["This rule earns per amount: give the amount."]}


def test_no_rule_an_inactive_rule_or_an_event_before_the_rule_earn_nothing() -> None:
    customer = CustomerFactory()
    assert services.points_earn(customer=customer, kind="manual", source_ref="a", occurred_at=T0) is None
    EarnRuleFactory(kind=EarnKind.MANUAL, is_active=False)
    assert services.points_earn(customer=customer, kind="manual", source_ref="a", occurred_at=T0) is None
    EarnRuleFactory(kind=EarnKind.MANUAL, valid_from=dt.date(2025, 2, 1))
    assert services.points_earn(customer=customer, kind="manual", source_ref="a", occurred_at=T0) is None
    assert _ledger(customer) == []


def test_a_product_rule_of_its_own_wins_over_the_general_one() -> None:
    card, loan = ProductTypeFactory(code="card"), ProductTypeFactory(code="loan")
    EarnRuleFactory(kind=EarnKind.PRODUCT_OPENED, points=100)
    EarnRuleFactory(kind=EarnKind.PRODUCT_OPENED, points=400, product_type=card)
    customer = CustomerFactory()
    first = services.points_earn(
        customer=customer, kind="product_opened", source_ref="10", occurred_at=T0, product_type=card
    )
    second = services.points_earn(
        customer=customer, kind="product_opened", source_ref="11", occurred_at=T0, product_type=loan
    )
    assert (first and first.points, second and second.points) == (400, 100)


def test_bad_earn_input_is_refused_with_every_reason() -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.points_earn(
            customer=CustomerFactory(),
            kind="birthday",
            source_ref="",
            occurred_at=dt.datetime(2025, 1, 1),
            amount=Decimal("NaN"),
        )
    assert refused.value.errors == {
        "kind": ["Choose one of: transaction, product_opened, survey_answered, manual."],
        "source_ref": ["Give a source of 1 to 120 characters."],
        "occurred_at": ["Give the time of the event with its time zone."],
        "amount": ["Give the amount as a number."],
    }
    assert PointsEntry.objects.count() == 0


def test_the_database_refuses_a_second_entry_for_one_source_and_a_wrong_sign() -> None:
    entry = PointsEntryFactory(source_ref="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntryFactory(customer=entry.customer, source_ref="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntryFactory(customer=entry.customer, kind=EntryKind.REDEMPTION, points=5)


def test_redeeming_takes_points_and_a_repeated_key_returns_the_first(clerk: Any) -> None:
    customer = CustomerFactory()
    PointsEntryFactory(customer=customer, points=300)
    first = services.points_redeem(customer=customer, points=120, actor=clerk, idempotency_key="k1", now=T0)
    again = services.points_redeem(customer=customer, points="120", actor=clerk, idempotency_key="k1", now=T0)
    assert first.pk == again.pk
    assert points_balance(customer=customer) == 180
    assert (first.kind, first.points, first.created_by) == ("redemption", -120, clerk)
    with pytest.raises(Conflict):
        services.points_redeem(customer=customer, points=10, actor=clerk, idempotency_key="k1", now=T0)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (301, {"points": ["The balance is 300 points: 301 cannot be redeemed."]}),
        (-5, {"points": ["Enter a whole number of at least 1."]}),
        (0, {"points": ["Enter a whole number of at least 1."]}),
        ("2.5", {"points": ["Enter a whole number."]}),
        (2.0, {"points": ["Enter a whole number."]}),
        (True, {"points": ["Enter a whole number."]}),
    ],
)
def test_bad_redemptions_are_refused_and_write_nothing(clerk: Any, points: Any, message: Any) -> None:
    customer = CustomerFactory()
    PointsEntryFactory(customer=customer, points=300)
    with pytest.raises(ValidationFailed) as refused:
        services.points_redeem(customer=customer, points=points, actor=clerk, idempotency_key="k", now=T0)
    assert refused.value.errors == message
    assert _ledger(customer) == [("manual", 300)]


def test_redeeming_needs_the_permission(make_user: Any) -> None:
    customer = CustomerFactory()
    PointsEntryFactory(customer=customer, points=300)
    with pytest.raises(PermissionDenied):
        services.points_redeem(
            customer=customer, points=1, actor=make_user(Role.CHANNEL_MANAGER), idempotency_key="k", now=T0
        )


def test_expired_points_leave_before_a_redemption_so_it_cannot_spend_them(clerk: Any) -> None:
    customer = CustomerFactory()
    PointsEntryFactory(customer=customer, points=100, expires_at=T0 + dt.timedelta(days=1))
    PointsEntryFactory(customer=customer, points=50, expires_at=T0 + dt.timedelta(days=90))
    later = T0 + dt.timedelta(days=2)
    with pytest.raises(ValidationFailed):
        services.points_redeem(customer=customer, points=60, actor=clerk, idempotency_key="k", now=later)
    # The refusal rolled back the expiry it wrote: nothing half-applied.
    assert _ledger(customer) == [("manual", 100), ("manual", 50)]
    services.points_redeem(customer=customer, points=50, actor=clerk, idempotency_key="k", now=later)
    assert _ledger(customer) == [("manual", 100), ("manual", 50), ("expiry", -100), ("redemption", -50)]


def test_expiry_uses_fifo_consumption_and_is_idempotent(clerk: Any) -> None:
    customer = CustomerFactory()
    PointsEntryFactory(customer=customer, points=100, occurred_at=T0, expires_at=T0 + dt.timedelta(days=30))
    PointsEntryFactory(
        customer=customer,
        points=100,
        occurred_at=T0 + dt.timedelta(days=10),
        expires_at=T0 + dt.timedelta(days=40),
    )
    services.points_redeem(
        customer=customer, points=70, actor=clerk, idempotency_key="r", now=T0 + dt.timedelta(days=20)
    )
    # The redemption used 70 of the oldest lot: 30 of it expire on day 30, then the whole second lot on day 40.
    assert services.points_expire(now=T0 + dt.timedelta(days=31)) == 1
    assert services.points_expire(now=T0 + dt.timedelta(days=31)) == 0
    assert services.points_expire(now=T0 + dt.timedelta(days=35)) == 0
    assert services.points_expire(now=T0 + dt.timedelta(days=41)) == 1
    assert _ledger(customer) == [
        ("manual", 100),
        ("manual", 100),
        ("redemption", -70),
        ("expiry", -30),
        ("expiry", -100),
    ]
    assert points_balance(customer=customer) == 0


def test_earn_rule_bad_input_is_refused(make_user: Any) -> None:
    manager = make_user(Role.CAMPAIGN_MANAGER)
    with pytest.raises(ValidationFailed) as refused:
        services.earn_rule_create(
            actor=manager,
            values={"kind": "survey_answered", "points": 0, "amount_unit": "-1", "validity_months": "x"},
        )
    assert refused.value.errors == {
        "points": ["Enter a whole number of at least 1."],
        "amount_unit": ["Enter an amount above 0, or leave it empty for points per event."],
        "validity_months": ["Enter a whole number."],
    }
    services.earn_rule_create(actor=manager, values={"kind": "survey_answered", "points": 20})
    with pytest.raises(ValidationFailed) as twice:
        services.earn_rule_create(actor=manager, values={"kind": "survey_answered", "points": 30})
    assert list(twice.value.errors) == ["kind"]
    with pytest.raises(PermissionDenied):
        services.earn_rule_create(
            actor=make_user(Role.RELATIONSHIP_MANAGER), values={"kind": "manual", "points": 1}
        )


def test_tiers_refresh_places_customers_by_points_earned_in_twelve_months() -> None:
    silver, gold = TierFactory(code="silver", threshold=100), TierFactory(code="gold", threshold=500)
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    PointsEntryFactory(customer=a, points=600, occurred_at=T0)
    PointsEntryFactory(customer=b, points=150, occurred_at=T0)
    PointsEntryFactory(customer=b, points=900, occurred_at=T0 - dt.timedelta(days=400))  # too old to count
    PointsEntryFactory(customer=c, points=99, occurred_at=T0)
    PointsEntryFactory(
        customer=a, kind=EntryKind.REDEMPTION, points=-600, occurred_at=T0
    )  # redeeming keeps the tier
    assert services.tiers_refresh(now=T0 + dt.timedelta(days=1)) == 2
    rows = {(r.customer_id, r.tier_id, r.points_12_months) for r in CustomerTier.objects.all()}
    assert rows == {(a.pk, gold.pk, 600), (b.pk, silver.pk, 150)}
    assert services.tiers_refresh(now=T0 + dt.timedelta(days=1)) == 2
    assert CustomerTier.objects.count() == 2


def test_tier_bad_input_is_refused(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    TierFactory(code="gold", threshold=500)
    with pytest.raises(ValidationFailed) as refused:
        services.tier_create(
            actor=director, values={"code": "gold", "name_en": "", "threshold": 500, "offers": [999999]}
        )
    assert refused.value.errors == {
        "code": ["Another tier has the code gold."],
        "name_en": ["An English name is required."],
        "threshold": ["Another tier starts at 500 points."],
        "offers": ["There is no offer 999999."],
    }


def test_set_based_earning_follows_the_rules_and_the_watermark() -> None:
    card = ProductTypeFactory(code="card")
    EarnRuleFactory(kind=EarnKind.TRANSACTION, points=1, amount_unit=Decimal("1000000"), validity_months=1)
    EarnRuleFactory(kind=EarnKind.TRANSACTION, points=5, transaction_kind="payment", validity_months=None)
    EarnRuleFactory(kind=EarnKind.PRODUCT_OPENED, points=200, product_type=card, validity_months=12)
    customer = CustomerFactory(status="customer")
    on = dt.datetime(2025, 1, 31, 12, 30, tzinfo=dt.UTC)
    deposit = Transaction.objects.create(
        customer=customer, occurred_at=on, amount=Decimal("3500000"), channel="atm", kind="deposit"
    )
    payment = Transaction.objects.create(
        customer=customer, occurred_at=on, amount=Decimal("-10"), channel="pos", kind="payment"
    )
    small = Transaction.objects.create(
        customer=customer, occurred_at=on, amount=Decimal("10"), channel="atm", kind="deposit"
    )
    old = Transaction.objects.create(
        customer=customer,
        occurred_at=dt.datetime(2019, 5, 1, tzinfo=dt.UTC),
        amount=Decimal("9000000"),
        channel="atm",
        kind="deposit",
    )
    holding = HoldingFactory(customer=customer, product_type=card, opened_on=dt.date(2025, 3, 31))
    HoldingFactory(
        customer=customer, product_type=ProductTypeFactory(code="loan"), opened_on=dt.date(2025, 3, 31)
    )  # no rule for that product
    assert services.points_earn_pending(now=T0) == {"transaction": 2, "product_opened": 1}
    assert services.points_earn_pending(now=T0) == {"transaction": 0, "product_opened": 0}
    rows = {
        (e.kind, e.source_ref, e.points, e.occurred_at, e.expires_at)
        for e in PointsEntry.objects.filter(customer=customer)
    }
    assert rows == {
        ("transaction", str(deposit.pk), 3, on, dt.datetime(2025, 2, 28, 12, 30, tzinfo=dt.UTC)),
        ("transaction", str(payment.pk), 5, on, None),
        # Opened on 31 March in Tehran (UTC+03:30): 20:30 UTC the day before, valid 12 months.
        (
            "product_opened",
            str(holding.pk),
            200,
            dt.datetime(2025, 3, 30, 20, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 30, 20, 30, tzinfo=dt.UTC),
        ),
    }
    assert not PointsEntry.objects.filter(
        source_ref__in=[str(small.pk), str(old.pk)], kind="transaction"
    ).exists()
    # An event already earned one at a time is not earned again by the set-based run, and the other way round.
    later = Transaction.objects.create(
        customer=customer, occurred_at=on, amount=Decimal("2000000"), channel="atm", kind="deposit"
    )
    assert (
        services.points_earn(
            customer=customer,
            kind="transaction",
            source_ref=str(later.pk),
            occurred_at=on,
            amount=later.amount,
        )
        is not None
    )
    assert services.points_earn_pending(now=T0) == {"transaction": 0, "product_opened": 0}
    assert (
        services.points_earn(
            customer=customer,
            kind="transaction",
            source_ref=str(deposit.pk),
            occurred_at=on,
            amount=deposit.amount,
        )
        is None
    )


def test_a_customer_merge_moves_the_ledger_to_the_survivor(admin_user: Any) -> None:
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    PointsEntryFactory(customer=survivor, points=10)
    PointsEntryFactory(customer=duplicate, points=25)
    customer_merge(actor=admin_user, survivor=survivor, duplicate=duplicate)
    assert points_balance(customer=survivor) == 35
    assert points_balance(customer=duplicate) == 0
