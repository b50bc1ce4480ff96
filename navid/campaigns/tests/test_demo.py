import pytest

from navid.accounts.demo import demo_users_ensure
from navid.campaigns.demo import DEMO_CAMPAIGN, campaigns_demo_seed
from navid.campaigns.models import Campaign, State
from navid.customers.demo import reference_lists_ensure
from navid.offers.demo import offers_demo_seed

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_waits_for_approval_once() -> None:
    reference_lists_ensure()
    demo_users_ensure()
    offers_demo_seed(train=False)

    campaign = campaigns_demo_seed()
    again = campaigns_demo_seed()

    assert campaign is not None and again is not None and again.pk == campaign.pk
    assert Campaign.objects.filter(name=DEMO_CAMPAIGN).count() == 1
    assert campaign.state == State.SUBMITTED
    assert campaign.owner.username == "campaigns"
    assert sorted(campaign.templates.values_list("language", flat=True)) == ["en", "fa", "ru"]
    assert campaign.offer is not None
