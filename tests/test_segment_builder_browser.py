"""In real Chromium: an analyst builds a segment by clicking, watches the count, saves, and edits it in Persian
with a Jalali date."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from navid.accounts.roles import Role
from tests.conftest import browser_test

pytestmark = browser_test


def _count_is(page: Any, text: str) -> None:
    page.wait_for_function(
        "text => document.getElementById('preview-count').textContent === text", arg=text, timeout=15_000
    )


def _definition(page: Any) -> Any:
    return json.loads(page.input_value("#id_definition"))


def _add(page: Any, group_path: str, node_type: str) -> None:
    """Open a group's "add" menu and choose a kind of node."""
    menu = "rule-" + group_path.replace(".", "-") + "-add"
    page.click(f"#{menu}")
    page.click(f'#{menu}-menu [data-add="{node_type}"]')


@pytest.mark.django_db(transaction=True)
def test_build_a_segment_by_clicking_then_edit_it_in_persian(live_server: Any, page: Any) -> None:
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import RegionFactory, UserFactory
    from navid.customers.models import Consent, ProductHolding
    from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory

    roles_sync()
    UserFactory(username="analyst", password="pass-word-123", role=Role.MARKETING_ANALYST)
    tehran = RegionFactory(code="tehran", name_en="Tehran", name_fa="تهران")
    moscow = RegionFactory(code="moscow", name_en="Moscow", name_fa="مسکو")
    loan = ProductTypeFactory(code="loan", name_en="Loan", name_fa="وام", is_credit=True)
    # Tehran: a and e without credit, b with a loan, d with a loan but agreeing to SMS offers; c is in Moscow.
    a = CustomerFactory(region=tehran, status="customer", customer_since=dt.date(2024, 5, 1))
    b = CustomerFactory(region=tehran, status="customer")
    CustomerFactory(region=moscow, status="customer")
    d = CustomerFactory(region=tehran, status="customer", customer_since=dt.date(2023, 1, 1))
    CustomerFactory(region=tehran, status="prospect")
    for holder in (b, d):
        ProductHolding.objects.create(customer=holder, product_type=loan, opened_on=dt.date(2024, 1, 1))
    Consent.objects.create(customer=d, channel="sms", purpose="marketing", granted=True, source="branch")

    page.goto(f"{live_server.url}/login/?next=/segments/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/segments/")
    page.click("#new-segment")
    page.wait_for_url(f"{live_server.url}/segments/new/")
    page.fill("#id_name", "Tehran: no credit, or SMS allowed")
    page.wait_for_function("document.getElementById('preview-status').textContent !== ''")

    # "region is one of Tehran"
    _add(page, "root", "field")
    assert page.input_value("#rule-root-children-0-field") == "region"
    assert page.input_value("#rule-root-children-0-operator") == "in"
    page.check('[data-path="root.children.0"] label:has-text("Tehran")')
    _count_is(page, "4")
    assert page.locator("#preview-sample tbody tr").count() == 4

    # a group with "not: holds a credit product" and "has given consent for SMS / marketing"
    _add(page, "root", "group")
    _add(page, "root.children.1", "product")
    page.select_option("#rule-root-children-1-children-0-credit", "true")
    page.check("#rule-root-children-1-children-0-negate")
    _add(page, "root.children.1", "consent")
    assert page.input_value("#rule-root-children-1-children-1-channel") == "sms"
    _count_is(page, "0")  # all of them: nobody in Tehran is both without credit and agreeing to SMS
    page.select_option("#rule-root-children-1-op", "or")
    _count_is(page, "3")
    assert _definition(page)["root"]["children"][1] == {
        "type": "group",
        "op": "or",
        "children": [
            {"type": "product", "has": True, "product_types": [], "credit": True, "negate": True},
            {"type": "consent", "channel": "sms", "purpose": "marketing", "granted": True},
        ],
    }

    # an error of the engine is shown at its node; removing the node brings the count back
    _add(page, "root", "field")
    page.select_option("#rule-root-children-2-field", "age")
    page.fill("#rule-root-children-2-value", "30.5")
    page.wait_for_selector('#rule-root-children-2-errors .invalid-feedback:has-text("whole number")')
    assert page.inner_text("#preview-count") == "—"
    page.click("#rule-root-children-2-remove")
    _count_is(page, "3")

    page.click("#save-segment")
    page.wait_for_url("**/segments/*/")
    assert page.inner_text("#segment-count") == "3"
    assert page.inner_text("#segment-name") == "Tehran: no credit, or SMS allowed"

    # in Persian the same segment reads right to left, and dates are Jalali
    page.select_option("#language-select", "fa")
    page.wait_for_function("document.documentElement.lang === 'fa'")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.inner_text("#segment-count") == "۳"
    page.click("#edit-segment")
    page.wait_for_url("**/edit/")
    assert page.evaluate("getComputedStyle(document.getElementById('rule-builder')).direction") == "rtl"
    _count_is(page, "۳")  # the saved tree is loaded into the editor
    assert page.is_checked("#rule-root-children-1-children-0-negate")

    # the converter agrees with the server's calendar, and amounts are grouped in Persian digits
    checks = page.evaluate(
        """() => [
            NavidJalali.toGregorian(1403, 1, 1), NavidJalali.toGregorian(1403, 12, 30),
            NavidJalali.toGregorian(1402, 12, 29), NavidJalali.toJalali(2025, 3, 21),
            NavidJalali.isValid(1402, 12, 30), NavidLocale('fa').formatNumber('100000'),
            NavidLocale('fa').parseNumber('۱۰۰٬۰۰۰'), NavidLocale('en').formatNumber('1234567.5')]"""
    )
    assert checks == [
        [2024, 3, 20],
        [2025, 3, 20],
        [2024, 3, 19],
        [1404, 1, 1],
        False,
        "۱۰۰٬۰۰۰",
        "100000",
        "1,234,567.5",
    ]

    # "customer since" on or after 1403/01/01, typed in Jalali, stored in ISO Gregorian
    _add(page, "root", "field")
    page.select_option("#rule-root-children-2-field", "customer_since")
    page.select_option("#rule-root-children-2-operator", "gte")
    page.fill("#rule-root-children-2-value", "۱۴۰۳/۰۱/۱۰")
    assert _definition(page)["root"]["children"][2]["value"] == "2024-03-29"
    page.fill("#rule-root-children-2-value", "1403/01/01")
    page.press("#rule-root-children-2-value", "Tab")
    assert _definition(page)["root"]["children"][2] == {
        "type": "field",
        "field": "customer_since",
        "operator": "gte",
        "value": "2024-03-20",
    }
    assert page.input_value("#rule-root-children-2-value") == "۱۴۰۳/۰۱/۰۱"
    assert page.inner_text("#rule-root-children-2-value-gregorian") == "۲۰۲۴-۰۳-۲۰"
    # the picker opens on that Jalali month with the day chosen
    page.click("#rule-root-children-2-value-calendar")
    assert page.inner_text("#rule-root-children-2-value-picker .jalali-picker-month") == "فروردین ۱۴۰۳"
    chosen = page.locator('#rule-root-children-2-value-picker [aria-pressed="true"]')
    assert (chosen.inner_text(), chosen.get_attribute("data-iso")) == ("۱", "2024-03-20")
    page.click('#rule-root-children-2-value-picker [data-iso="2024-03-21"]')
    assert _definition(page)["root"]["children"][2]["value"] == "2024-03-21"
    assert page.input_value("#rule-root-children-2-value") == "۱۴۰۳/۰۱/۰۲"
    _count_is(page, "۱")  # only a became a customer after that day

    page.click("#save-segment")
    page.wait_for_url("**/segments/*/")
    assert page.inner_text("#segment-count") == "۱"
    assert "۱۴۰۳/۰۱/۰۲" in page.inner_text("#rules-in-words")  # 2024-03-21, in the Persian calendar
    assert a.display_name in page.inner_text("#segment-sample")
