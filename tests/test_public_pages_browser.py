"""The public RSVP page in real Chromium: a phone-sized screen, Persian, JavaScript switched off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from navid.campaigns.models import Event, Invitation
from navid.campaigns.tests.factories import BrandFactory, CampaignFactory
from navid.campaigns.tests.responses_helpers import fast_passwords, message_make
from navid.campaigns.tokens import message_token
from tests.conftest import browser_test

pytestmark = [
    *browser_test,
    pytest.mark.django_db(transaction=True),
]
__all__ = ["fast_passwords"]


def test_a_guest_answers_yes_on_a_phone_without_javascript_and_gets_the_qr_code(
    live_server: Any, page: Any, tmp_path: Any
) -> None:
    campaign = CampaignFactory(brand=BrandFactory(header_text="بانک نوید", primary_color="#0b5394"))
    Event.objects.create(
        campaign=campaign,
        title="شب سرمایه‌گذاران",
        place="تهران، خیابان ولیعصر، پلاک ۱۲",
        starts_at=timezone.now() + timedelta(days=3),
    )
    message = message_make(campaign=campaign, channel="event", language="fa")
    token = message_token(message_id=message.pk, purpose="rsvp")
    context = page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 740}, locale="fa-IR"
    )
    phone = context.new_page()

    phone.goto(f"{live_server.url}/r/rsvp/{token}/")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert phone.locator("h1").inner_text() == "شب سرمایه‌گذاران"
    yes = phone.locator('button[name="answer"][value="yes"]')
    box = yes.bounding_box()
    assert box["width"] > 300 and box["height"] >= 48  # a full-width button a thumb can hit
    yes.click()

    phone.wait_for_selector("svg")
    assert phone.locator("figure svg").count() == 1
    assert Invitation.objects.get().rsvp == "yes"
    phone.screenshot(path=str(tmp_path / "rsvp.png"), full_page=True)
    context.close()
