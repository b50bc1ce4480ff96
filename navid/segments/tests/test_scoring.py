"""Ranking and value: points model, bands, RFM, actual value, lifecycle, loyalty, the bulk and one-customer
recomputes, fit failures, rule validation, and the customer page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any

import factory
import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client

from navid.accounts.models import Region
from navid.customers.models import Customer, ProductHolding, ProspectRank, Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.segments import clv, value_services
from navid.segments.models import (
    CustomerValue,
    LifecycleRule,
    LoyaltySettings,
    ScoringModel,
    ValueRun,
    ValueSettings,
)
from navid.segments.scoring import (
    LifecycleThresholds,
    LoyaltyWeights,
    ReferenceIds,
    RulesInvalid,
    ScoringFacts,
    lifecycle_phases,
    loyalty_indexes,
    points_scores,
    priority_bands,
    rfm_cut_points,
    rfm_score_with_cuts,
    scoring_rules_parse,
)
from navid.segments.tasks import recompute_values
from navid.segments.value_services import value_recompute_one, values_recompute

# The run's moment: 12:00 UTC is 15:30 in Tehran, so every day below is the same day in both.
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 30)


def at(day: dt.date | str) -> dt.datetime:
    """Noon UTC of a day: the same calendar day in the bank's time zone."""
    return dt.datetime.combine(dt.date.fromisoformat(str(day)), dt.time(12), tzinfo=dt.UTC)


class CustomerOfBankFactory(CustomerFactory):
    status = "customer"
    customer_since = dt.date(2020, 1, 1)


class HoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductHolding

    customer = factory.SubFactory(CustomerOfBankFactory)
    product_type = factory.SubFactory(ProductTypeFactory)
    opened_on = dt.date(2020, 1, 1)
    balance = Decimal("0")
    currency = "IRR"


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    holding = factory.SubFactory(HoldingFactory)
    customer = factory.LazyAttribute(lambda o: o.holding.customer)
    occurred_at = factory.LazyFunction(lambda: at(TODAY))
    amount = Decimal("100")
    channel = "branch"
    kind = "deposit"


@pytest.fixture
def config(db: None) -> None:
    """Settings with round numbers, so expected values can be worked out by hand; no scoring model."""
    ValueSettings.objects.update_or_create(
        pk=1,
        defaults={
            "reporting_currency": "IRR",
            "exchange_rates": {"IRR": 1, "RUB": 100},
            "margin_rates": {"deposit": 0.03, "loan": 0.05},
            "default_margin_rate": 0,
            "fee_income": {
                "fee": {"per_transaction": 0, "share_of_amount": 1},
                "transfer": {"per_transaction": 10, "share_of_amount": 0},
            },
            "cost_to_serve_per_year": 365,
            "cost_per_interaction": 0,
            "turnover_margin": Decimal("0.01"),
            "horizon_weeks": 52,
            "annual_discount_rate": 0,
        },
    )
    LifecycleRule.objects.update_or_create(
        pk=1, defaults={"new_days": 90, "dormant_days": 180, "trend_days": 90, "trend_percent": 50}
    )
    LoyaltySettings.objects.update_or_create(
        pk=1,
        defaults={
            "tenure_weight": Decimal("0.5"),
            "tenure_full_years": 10,
            "requests_weight": Decimal("0.2"),
            "requests_full": 12,
            "complaints_weight": Decimal("0.3"),
            "complaints_full": 3,
        },
    )
    ScoringModel.objects.all().delete()


@pytest.fixture
def deposit(db: None) -> Any:
    return ProductTypeFactory(code="deposit")


@pytest.fixture
def loan(db: None) -> Any:
    return ProductTypeFactory(code="loan", name_en="Loan", is_credit=True)


# --- the points model and its bands ---------------------------------------------------------------------


def _facts(**overrides: Any) -> ScoringFacts:
    """Four customers: a rich long-standing one, a thin one, a ranked prospect, and a RUB-area customer."""
    values: dict[str, Any] = {
        "is_prospect": np.array([False, False, True, False]),
        "region_ids": np.array([1, 1, -1, 2]),
        "prospect_rank_ids": np.array([-1, -1, 7, -1]),
        "open_products": np.array([3, 1, 0, 2]),
        "balance_non_credit": np.array([5_000.0, 100.0, 0.0, 999.0]),
        "balance_credit": np.array([0.0, 2_000.0, 0.0, 0.0]),
        "transactions_90_days": np.array([12, 0, 0, 10]),
        "years_as_customer": np.array([6.0, 0.5, 0.0, 5.0]),
        "held_customer": np.array([0, 1, 3]),
        "held_product_type": np.array([11, 12, 11]),
    }
    values.update(overrides)
    return ScoringFacts(**values)


IDS = ReferenceIds(
    product_types={"deposit": 11, "loan": 12}, regions={"north": 1, "south": 2}, prospect_ranks={"a": 7}
)


def test_points_model_adds_the_points_of_every_rule_that_holds() -> None:
    # given one rule of every kind
    rules = scoring_rules_parse(
        [
            {"kind": "holds_product", "product_type": "deposit", "points": 10},
            {"kind": "holds_product", "product_type": "loan", "points": 5, "negate": True},
            {"kind": "product_count", "at_least": 2, "points": 7},
            {"kind": "total_balance", "at_least": 1000, "points": 20},
            {"kind": "total_balance", "at_least": 2000, "include_credit": True, "points": 3},
            {"kind": "transactions_90_days", "at_least": 10, "points": 15},
            {"kind": "status", "status": "prospect", "points": -4},
            {"kind": "prospect_rank", "code": "a", "points": 30},
            {"kind": "years_as_customer", "at_least": 5, "points": 8},
            {"kind": "region", "code": "south", "points": 2},
        ]
    )
    # when the customers are scored
    scores, warnings = points_scores(rules, _facts(), IDS)
    # then each gets the sum of the points of the rules that hold for them
    assert scores.tolist() == [
        10 + 5 + 7 + 20 + 3 + 15 + 8,  # deposit, no loan, 3 products, 5,000, active, 6 years
        3,  # holds the loan, one product, 100 + 2,000 of credit
        5 - 4 + 30,  # a prospect ranked A without a loan
        10 + 5 + 7 + 15 + 8 + 2,  # deposit, no loan, 2 products, 999, active, 5 years, south
    ]
    assert warnings == []


def test_points_model_warns_of_codes_that_do_not_exist() -> None:
    rules = scoring_rules_parse(
        [
            {"kind": "holds_product", "product_type": "gold-bar", "points": 10},
            {"kind": "region", "code": "atlantis", "points": 5},
            {"kind": "prospect_rank", "code": "z", "points": 1, "negate": True},
        ]
    )
    scores, warnings = points_scores(rules, _facts(), IDS)
    assert scores.tolist() == [1, 1, 1, 1]
    assert warnings == [
        "rules[0]: no product type has the code 'gold-bar'",
        "rules[1]: no region has the code 'atlantis'",
        "rules[2]: no prospect rank has the code 'z'",
    ]


def test_priority_bands_start_at_their_thresholds() -> None:
    scores = np.array([100, 60, 59, 40, 39, 20, 19, -5])
    bands = priority_bands(scores, band_a=60, band_b=40, band_c=20)
    assert bands.tolist() == ["A", "A", "B", "B", "C", "C", "D", "D"]


# --- rule validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "messages"),
    [
        (
            [
                {"kind": "product_count", "at_least": 2, "points": 5},
                {"kind": "product_count", "at_least": -1, "points": 5},
            ],
            ["rules[1].at_least: Input should be greater than or equal to 0"],
        ),
        (
            [{"kind": "holds_gold", "points": 5}],
            [
                "rules[0]: unknown rule kind; use one of holds_product, product_count, total_balance, "
                "transactions_90_days, status, prospect_rank, years_as_customer, region"
            ],
        ),
        (
            [{"product_type": "loan", "points": 5}],
            [
                "rules[0]: every rule needs a 'kind', one of holds_product, product_count, total_balance, "
                "transactions_90_days, status, prospect_rank, years_as_customer, region"
            ],
        ),
        ([{"kind": "holds_product", "points": 5}], ["rules[0].product_type: Field required"]),
        (
            [{"kind": "status", "status": "vip", "points": "many", "colour": "red"}],
            [
                "rules[0].points: Input should be a valid integer, unable to parse string as an integer",
                "rules[0].status: Input should be 'prospect' or 'customer'",
                "rules[0].colour: Extra inputs are not permitted",
            ],
        ),
        ({"kind": "status"}, ["rules: Input should be a valid list"]),
    ],
)
def test_bad_rules_are_refused_with_the_path_of_each_error(rules: Any, messages: list[str]) -> None:
    with pytest.raises(RulesInvalid) as caught:
        scoring_rules_parse(rules)
    assert caught.value.messages == messages


def test_scoring_model_validation_names_the_rules_field(db: None) -> None:
    model = ScoringModel(
        name="Broken",
        rules=[{"kind": "total_balance", "at_least": "lots", "points": 1}],
        band_a=10,
        band_b=20,
    )
    with pytest.raises(ValidationError) as caught:
        model.full_clean()
    assert caught.value.message_dict == {
        "rules": ["rules[0].at_least: Input should be a valid number, unable to parse string as a number"],
        "band_b": ["the bands must not overlap: A from a score ≥ B ≥ C"],
    }


def test_value_settings_validation_names_the_entry(db: None) -> None:
    settings = ValueSettings(
        exchange_rates={"rub": 1, "USD": 0},
        margin_rates={"loan": 2},
        fee_income={"fee": {"share_of_amount": 1.5}},
    )
    with pytest.raises(ValidationError) as caught:
        settings.full_clean()
    assert caught.value.message_dict == {
        "exchange_rates": [
            "exchange_rates.rub: String should match pattern '^[A-Z]{3}$'",
            "exchange_rates.USD: Input should be greater than 0",
        ],
        "margin_rates": ["margin_rates.loan: Input should be less than or equal to 1"],
        "fee_income": ["fee_income.fee.share_of_amount: Input should be less than or equal to 1"],
    }


# --- RFM --------------------------------------------------------------------------------------------------


def test_rfm_cut_points_score_a_customer_as_the_population_scores_them() -> None:
    # given ten customers' days since their last transaction, transactions and turnover
    recency = np.array([1, 3, 3, 10, 40, 40, 90, 200, 365, 1000], dtype=float)
    frequency = np.array([50, 12, 12, 30, 2, 0, 5, 5, 1, 0], dtype=float)
    monetary = np.array([9e6, 1e6, 2e6, 5e6, 1e5, 0, 3e5, 3e5, 5e4, 0])
    # when scored as a population (clv.rfm_scores) and one by one against the cut points
    population = clv.rfm_scores(recency, frequency, monetary, bins=5)
    cuts = {
        "r": rfm_cut_points(-recency, bins=5),
        "f": rfm_cut_points(frequency, bins=5),
        "m": rfm_cut_points(monetary, bins=5),
    }
    # then both give the same scores: 1 for the lowest fifth, 5 for the highest
    assert population.recency.tolist() == [5, 4, 4, 4, 3, 3, 2, 2, 1, 1]
    assert population.frequency.tolist() == [5, 4, 4, 5, 2, 1, 3, 3, 2, 1]
    assert population.monetary.tolist() == [5, 4, 4, 5, 2, 1, 3, 3, 2, 1]
    assert rfm_score_with_cuts(-recency, cuts["r"]).tolist() == population.recency.tolist()
    assert rfm_score_with_cuts(frequency, cuts["f"]).tolist() == population.frequency.tolist()
    assert rfm_score_with_cuts(monetary, cuts["m"]).tolist() == population.monetary.tolist()


# --- lifecycle and loyalty, as arithmetic --------------------------------------------------------------------


def test_lifecycle_rules_apply_in_order() -> None:
    phases = lifecycle_phases(
        is_prospect=np.array([True, False, False, False, False, False, False, False]),
        days_as_customer=np.array([0, 89, 89, 400, 400, 400, 400, 400]),
        open_products=np.array([0, 0, 1, 0, 1, 1, 1, 1]),
        days_since_transaction=np.array([10**6, 10**6, 3, 2, 180, 5, 5, 5]),
        turnover_recent=np.array([0, 0, 0, 0, 0, 150.0, 50.0, 149.0]),
        turnover_previous=np.array([0, 0, 0, 0, 0, 100.0, 100.0, 100.0]),
        thresholds=LifecycleThresholds(new_days=90, dormant_days=180, trend_percent=50),
    )
    assert phases.tolist() == [
        "prospect",
        "new",
        "new",
        "churned",
        "dormant",
        "growing",
        "declining",
        "mature",
    ]


WEIGHTS = LoyaltyWeights(
    tenure_weight=0.5, tenure_full_years=10, requests_weight=0.2, requests_full=12, complaints_weight=0.3,
    complaints_full=3,
)  # fmt: skip


def test_loyalty_index_weighs_tenure_requests_and_complaints() -> None:
    index = loyalty_indexes(
        years_as_customer=np.array([0.0, 5.0, 10.0, 20.0]),
        requests=np.array([0, 6, 12, 24]),
        complaints=np.array([0, 1, 3, 0]),
        weights=WEIGHTS,
    )
    # (0.5 tenure + 0.2 requests - 0.3 complaints) / (0.5 + 0.2), each part 0..1, times 100
    assert index.tolist() == pytest.approx([0.0, 100 * 0.25 / 0.7, 100 * 0.4 / 0.7, 100.0], abs=1e-12)


def test_loyalty_index_without_interaction_data_is_the_tenure_part() -> None:
    index = loyalty_indexes(
        years_as_customer=np.array([0.0, 5.0, 10.0, 20.0]), requests=None, complaints=None, weights=WEIGHTS
    )
    assert index.tolist() == [0.0, 50.0, 100.0, 100.0]


# --- the bulk recompute on hand-made customers -------------------------------------------------------------


def test_actual_value_is_margin_on_balances_plus_fees_minus_cost_to_serve(
    config: None, deposit: Any, loan: Any
) -> None:
    # given a customer since 2020 with a deposit all year, a loan opened on 1 April and a deposit closed
    # on 31 December, fees and transfers this year and a fee older than a year
    customer = CustomerOfBankFactory()
    savings = HoldingFactory(customer=customer, product_type=deposit, balance=Decimal("1000000"))
    HoldingFactory(customer=customer, product_type=loan, balance=Decimal("200000"), opened_on="2026-04-01")
    HoldingFactory(
        customer=customer,
        product_type=deposit,
        balance=Decimal("500000"),
        opened_on="2019-01-01",
        closed_on="2025-12-31",
    )
    TransactionFactory(holding=savings, kind="fee", amount=Decimal("-1500"), occurred_at=at("2026-03-01"))
    TransactionFactory(
        holding=savings, kind="transfer", amount=Decimal("50000"), occurred_at=at("2026-03-02")
    )
    TransactionFactory(
        holding=savings, kind="transfer", amount=Decimal("50000"), occurred_at=at("2026-03-03")
    )
    TransactionFactory(
        holding=savings, kind="deposit", amount=Decimal("100000"), occurred_at=at("2026-03-04")
    )
    TransactionFactory(holding=savings, kind="fee", amount=Decimal("9999"), occurred_at=at("2025-06-30"))
    # when values are recomputed
    values_recompute(now=NOW)
    # then actual value = 0.03 x 1,000,000 (365 days) + 0.05 x 200,000 x 91/365 + 0.03 x 500,000 x 183/365
    #                     + 1,500 (fee) + 2 x 10 (transfers) - 365 (a full year's cost to serve)
    expected = 30000 + 0.05 * 200000 * 91 / 365 + 0.03 * 500000 * 183 / 365 + 1500 + 20 - 365
    value = CustomerValue.objects.get(pk=customer.pk)
    assert value.actual_value == Decimal("41168.70") == Decimal(f"{expected:.2f}")


def test_amounts_in_another_currency_are_converted_and_cost_is_prorated(config: None, deposit: Any) -> None:
    # given a customer of 100 days whose deposit of 1,000 roubles is worth 100,000 rials
    customer = CustomerOfBankFactory(customer_since=TODAY - dt.timedelta(days=99))
    HoldingFactory(
        customer=customer,
        product_type=deposit,
        balance=Decimal("1000"),
        currency="RUB",
        opened_on="2026-03-23",
    )
    values_recompute(now=NOW)
    # then 0.03 x 100,000 x 100/365 - 365 x 100/365
    value = CustomerValue.objects.get(pk=customer.pk)
    assert value.actual_value == Decimal(f"{0.03 * 100000 * 100 / 365 - 100:.2f}") == Decimal("721.92")


def test_each_lifecycle_phase_on_a_fixed_day(config: None, deposit: Any) -> None:
    def customer_with(since: str = "2020-01-01", *, closed: str | None = None) -> Any:
        customer = CustomerOfBankFactory(customer_since=since)
        holding = HoldingFactory(customer=customer, product_type=deposit, closed_on=closed)
        return customer, holding

    prospect = CustomerFactory(status="prospect")
    new, holding = customer_with("2026-05-01")
    TransactionFactory(holding=holding, occurred_at=at("2026-06-01"))
    churned, holding = customer_with(closed="2026-01-01")
    TransactionFactory(holding=holding, occurred_at=at("2026-06-01"))
    dormant, holding = customer_with()
    TransactionFactory(holding=holding, occurred_at=at("2025-11-01"))  # 241 days before
    phases = {}
    # turnover of the 90 days before 1 April, and of the 90 days up to today
    for name, before, recent in (("growing", 100, 150), ("declining", 200, 100), ("mature", 100, 140)):
        customer, holding = customer_with()
        TransactionFactory(holding=holding, amount=Decimal(before), occurred_at=at("2026-02-15"))
        TransactionFactory(holding=holding, amount=Decimal(recent), occurred_at=at("2026-06-01"))
        phases[name] = customer
    values_recompute(now=NOW)
    found = dict(CustomerValue.objects.values_list("customer_id", "lifecycle"))
    assert {
        "prospect": found[prospect.pk],
        "new": found[new.pk],
        "churned": found[churned.pk],
        "dormant": found[dormant.pk],
        **{name: found[customer.pk] for name, customer in phases.items()},
    } == {name: name for name in ("prospect", "new", "churned", "dormant", "growing", "declining", "mature")}


def test_loyalty_of_a_customer_with_no_requests_or_complaints(config: None, deposit: Any) -> None:
    from navid.segments.models import LoyaltySettings

    customer = CustomerOfBankFactory(customer_since="2016-06-30")
    HoldingFactory(customer=customer, product_type=deposit)
    values_recompute(now=NOW)
    weights = LoyaltySettings.objects.get()
    tenure, requests = float(weights.tenure_weight), float(weights.requests_weight)
    # 3,652 days are 9.9986 years of the 10 that count in full; no request adds to the tenure part, and the
    # requests' weight still counts in the scale, because the interactions app is installed
    expected = round(100 * (3652 / 365.25 / 10) * tenure / (tenure + requests), 4)
    assert CustomerValue.objects.get(pk=customer.pk).loyalty_index == expected == 71.4188


def test_scores_and_priorities_come_from_the_active_scoring_model(config: None, deposit: Any) -> None:
    ScoringModel.objects.create(
        name="Old", is_active=False, rules=[{"kind": "status", "status": "customer", "points": 99}]
    )
    ScoringModel.objects.create(
        name="Current",
        is_active=True,
        rules=[
            {"kind": "holds_product", "product_type": "deposit", "points": 30},
            {"kind": "total_balance", "at_least": 1000, "points": 40},
            {"kind": "prospect_rank", "code": "a", "points": 25},
        ],
        band_a=70,
        band_b=40,
        band_c=25,
    )
    rank_a = ProspectRank.objects.create(code="a", name_en="A")
    rich = HoldingFactory(product_type=deposit, balance=Decimal("5000")).customer
    thin = HoldingFactory(product_type=deposit, balance=Decimal("10")).customer
    prospect = CustomerFactory(prospect_rank=rank_a)
    values_recompute(now=NOW)
    found = {v.customer_id: (v.score, v.priority) for v in CustomerValue.objects.all()}
    assert found == {rich.pk: (70, "A"), thin.pk: (30, "C"), prospect.pk: (25, "C")}


# --- a population with a purchase history the models can be fitted on ---------------------------------------


def _simulated_population(deposit: Any, customers: int = 300) -> list[Customer]:
    """Customers who buy at their own rate and may drop out after each purchase (the BG/NBD story)."""
    rng = np.random.default_rng(2026)
    region = Region.objects.create(code="north", name_en="North")
    people = CustomerOfBankFactory.create_batch(customers, region=region, customer_since=dt.date(2025, 1, 1))
    holdings = [
        HoldingFactory(customer=person, product_type=deposit, balance=Decimal("1000000")) for person in people
    ]
    rows = []
    today = TODAY.toordinal()
    for holding in holdings:
        rate = rng.gamma(0.8, 1 / 15)  # purchases per day while active
        drop = rng.beta(1.0, 4.0)
        spend = rng.gamma(4.0, 25_000)
        day = today - int(rng.integers(40, 500))
        while day <= today:
            amount = Decimal(f"{rng.gamma(6.0, spend / 6.0):.2f}")
            rows.append(
                Transaction(
                    customer_id=holding.customer_id,
                    holding=holding,
                    occurred_at=at(dt.date.fromordinal(day)),
                    amount=amount,
                    channel="mobile",
                    kind="payment",
                )
            )
            if rng.random() < drop:
                break
            day += 1 + int(rng.exponential(1 / rate))
    Transaction.objects.bulk_create(rows)
    return people


def test_sql_summary_equals_the_summary_of_raw_transactions(config: None, deposit: Any) -> None:
    # given customers with several transactions on some days
    people = _simulated_population(deposit, customers=60)
    extra = Transaction.objects.filter(customer=people[0]).first()
    TransactionFactory(
        holding=extra.holding, amount=Decimal("7"), occurred_at=extra.occurred_at + dt.timedelta(hours=1)
    )
    # when the per-customer aggregates are read with SQL
    clock = value_services._clock(NOW)
    with connection.cursor() as cursor:
        facts = value_services._facts(cursor, clock, value_services._config([]), [])
    history = value_services._history(facts, clock.today)
    # then they equal clv.summary_from_transactions on every row, counted in weeks
    rows = list(Transaction.objects.order_by("id").values_list("customer_id", "occurred_at", "amount"))
    summary = clv.summary_from_transactions(
        [r[0] for r in rows],
        [(r[1] + dt.timedelta(hours=3, minutes=30)).date() for r in rows],
        [float(r[2]) for r in rows],
        observation_end=TODAY,
    )
    assert facts.customer_ids.tolist() == summary.customer_ids.tolist()
    assert history.frequency.tolist() == summary.frequency.tolist()
    assert history.recency == pytest.approx(summary.recency, abs=1e-12)
    ages = history.T
    assert ages == pytest.approx(summary.T, abs=1e-12)
    assert history.monetary == pytest.approx(summary.monetary_value, rel=1e-12)


def test_full_recompute_writes_every_customer_and_a_rerun_updates_without_duplicates(
    config: None, deposit: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(value_services, "_COPY_FROM_ROWS", 1)  # PostgreSQL writes with COPY, as at scale
    # given 300 customers with purchase histories and 2 prospects
    people = _simulated_population(deposit)
    CustomerFactory.create_batch(2)
    # when values are recomputed
    report = values_recompute(now=NOW)
    # then both models are fitted, every customer has a row and the run is recorded with its parameters
    assert report.fit_errors == []
    assert report.customers == 302 == CustomerValue.objects.count()
    assert report.warnings == ["no active scoring model: every score is 0 and every priority D"]
    run = ValueRun.objects.get(pk=report.run_id)
    assert run.succeeded and run.customers == 302 and run.finished_at is not None
    assert run.params["bg_nbd"] == report.bg_nbd and set(report.bg_nbd) == {"r", "alpha", "a", "b"}
    assert set(run.params["gamma_gamma"]) == {"p", "q", "gamma"}
    assert [len(run.params["rfm_cuts"][k]) for k in ("recency", "frequency", "monetary")] == [4, 4, 4]
    first = {v.customer_id: v for v in CustomerValue.objects.all()}
    assert {first[p.pk].rfm_recency for p in people} == {1, 2, 3, 4, 5}
    potentials = sorted(first[p.pk].potential_value for p in people)
    alive = sorted(first[p.pk].probability_alive for p in people)
    # customers who left long ago are worth nothing more; the busiest ones thousands
    assert potentials[0] == 0 and potentials[-1] > 10_000
    assert 0 < alive[0] < 0.001 and alive[-1] == 1.0
    assert sum(report.lifecycles.values()) == 302 and report.lifecycles["prospect"] == 2
    # when run again: the same rows with the same values, only newer
    values_recompute(now=NOW + dt.timedelta(minutes=5))
    second = {v.customer_id: v for v in CustomerValue.objects.all()}
    assert CustomerValue.objects.count() == 302
    assert {k: _figures(v) for k, v in second.items()} == {k: _figures(v) for k, v in first.items()}
    assert {v.computed_at for v in second.values()} == {NOW + dt.timedelta(minutes=5)}
    # when a balance grows and a customer goes to the trash: that row changes, the other goes
    ProductHolding.objects.filter(customer=people[0]).update(balance=Decimal("2000000"))
    Customer.objects.filter(pk=people[1].pk).update(deleted_at=NOW)
    values_recompute(now=NOW)
    third = {v.customer_id: v for v in CustomerValue.objects.all()}
    assert len(third) == 301 and people[1].pk not in third
    assert third[people[0].pk].actual_value - first[people[0].pk].actual_value == Decimal("30000.00")


def _figures(value: CustomerValue) -> tuple[Any, ...]:
    return (
        value.score,
        value.priority,
        value.rfm_recency,
        value.rfm_frequency,
        value.rfm_monetary,
        value.actual_value,
        value.potential_value,
        round(value.probability_alive, 12),
        value.lifecycle,
        value.loyalty_index,
    )


def test_one_customer_recompute_reuses_the_last_runs_models(config: None, deposit: Any) -> None:
    # given a full run
    people = _simulated_population(deposit)
    values_recompute(now=NOW)
    customer = people[7]
    before = {v.customer_id: (_figures(v), v.computed_at) for v in CustomerValue.objects.all()}
    # when one customer is recomputed with nothing changed: the same figures as in the full run
    later = NOW + dt.timedelta(hours=1)
    value = value_recompute_one(customer=customer, now=NOW)
    assert _figures(value) == before[customer.pk][0]
    # when that customer buys today and is recomputed: newer figures for them, and only for them
    TransactionFactory(holding=customer.holdings.get(), amount=Decimal("90000"), occurred_at=NOW)
    value = value_recompute_one(customer=customer, now=later)
    assert value.computed_at == later
    assert value.rfm_recency == 5
    assert value.potential_value != before[customer.pk][0][6]
    others = {
        v.customer_id: (_figures(v), v.computed_at) for v in CustomerValue.objects.exclude(pk=customer.pk)
    }
    assert others == {k: v for k, v in before.items() if k != customer.pk}


def test_when_the_purchase_models_cannot_be_fitted_potential_value_is_actual_value(
    config: None, deposit: Any
) -> None:
    # given customers who each bought once: no repeat purchase to fit anything on
    buyers = [
        TransactionFactory(holding__product_type=deposit, holding__balance=Decimal("100000")).customer
        for _ in range(3)
    ]
    prospect = CustomerFactory()
    # when values are recomputed
    report = values_recompute(now=NOW)
    # then the failures are reported and recorded, and potential value falls back to actual value
    assert report.fit_errors == [
        "BG/NBD: no customer has a repeat purchase (frequency > 0): the BG/NBD cannot be fitted",
        "Gamma-Gamma: no customer has a repeat purchase",
    ]
    assert "potential value = actual value, because a purchase model could not be fitted" in report.warnings
    assert ValueRun.objects.get(pk=report.run_id).report["fit_errors"] == report.fit_errors
    assert report.bg_nbd is None and report.gamma_gamma is None
    for buyer in buyers:
        value = CustomerValue.objects.get(pk=buyer.pk)
        assert (
            value.potential_value == value.actual_value == Decimal(f"{0.03 * 100000 * 365 / 365 - 365:.2f}")
        )
        assert value.probability_alive == 0
    assert CustomerValue.objects.get(pk=prospect.pk).potential_value == 0
    # and a one-customer recompute without fitted models falls back the same way
    assert value_recompute_one(customer=buyers[0], now=NOW).potential_value == Decimal("2635.00")


def test_a_run_that_fails_is_recorded(config: None, deposit: Any) -> None:
    ScoringModel.objects.create(name="Broken", is_active=True, rules=[{"kind": "nonsense", "points": 1}])
    with pytest.raises(ValueError, match="the active scoring model 'Broken' is not valid"):
        values_recompute(now=NOW)
    run = ValueRun.objects.get()
    assert not run.succeeded and run.finished_at is not None
    assert run.report["error"].startswith(
        "the active scoring model 'Broken' is not valid: rules[0]: unknown rule kind"
    )


# --- schedule, command, admin and page --------------------------------------------------------------------


def test_task_and_command_recompute(config: None, deposit: Any, settings: Any) -> None:
    customer = HoldingFactory(product_type=deposit).customer
    recompute_values.delay()
    assert CustomerValue.objects.filter(pk=customer.pk).exists()
    out, err = StringIO(), StringIO()
    call_command("recompute_values", stdout=out, stderr=err)
    assert out.getvalue().startswith("1 customers in ")
    assert "lifecycle: dormant 1" in out.getvalue()
    assert "fit failed: BG/NBD" in err.getvalue()
    entry = settings.CELERY_BEAT_SCHEDULE["recompute-customer-values"]
    assert entry["task"] == recompute_values.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {0})


def test_activating_a_scoring_model_in_the_admin_deactivates_the_others(
    admin_user: Any, config: None
) -> None:
    old = ScoringModel.objects.create(name="Old", is_active=True)
    new = ScoringModel.objects.create(name="New")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        f"/admin/segments/scoringmodel/{new.pk}/change/",
        {
            "name": "New",
            "description": "",
            "is_active": "on",
            "rules": '[{"kind": "status", "status": "customer", "points": 5}]',
            "band_a": 60,
            "band_b": 40,
            "band_c": 20,
        },
    )
    assert response.status_code == 302
    assert list(ScoringModel.objects.filter(is_active=True)) == [new]
    old.refresh_from_db()
    assert not old.is_active
    page = client.post(
        f"/admin/segments/scoringmodel/{new.pk}/change/",
        {
            "name": "New",
            "rules": '[{"kind": "product_count", "at_least": -2, "points": 5}]',
            "band_a": 60,
            "band_b": 40,
            "band_c": 20,
        },
    ).content.decode()
    assert "rules[0].at_least: Input should be greater than or equal to 0" in page
    for url in (
        "/admin/segments/valuesettings/1/change/",
        "/admin/segments/lifecyclerule/1/change/",
        "/admin/segments/loyaltysettings/1/change/",
        "/admin/segments/valuerun/",
        "/admin/segments/customervalue/",
    ):
        assert client.get(url).status_code == 200, url


def test_customer_page_shows_the_computed_value(admin_user: Any, config: None, deposit: Any) -> None:
    customer = HoldingFactory(product_type=deposit, balance=Decimal("1000000")).customer
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="value-missing"' in page
    values_recompute(now=NOW)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert '<span class="ltr" id="value-actual">29,635</span> IRR' in page
    assert '<dd class="col-sm-7" id="value-lifecycle">Dormant</dd>' in page
    assert (
        "Length of relationship (full at 10 years) and requests raise it; complaints of the last 12 months lower it."
        in page
    )
    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert '<span class="ltr" id="value-actual">۲۹۶۳۵</span>' in page
