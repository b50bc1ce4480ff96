"""Demo campaign data: a brand layout and one email campaign submitted for approval, ready to approve and launch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from navid.campaigns.models import Brand, Campaign, CampaignChannel, Goal
from navid.campaigns.plans import CampaignPlan, ChannelPlanData, TemplateData
from navid.campaigns.services import campaign_create, campaign_submit
from navid.offers.models import Offer
from navid.segments.services import segment_create

DEMO_CAMPAIGN = "Deposit offer for Tehran customers"
_TEHRAN = {
    "version": 1,
    "root": {
        "type": "group",
        "op": "and",
        "children": [{"type": "field", "field": "region", "operator": "in", "value": ["tehran"]}],
    },
}
_TEMPLATES = (
    TemplateData(
        CampaignChannel.EMAIL,
        "fa",
        subject="{first_name} گرامی، پیشنهاد ویژه سپرده برای شما",
        body="{full_name} گرامی،\nپیشنهاد ویژه ما برای شما: {offer}.\n"
        "https://bank.example/deposit\nلغو اشتراک: {unsubscribe_url}",
    ),
    TemplateData(
        CampaignChannel.EMAIL,
        "ru",
        subject="{first_name}, специальное предложение по вкладу",
        body="Уважаемый(ая) {full_name}!\nСпециальное предложение для вас: {offer}.\n"
        "https://bank.example/deposit\nОтписаться: {unsubscribe_url}",
    ),
    TemplateData(
        CampaignChannel.EMAIL,
        "en",
        subject="{first_name}, a deposit offer for you",
        body="Dear {full_name},\nour special offer for you: {offer}.\n"
        "https://bank.example/deposit\nUnsubscribe: {unsubscribe_url}",
    ),
)


def campaigns_demo_seed() -> Campaign | None:
    """Create the demo brand, a Tehran segment and an email campaign submitted for approval (once)."""
    found = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if found is not None:
        return found
    users = get_user_model().objects
    maker, analyst = users.filter(username="campaigns").first(), users.filter(username="analyst").first()
    offers = Offer.objects.filter(is_active=True).order_by("pk")
    offer = offers.filter(product_type__code="term-deposit").first() or offers.first()
    if maker is None or analyst is None:
        return None
    brand, _created = Brand.objects.get_or_create(
        name="Navid Bank",
        defaults={
            "sender_name": "Navid Bank",
            "email_from": "offers@bank.example",
            "sms_sender": "NavidBank",
            "header_text": "Navid Bank",
            "footer_text": "Navid Bank, Ferdowsi Square, Tehran",
            "postal_address": "Ferdowsi Square, Tehran",
        },
    )
    segment = segment_create(actor=analyst, name="Tehran customers", definition=_TEHRAN)
    now = timezone.now()
    plan = CampaignPlan(
        name=DEMO_CAMPAIGN,
        goal=Goal.CROSS_SELL,
        description="Offer the term deposit to customers of the Tehran region by email, with a 10% control group.",
        target_segment_ids=(segment.pk,),
        offer_id=offer.pk if offer else None,
        brand_id=brand.pk,
        starts_at=now + dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(days=30),
        response_window_days=30,
        control_percent=Decimal("10"),
        budget_planned=Decimal("50000000"),
        channels=(ChannelPlanData(CampaignChannel.EMAIL, unit_cost=Decimal("500"), rate_per_second=50),),
        templates=_TEMPLATES,
    )
    campaign = campaign_create(actor=maker, plan=plan)
    return campaign_submit(campaign=campaign, actor=maker)
