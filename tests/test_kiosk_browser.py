"""In real Chromium on a tablet-sized screen: the kiosk in Persian, right to left, large touch targets, a whole
application from identification to its number."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import browser_test

pytestmark = browser_test

TABLET = {"width": 1024, "height": 768}


@pytest.mark.django_db(transaction=True)
def test_a_customer_applies_on_the_kiosk_in_persian(live_server: Any, page: Any, tmp_path: Any) -> None:
    from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
    from navid.sales import services
    from navid.sales.models import Application
    from navid.sales.tests.factories import PDF, RequirementFactory

    _device, key = services.kiosk_device_create(actor=None, name="Lobby")
    card = ProductTypeFactory(code="card", name_en="Card", name_fa="کارت اعتباری")
    RequirementFactory(product_type=card)
    customer = CustomerFactory(phone="+989121234567")
    scan = tmp_path / "id.pdf"
    scan.write_bytes(PDF)

    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/sales/kiosk/")
    assert page.locator("h1").inner_text() == "This kiosk is not set up"
    page.goto(f"{live_server.url}/sales/kiosk/setup/")
    page.fill("#key", key)
    page.click("#kiosk-setup button")
    page.wait_for_url(f"{live_server.url}/sales/kiosk/")
    # switch to Persian with the kiosk's own language buttons
    page.click("#kiosk-language button[value=fa]")
    page.wait_for_selector("html[dir=rtl]")
    continue_button = page.locator("#kiosk-identify button")
    box = continue_button.bounding_box()
    assert box is not None and box["height"] >= 48  # a finger-sized target
    assert page.locator("#national_id").bounding_box()["height"] >= 48
    page.fill("#national_id", customer.national_id)
    page.fill("#phone", "09121234567")
    continue_button.click()
    page.wait_for_url(f"{live_server.url}/sales/kiosk/apply/")
    page.click("text=کارت اعتباری")
    page.fill("#v_monthly_income", "۴۵۰۰۰۰۰۰")
    page.set_input_files("#d_id_card", str(scan))
    page.click("#kiosk-application button")
    page.wait_for_url(f"{live_server.url}/sales/kiosk/done/")
    application = Application.objects.get()
    assert (application.channel, application.values["monthly_income"]) == ("kiosk", "45000000")
    reference = page.locator("#kiosk-reference strong").inner_text()
    assert reference.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")) == str(application.pk)
