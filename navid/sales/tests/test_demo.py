"""The demo seed: requirements, rules, a kiosk, leads and applications, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from navid.accounts.roles import Role
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.sales.demo import sales_demo_seed
from navid.sales.models import Application, DistributionRule, Lead, ProductRequirement

pytestmark = pytest.mark.django_db


def test_the_demo_seed_creates_sales_data_once(make_user: Any) -> None:
    make_user(Role.RELATIONSHIP_MANAGER)
    make_user(Role.ADMINISTRATOR)
    for code in ("loan", "credit-card", "savings-deposit"):
        ProductTypeFactory(code=code, name_en=code)
    for _ in range(12):
        CustomerFactory(birth_date=dt.date(1985, 1, 1))
    first = sales_demo_seed(leads=5, applications=3)
    assert (first.leads, first.applications, first.rules) == (5, 3, 2)
    assert first.kiosk_key.startswith("kiosk_")
    assert ProductRequirement.objects.count() == 3
    assert Lead.objects.filter(assignee__isnull=True).count() == 0
    second = sales_demo_seed(leads=5, applications=3)
    assert (second.leads, second.applications, second.kiosk_key) == (0, 0, "")
    assert (Lead.objects.count(), Application.objects.count(), DistributionRule.objects.count()) == (8, 3, 2)
