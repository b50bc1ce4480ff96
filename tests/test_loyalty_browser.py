"""The segment builder offers the loyalty conditions and edits their settings as JSON (Chromium)."""

from __future__ import annotations

from typing import Any

import pytest

from navid.accounts.roles import Role
from tests.conftest import browser_test

pytestmark = browser_test


def _count_is(page: Any, text: str) -> None:
    page.wait_for_function(
        "text => document.getElementById('preview-count').textContent === text", arg=text, timeout=15_000
    )


@pytest.mark.django_db(transaction=True)
def test_a_points_condition_is_added_from_the_menu_and_edited(live_server: Any, page: Any) -> None:
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import UserFactory
    from navid.customers.tests.factories import CustomerFactory
    from navid.loyalty.tests.factories import PointsEntryFactory

    roles_sync()
    UserFactory(username="analyst", password="pass-word-123", role=Role.MARKETING_ANALYST)
    for points in (300, 800, 1500):
        PointsEntryFactory(customer=CustomerFactory(status="customer"), points=points)
    CustomerFactory(status="customer")  # no points: balance 0

    page.goto(f"{live_server.url}/login/?next=/segments/new/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/segments/new/")
    page.wait_for_function("document.getElementById('preview-status').textContent !== ''")
    page.click("#rule-root-add")
    page.click('#rule-root-add-menu [data-add="loyalty_points"]')
    _count_is(page, "1")  # the example: balance at least 1,000
    page.fill("#rule-root-children-0-json", '{"test": {"operator": "gte", "value": 500}}')
    _count_is(page, "2")
    page.fill(
        "#rule-root-children-0-json", '{"test": '
    )  # not JSON yet: marked, the tree keeps the last good one
    assert "is-invalid" in (page.get_attribute("#rule-root-children-0-json", "class") or "")
    page.check("#rule-root-children-0-negate")
    _count_is(page, "2")
