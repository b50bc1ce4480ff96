"""Results: the statistics against published and hand-computed values, and every count of a small campaign."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook
from scipy.stats import norm

from navid.campaigns.models import Decision, Group, OutboxMessage, OutboxState, ResultSnapshot, Wave
from navid.campaigns.results import (
    campaign_results,
    response_window,
    results_csv,
    results_current,
    results_xlsx,
    uplift_compute,
    wilson_interval,
)
from navid.campaigns.tasks import recount_results, results_for_reading
from navid.campaigns.tests.factories import CampaignFactory, ChannelPlanFactory
from navid.customers.models import ConversionEvent, ProductHolding
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.interactions.models import Interaction

START = timezone.make_aware(dt.datetime(2026, 12, 1, 9, 0))


def _at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day))


# --- statistics ---


def test_wilson_intervals_match_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, example (a): 56/70 and 48/80.
    low, high = wilson_interval(56, 70)
    assert (round(low, 4), round(high, 4)) == (0.6918, 0.8770)
    low, high = wilson_interval(48, 80)
    assert (round(low, 4), round(high, 4)) == (0.4905, 0.7004)


def test_uplift_interval_is_newcombes_hybrid_score_and_p_value_the_pooled_z_test() -> None:
    u = uplift_compute(treated_successes=56, treated=70, control_successes=48, control=80)

    assert round(u.difference or 0, 10) == 0.2
    # Newcombe (1998), method 10 for example (a): 0.0524 to 0.3339.
    assert (round(u.ci_low or 0, 4), round(u.ci_high or 0, 4)) == (0.0524, 0.3339)
    # By hand: pooled p = 104/150, se = sqrt(p(1-p)(1/70 + 1/80)) = 0.0754668, z = 0.2/se = 2.65017.
    se = math.sqrt((104 / 150) * (46 / 150) * (1 / 70 + 1 / 80))
    assert round(se, 7) == 0.0754668
    assert round(0.2 / se, 5) == 2.65017
    assert round(u.p_value or 0, 5) == 0.00805
    # The same from an independent implementation of the normal distribution.
    assert u.p_value == pytest.approx(2 * norm.sf(0.2 / se), rel=1e-9)
    assert u.method == "newcombe-hybrid-score"


def test_uplift_of_equal_groups_has_p_value_one_and_an_interval_around_zero() -> None:
    u = uplift_compute(treated_successes=0, treated=50, control_successes=0, control=50)
    assert (u.difference, u.p_value) == (0.0, 1.0)
    assert u.ci_low is not None and u.ci_high is not None
    assert round(u.ci_low, 4) == -round(u.ci_high, 4) == -0.0713


def test_uplift_without_a_control_group_is_not_measured() -> None:
    u = uplift_compute(treated_successes=3, treated=10, control_successes=0, control=0)
    assert (u.treatment_rate, u.control_rate, u.difference, u.ci_low, u.ci_high, u.p_value) == (
        0.3,
        None,
        None,
        None,
        None,
        None,
    )


# --- counts ---


@pytest.fixture
def campaign(db: None) -> Any:
    """10 treatment, 4 control, 3 excluded customers; two waves; some opens, clicks, answers and conversions."""
    deposit = ProductTypeFactory(code="deposit")
    loan = ProductTypeFactory(code="loan", name_en="Loan")
    campaign = CampaignFactory(
        starts_at=START,
        ends_at=START + dt.timedelta(days=30),
        waves_max=2,
        repeat_every_days=7,
        response_window_days=30,
        budget_planned=Decimal("4000000"),
        offer__product_type=deposit,
        offer__value_to_bank=Decimal("1500000"),
    )
    ChannelPlanFactory(campaign=campaign, channel="email", priority=1, planned_cost=Decimal("1000000"))
    ChannelPlanFactory(campaign=campaign, channel="sms", priority=2, planned_cost=Decimal("3000000"))
    t = [CustomerFactory() for _ in range(10)]
    c = [CustomerFactory() for _ in range(4)]
    x = [CustomerFactory() for _ in range(3)]
    Decision.objects.bulk_create(
        [Decision(campaign=campaign, customer=p, group=Group.TREATMENT, channel="email") for p in t]
        + [Decision(campaign=campaign, customer=p, group=Group.CONTROL) for p in c]
        + [
            Decision(campaign=campaign, customer=x[0], group=Group.EXCLUDED, rule="consent"),
            Decision(campaign=campaign, customer=x[1], group=Group.EXCLUDED, rule="consent"),
            Decision(campaign=campaign, customer=x[2], group=Group.EXCLUDED, rule="frequency"),
        ]
    )
    Wave.objects.create(campaign=campaign, number=1, scheduled_at=START, state=Wave.WaveState.DONE)
    wave_one = [
        (t[0], OutboxState.DELIVERED, "50", _at("2026-12-01 10:00"), _at("2026-12-01 11:00")),
        (t[1], OutboxState.DELIVERED, "50", _at("2026-12-01 10:00"), _at("2026-12-02 11:00")),
        (t[2], OutboxState.DELIVERED, "50", _at("2026-12-01 10:00"), None),
        (t[3], OutboxState.DELIVERED, "50", None, None),
        (t[4], OutboxState.SENT, "50", None, None),
        (t[5], OutboxState.SENT, "50", None, None),
        (t[6], OutboxState.FAILED, "0", None, None),
        (t[7], OutboxState.PENDING, "0", None, None),
    ]
    messages = [
        OutboxMessage(
            campaign=campaign,
            wave=1,
            customer=p,
            channel="email",
            language="fa",
            address=f"c{p.pk}@example.com",
            idempotency_key=f"{campaign.pk}:1:{p.pk}:email",
            state=state,
            cost=Decimal(cost),
            opened_at=opened,
            clicked_at=opened if clicked else None,
        )
        for p, state, cost, opened, clicked in wave_one
    ]
    messages += [
        OutboxMessage(
            campaign=campaign,
            wave=2,
            customer=p,
            channel="sms",
            language="fa",
            address=str(p.phone),
            idempotency_key=f"{campaign.pk}:2:{p.pk}:sms",
            state=OutboxState.SENT,
            cost=Decimal("300"),
        )
        for p in (t[3], t[4])
    ]
    OutboxMessage.objects.bulk_create(messages)
    for customer, product, day in (
        (t[0], deposit, dt.date(2026, 12, 5)),  # converted within the window
        (t[1], deposit, dt.date(2027, 2, 1)),  # after the window
        (t[2], loan, dt.date(2026, 12, 5)),  # not the offered product
        (t[5], deposit, dt.date(2026, 11, 20)),  # before the campaign
        (c[0], deposit, dt.date(2026, 12, 10)),  # a control customer who converted anyway
    ):
        ProductHolding.objects.create(customer=customer, product_type=product, opened_on=day)
    for customer, direction, outcome, campaign_id in (
        (t[3], "inbound", "interested", campaign.pk),  # an answer
        (t[4], "inbound", "not_interested", campaign.pk),  # a refusal is not a response
        (t[6], "outbound", "", campaign.pk),  # the bank's own contact
        (t[2], "inbound", "interested", campaign.pk + 1000),  # another campaign
    ):
        Interaction.objects.create(
            customer=customer,
            kind="call",
            channel="phone",
            direction=direction,
            outcome=outcome,
            occurred_at=_at("2026-12-03 12:00"),
            campaign_id=campaign_id,
            source="test",
        )
    return campaign


def test_the_response_window_runs_from_the_start_to_the_window_after_the_last_wave(campaign: Any) -> None:
    assert response_window(campaign=campaign) == (START, START + dt.timedelta(days=7 + 30))


def test_results_count_every_figure_of_the_campaign(campaign: Any) -> None:
    r = campaign_results(campaign=campaign)

    assert (r.targeted, r.treatment, r.control, r.excluded_total) == (17, 10, 4, 3)
    assert r.excluded == {"consent": 2, "frequency": 1}
    assert (r.notified, r.delivered, r.opened, r.clicked) == (6, 4, 3, 2)
    assert (r.responded, r.converted) == (2, 1)
    assert (r.control_responded, r.control_converted) == (1, 1)
    assert (r.uplift.treatment_rate, r.uplift.control_rate) == (0.1, 0.25)
    assert round(r.uplift.difference or 0, 10) == -0.15
    assert r.incremental_conversions == pytest.approx(-1.5)
    assert r.cost_planned == Decimal("4000000.00")
    assert r.cost_actual == Decimal("900.00")
    assert r.cost_per_contact == Decimal("150.00")
    assert r.cost_per_response == Decimal("450.00")
    assert r.cost_per_acquisition == Decimal("900.00")
    assert r.roi == pytest.approx((1 * 1500000 - 900) / 900)
    assert r.final is False


def test_results_per_wave_and_per_channel(campaign: Any) -> None:
    r = campaign_results(campaign=campaign)

    one, two = r.waves
    assert (one.number, one.messages, one.notified, one.delivered, one.opened, one.clicked) == (
        1,
        8,
        6,
        4,
        3,
        2,
    )
    assert (one.responded, one.converted, one.cost, one.state) == (2, 1, Decimal("300.00"), "done")
    # Wave 2 went on 8 December; t3's answer of 3 December belongs to wave 1.
    assert two.scheduled_at == START + dt.timedelta(days=7)
    assert (two.number, two.messages, two.notified, two.responded, two.converted, two.cost) == (
        2,
        2,
        2,
        0,
        0,
        Decimal("600.00"),
    )
    assert [(c.channel, c.cost_planned, c.cost_actual, c.messages, c.notified) for c in r.channels] == [
        ("email", Decimal("1000000.00"), Decimal("300.00"), 8, 6),
        ("sms", Decimal("3000000.00"), Decimal("600.00"), 2, 2),
    ]


def test_an_acquisition_campaign_also_counts_prospects_who_became_customers(campaign: Any) -> None:
    campaign.goal = "acquisition"
    campaign.save()
    customer = (
        Decision.objects.filter(campaign=campaign, group=Group.TREATMENT).order_by("pk").last().customer
    )
    ConversionEvent.objects.create(customer=customer, occurred_at=_at("2026-12-20 10:00"), source="manual")

    assert campaign_results(campaign=campaign).converted == 2


def test_a_campaign_without_a_start_or_rows_has_empty_results(db: None) -> None:
    r = campaign_results(campaign=CampaignFactory(starts_at=None))
    assert (r.targeted, r.notified, r.responded, r.converted, r.cost_actual) == (0, 0, 0, 0, Decimal("0.00"))
    assert (r.uplift.difference, r.roi, r.cost_per_contact, r.waves) == (None, None, None, [])


def test_csv_and_xlsx_exports_hold_the_same_figures(campaign: Any) -> None:
    r = campaign_results(campaign=campaign)

    text = results_csv(results=r, rule_labels={"consent": "no consent"})
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    figures = {row[0]: row[1] for row in rows if len(row) == 2}
    assert figures["targeted"] == "17"
    assert figures["excluded by: no consent"] == "2"
    assert figures["excluded by: frequency"] == "1"
    assert figures["uplift"] == "-0.150000"
    assert figures["actual cost"] == "900.00"
    assert ["1", "8", "6", "4", "3", "2", "2", "1", "300.00"] in rows

    sheet = load_workbook(io.BytesIO(results_xlsx(results=r, title="Deposit: cross/sell"))).active
    assert sheet.title == "Deposit crosssell"
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert values["targeted"] == 17
    assert values["actual cost"] == 900.0
    assert values["converted in the control group"] == 1


# --- kept results of large campaigns ---


def test_a_small_campaign_is_counted_on_every_view_and_nothing_is_kept(campaign: Any) -> None:
    results, recount = results_current(campaign=campaign)
    assert (results.targeted, recount) == (17, False)
    assert ResultSnapshot.objects.count() == 0


def test_a_large_campaigns_results_are_kept_shown_and_recounted_when_stale(
    campaign: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("navid.campaigns.results.RESULTS_KEPT_FROM", 10)
    first, recount = results_current(campaign=campaign)
    assert (first.targeted, recount) == (17, False)
    snapshot = ResultSnapshot.objects.get(campaign=campaign)
    assert (snapshot.targeted, snapshot.format) == (17, 1)
    # A new decision row is not counted while the kept results are fresh.
    Decision.objects.create(campaign=campaign, customer=CustomerFactory(), group=Group.CONTROL)
    kept, recount = results_current(campaign=campaign)
    assert (kept.targeted, kept.control, recount) == (17, 4, False)
    # Stale: shown as kept, and exactly one caller is told to queue a recount.
    ResultSnapshot.objects.update(computed_at=timezone.now() - dt.timedelta(minutes=5))
    stale, recount = results_current(campaign=campaign)
    again, recount_again = results_current(campaign=campaign)
    assert (stale.targeted, recount, again.targeted, recount_again) == (17, True, 17, False)
    recount_results(campaign.pk)
    fresh, recount = results_current(campaign=campaign)
    assert (fresh.targeted, fresh.control, recount) == (18, 5, False)


def test_kept_results_name_the_channels_in_the_readers_language(campaign: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("navid.campaigns.results.RESULTS_KEPT_FROM", 10)
    with translation.override("en"):
        results_current(campaign=campaign)
    with translation.override("ru"):
        results, _recount = results_current(campaign=campaign)
    assert [line.label for line in results.channels if line.channel == "email"] == ["Эл. почта"]


def test_a_page_view_of_stale_results_queues_one_recount(campaign: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("navid.campaigns.results.RESULTS_KEPT_FROM", 10)
    results_current(campaign=campaign)
    Decision.objects.create(campaign=campaign, customer=CustomerFactory(), group=Group.CONTROL)
    ResultSnapshot.objects.update(computed_at=timezone.now() - dt.timedelta(minutes=5))
    shown = results_for_reading(campaign=campaign)  # the recount runs eagerly in tests, after the stale read
    assert shown.targeted == 17
    assert ResultSnapshot.objects.get(campaign=campaign).targeted == 18
