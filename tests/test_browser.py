"""In real Chromium: log in, switch to Persian, see right-to-left and Jalali dates, find ي by typing ی."""

from __future__ import annotations

from typing import Any

import pytest

from navid.accounts.roles import Role
from tests.conftest import browser_test

pytestmark = browser_test


@pytest.mark.django_db(transaction=True)
def test_persian_rtl_jalali_and_arabic_yeh_search(live_server: Any, page: Any) -> None:
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import UserFactory
    from navid.customers.services import customer_create

    roles_sync()
    UserFactory(username="officer", password="pass-word-123", role=Role.ADMINISTRATOR, is_staff=True)
    # given a customer whose name was typed with the Arabic yeh (ي)
    customer = customer_create(
        actor=None, values={"first_name": "علي", "last_name": "ياسيني", "birth_date": "2024-03-20"}
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/")

    # when the interface is switched to Persian
    page.select_option("#language-select", "fa")
    page.wait_for_function("document.documentElement.lang === 'fa'")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"

    # then a search typed with the Persian yeh (ی) finds the customer
    page.fill("#search", "یاسینی")
    page.press("#search", "Enter")
    page.wait_for_url("**/customers/?q=*")
    link = page.locator("#customer-table a", has_text="یاسینی")
    assert link.count() == 1
    link.click()
    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
    # and the birth date shows in the Jalali calendar with Persian digits
    assert page.inner_text("#birth-date") == "۱۴۰۳/۰۱/۰۱"
    assert page.inner_text("#customer-name") == "علی یاسینی"
