from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from navid.campaigns.attribution import attribution_counts, attribution_recompute, attribution_window
from navid.campaigns.models import Campaign, CampaignOutcome, Goal, Group, Wave
from navid.campaigns.tests.factories import CampaignFactory
from navid.campaigns.tests.responses_helpers import decisions_make, fast_passwords
from navid.core.errors import Conflict
from navid.customers.models import ConversionEvent, Customer, ProductHolding, ProductType
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.interactions.models import Interaction

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]

START = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)  # 09:30 in Tehran: the window's first day is 1 October


def _holding(customer: Customer, product: ProductType, opened_on: date) -> None:
    ProductHolding.objects.create(customer=customer, product_type=product, opened_on=opened_on)


def _interaction(
    customer: Customer, campaign: Campaign, at: datetime, outcome: str, kind: str = "web_visit"
) -> None:
    Interaction.objects.create(
        customer=customer,
        kind=kind,
        channel="web",
        direction="inbound",
        occurred_at=at,
        outcome=outcome,
        campaign_id=campaign.pk,
        source="test",
    )


def _outcomes(campaign: Campaign) -> dict[int, tuple[str, datetime | None, date | None, int | None]]:
    return {
        row.customer_id: (row.group, row.responded_at, row.converted_on, row.product_type_id)
        for row in CampaignOutcome.objects.filter(campaign=campaign)
    }


def test_conversions_and_responses_in_the_window_count_alike_for_treatment_and_control() -> None:
    deposit = ProductTypeFactory(code="deposit")
    card = ProductTypeFactory(code="card", name_en="Card", name_fa="کارت", name_ru="Карта")
    campaign = CampaignFactory(starts_at=START, response_window_days=30, offer__product_type=deposit)
    t_first_day, t_last_day, t_too_late, t_before, t_twice, t_clicked, t_opened_only = (
        CustomerFactory() for _ in range(7)
    )
    c_converted, c_other_product, excluded = CustomerFactory(), CustomerFactory(), CustomerFactory()
    groups = {
        c: Group.TREATMENT
        for c in (t_first_day, t_last_day, t_too_late, t_before, t_twice, t_clicked, t_opened_only)
    }
    groups |= {c_converted: Group.CONTROL, c_other_product: Group.CONTROL, excluded: Group.EXCLUDED}
    decisions_make(campaign=campaign, groups=groups)
    _holding(t_first_day, deposit, date(2026, 10, 1))
    _holding(t_last_day, deposit, date(2026, 10, 31))
    _holding(t_too_late, deposit, date(2026, 11, 1))
    _holding(t_before, deposit, date(2026, 9, 30))
    _holding(t_twice, deposit, date(2026, 10, 20))
    _holding(t_twice, deposit, date(2026, 10, 9))
    _holding(c_converted, deposit, date(2026, 10, 12))
    _holding(c_other_product, card, date(2026, 10, 12))
    _holding(excluded, deposit, date(2026, 10, 12))
    clicked_at = START + timedelta(days=2)
    _interaction(t_clicked, campaign, clicked_at, "interested")
    _interaction(t_clicked, campaign, START + timedelta(days=3), "interested")
    _interaction(t_opened_only, campaign, clicked_at, "completed", kind="email")  # an open is a response
    _interaction(t_before, campaign, clicked_at, "not_interested", kind="request")  # an unsubscribe is not
    _interaction(t_twice, campaign, START + timedelta(days=30, seconds=1), "interested")  # after the window
    _interaction(t_twice, campaign, START - timedelta(seconds=1), "interested")  # before it

    assert attribution_recompute(campaign_id=campaign.pk) == 4

    assert _outcomes(campaign) == {
        t_first_day.pk: ("treatment", None, date(2026, 10, 1), deposit.pk),
        t_last_day.pk: ("treatment", None, date(2026, 10, 31), deposit.pk),
        t_twice.pk: ("treatment", None, date(2026, 10, 9), deposit.pk),
        t_clicked.pk: ("treatment", clicked_at, None, None),
        t_opened_only.pk: ("treatment", clicked_at, None, None),
        c_converted.pk: ("control", None, date(2026, 10, 12), deposit.pk),
    }
    assert attribution_counts(campaign_id=campaign.pk) == {
        "treatment": {"size": 7, "responded": 5, "converted": 3},
        "control": {"size": 2, "responded": 1, "converted": 1},
    }


def test_a_recompute_replaces_the_rows_and_follows_new_data() -> None:
    deposit = ProductTypeFactory(code="deposit")
    campaign = CampaignFactory(starts_at=START, offer__product_type=deposit)
    customer = CustomerFactory()
    decisions_make(campaign=campaign, groups={customer: Group.TREATMENT})

    assert attribution_recompute(campaign_id=campaign.pk) == 0
    _holding(customer, deposit, date(2026, 10, 5))
    assert attribution_recompute(campaign_id=campaign.pk) == 1
    assert attribution_recompute(campaign_id=campaign.pk) == 1
    assert CampaignOutcome.objects.count() == 1


def test_the_campaigns_own_conversion_product_wins_over_the_offers() -> None:
    deposit = ProductTypeFactory(code="deposit")
    card = ProductTypeFactory(code="card", name_en="Card", name_fa="کارت", name_ru="Карта")
    campaign = CampaignFactory(starts_at=START, offer__product_type=deposit, conversion_product_type=card)
    with_card, with_deposit = CustomerFactory(), CustomerFactory()
    decisions_make(campaign=campaign, groups={with_card: Group.TREATMENT, with_deposit: Group.TREATMENT})
    _holding(with_card, card, date(2026, 10, 2))
    _holding(with_deposit, deposit, date(2026, 10, 2))

    assert attribution_recompute(campaign_id=campaign.pk) == 1
    assert list(CampaignOutcome.objects.values_list("customer_id", "product_type_id")) == [
        (with_card.pk, card.pk)
    ]


def test_the_window_closes_a_response_window_after_the_last_planned_wave() -> None:
    deposit = ProductTypeFactory(code="deposit")
    campaign = CampaignFactory(
        starts_at=START,
        waves_max=3,
        repeat_every_days=7,
        response_window_days=30,
        offer__product_type=deposit,
    )
    inside, outside = CustomerFactory(), CustomerFactory()
    decisions_make(campaign=campaign, groups={inside: Group.CONTROL, outside: Group.CONTROL})
    _holding(inside, deposit, date(2026, 11, 14))  # 1 October + 14 + 30 days
    _holding(outside, deposit, date(2026, 11, 15))

    assert attribution_window(campaign=campaign) == (START, START + timedelta(days=44))
    assert attribution_recompute(campaign_id=campaign.pk) == 1
    assert list(CampaignOutcome.objects.values_list("customer_id", flat=True)) == [inside.pk]


def test_an_acquisition_counts_a_prospect_who_became_a_customer_in_the_window() -> None:
    campaign = CampaignFactory(starts_at=START, goal=Goal.ACQUISITION, offer=None)
    became, too_late = CustomerFactory(), CustomerFactory()
    decisions_make(campaign=campaign, groups={became: Group.TREATMENT, too_late: Group.CONTROL})
    ConversionEvent.objects.create(
        customer=became, occurred_at=datetime(2026, 10, 3, 21, 0, tzinfo=UTC), source="api"
    )
    ConversionEvent.objects.create(customer=too_late, occurred_at=START + timedelta(days=31), source="api")

    assert attribution_recompute(campaign_id=campaign.pk) == 1
    # 21:00 UTC is 00:30 the next day in Tehran: the day is the bank's.
    assert _outcomes(campaign) == {became.pk: ("treatment", None, date(2026, 10, 4), None)}


def test_without_a_start_the_contact_list_or_first_wave_opens_the_window_and_without_any_it_is_refused() -> (
    None
):
    campaign = CampaignFactory(starts_at=None)
    with pytest.raises(Conflict):
        attribution_recompute(campaign_id=campaign.pk)
    Wave.objects.create(campaign=campaign, number=2, scheduled_at=START + timedelta(days=7))
    Wave.objects.create(campaign=campaign, number=1, scheduled_at=START)
    assert attribution_window(campaign=campaign) == (START, START + timedelta(days=30))
    campaign.materialised_at = START - timedelta(hours=2)
    assert attribution_window(campaign=campaign)[0] == START - timedelta(hours=2)


def test_a_campaign_with_no_product_to_convert_to_is_refused() -> None:
    campaign = CampaignFactory(starts_at=START, offer=None)
    with pytest.raises(Conflict):
        attribution_recompute(campaign_id=campaign.pk)
