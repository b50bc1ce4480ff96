"""In real Chromium: a campaign manager plans a campaign and submits it, a director approves it, and the
campaign's page shows the state, right to left in Persian."""

from __future__ import annotations

from typing import Any

import pytest

from navid.accounts.roles import Role
from tests.conftest import browser_test

pytestmark = browser_test


def _log_in(page: Any, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass-word-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}{next_url}")


@pytest.mark.django_db(transaction=True)
def test_plan_submit_approve_and_read_the_page_in_persian(live_server: Any, page: Any) -> None:
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import Campaign
    from navid.campaigns.tests.factories import BrandFactory
    from navid.offers.tests.factories import OfferFactory
    from navid.segments.models import Segment

    roles_sync()
    UserFactory(username="maker", password="pass-word-123", role=Role.CAMPAIGN_MANAGER)
    UserFactory(username="director", password="pass-word-123", role=Role.MARKETING_DIRECTOR)
    target = Segment.objects.create(
        name="Salary customers",
        definition={
            "version": 1,
            "root": {
                "type": "group",
                "op": "and",
                "children": [{"type": "field", "field": "status", "operator": "in", "value": ["customer"]}],
            },
        },
    )
    offer = OfferFactory(name="12-month deposit")
    brand = BrandFactory(name="Navid Bank", header_text="Navid Bank")
    base = live_server.url

    # The campaign manager fills the plan.
    _log_in(page, base, "maker", "/campaigns/")
    page.click("#new-campaign")
    page.wait_for_url(f"{base}/campaigns/new/")
    page.fill("#id_name", "Deposit for salary customers")
    page.select_option("#id_goal", "cross_sell")
    page.select_option("#id_target_segments", str(target.pk))
    page.select_option("#id_offer", str(offer.pk))
    page.select_option("#id_brand", str(brand.pk))
    page.fill("#id_starts_at", "2026-12-01 09:00")
    page.fill("#id_ends_at", "2026-12-31 18:00")
    page.fill("#id_budget_planned", "2000000")
    page.click("#channel-email summary")
    page.check("#id_ch_email_use")
    page.fill("#id_ch_email_planned_cost", "1000000")
    page.fill("#id_tpl_email_en_subject", "An offer for you")
    page.fill("#id_tpl_email_en_body", "Dear {first_name}, open a deposit.")
    page.fill("#id_tpl_email_fa_subject", "پیشنهاد ویژه")
    page.fill("#id_tpl_email_fa_body", "{first_name} گرامی، سپرده ویژه برای شما.")
    # The Persian preview (htmx) reads right to left in the brand layout.
    page.click("#preview-email-fa")
    preview = page.locator("#preview-box-email-fa .message-preview")
    preview.wait_for()
    assert preview.get_attribute("dir") == "rtl"
    assert "مریم گرامی، سپرده ویژه برای شما." in preview.inner_text()
    page.click("#save-campaign")
    page.wait_for_url(f"{base}/campaigns/*/")
    campaign = Campaign.objects.get()
    assert page.get_attribute("#campaign-state", "data-state") == "draft"

    # ... and submits it; the maker has no approve button.
    page.click("#action-submit")
    page.wait_for_selector('#campaign-state[data-state="submitted"]')
    assert page.locator("#action-approve").count() == 0
    page.click("nav form[action='/logout/'] button")

    # The director approves it.
    _log_in(page, base, "director", f"/campaigns/{campaign.pk}/")
    page.fill("#id_note", "Approved for December.")
    page.click("#action-approve")
    page.wait_for_selector('#campaign-state[data-state="approved"]')
    assert "Approved" in page.inner_text("#campaign-state")
    assert "director" in page.inner_text("#plan-approved-by")

    # In Persian the page reads right to left.
    page.select_option("#language-select", "fa")
    page.wait_for_function("document.documentElement.lang === 'fa'")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("#campaign-state", "data-state") == "approved"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    campaign.refresh_from_db()
    assert (campaign.state, campaign.approved_by.username, campaign.review_note) == (
        "approved",
        "director",
        "Approved for December.",
    )
