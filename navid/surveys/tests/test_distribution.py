"""A satisfaction campaign's message carries the survey link ({survey_url}); other campaigns' messages do not."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from navid.campaigns.execution import _context, message_render
from navid.campaigns.models import Goal
from navid.campaigns.tests.factories import CampaignFactory, MessageTemplateFactory
from navid.campaigns.tokens import message_token, public_url
from navid.customers.models import Customer
from navid.surveys.tests.factories import nps_survey, survey_message

pytestmark = pytest.mark.django_db


def test_the_message_of_a_satisfaction_campaign_links_to_its_survey(settings: Any) -> None:
    settings.NAVID_PUBLIC_URL = "https://bank.example"
    survey, _q = nps_survey()
    message = survey_message(survey=survey)
    MessageTemplateFactory(
        campaign=message.campaign, language="en", body="Tell us: {survey_url}", subject="Hi"
    )
    outgoing = message_render(
        context=_context(campaign_id=message.campaign_id, channel="email"),
        message=message,
        customer=Customer.objects.get(pk=message.customer_id),
    )
    assert outgoing is not None
    survey_url = f"https://bank.example/s/{message_token(message_id=message.pk, purpose='survey')}/"
    click = public_url(message_id=message.pk, purpose="click", target=survey_url)
    # Every link of an email goes through the click-through, which lets the survey page of this site through
    assert f"Tell us: {click}" in outgoing.text
    followed = Client().get(click.removeprefix("https://bank.example"))
    assert (followed.status_code, followed["Location"]) == (302, survey_url)


def test_other_campaigns_leave_the_survey_link_empty() -> None:
    survey, _q = nps_survey()
    message = survey_message(survey=survey)
    campaign = CampaignFactory(goal=Goal.CROSS_SELL)
    message.campaign = campaign
    message.idempotency_key = "other"
    message.pk = None
    message.save()
    MessageTemplateFactory(campaign=campaign, language="en", body="Offer [{survey_url}]", subject="Hi")
    outgoing = message_render(
        context=_context(campaign_id=campaign.pk, channel="email"),
        message=message,
        customer=Customer.objects.get(pk=message.customer_id),
    )
    assert outgoing is not None
    assert "Offer []" in outgoing.text
