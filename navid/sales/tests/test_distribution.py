"""Distribution: rules in order, the three strategies, the fallback, and never unassigned when someone can take it."""

from __future__ import annotations

from typing import Any

import pytest

from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory, RegionFactory
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.sales import services
from navid.sales.models import Lead
from navid.sales.tests.factories import DistributionRuleFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _lead(customer: Any, product: Any = None, ref: str = "") -> Lead:
    return services.lead_create(
        actor=None, customer=customer, product=product, source="manual", source_ref=ref
    )


def test_round_robin_goes_round_the_rules_managers_by_id(make_user: Any) -> None:
    north = RegionFactory(code="north")
    a, b, c = (make_user(Role.RELATIONSHIP_MANAGER) for _ in range(3))
    rule = DistributionRuleFactory(region=north, strategy="round_robin", managers=[a, b, c])
    customer = CustomerFactory(region=north)
    got = [_lead(customer, ref=f"r{n}").assignee for n in range(4)]
    assert got == [a, b, c, a]
    rule.refresh_from_db()
    assert rule.last_assignee == a
    assert Lead.objects.filter(assigned_by_rule=rule).count() == 4


def test_least_loaded_takes_the_manager_with_fewest_open_leads(make_user: Any) -> None:
    a, b = make_user(Role.RELATIONSHIP_MANAGER), make_user(Role.RELATIONSHIP_MANAGER)
    LeadFactory(assignee=a)
    LeadFactory(assignee=a)
    LeadFactory(assignee=b)
    LeadFactory(assignee=b, stage="won")  # closed leads are not workload
    DistributionRuleFactory(strategy="least_loaded", managers=[a, b])
    assert _lead(CustomerFactory()).assignee == b
    assert _lead(CustomerFactory()).assignee == a  # now 2 and 2: the tie goes to the lowest id


def test_the_first_matching_rule_wins_and_criteria_must_all_match(make_user: Any) -> None:
    card = ProductTypeFactory(code="card", name_en="Card")
    branch = BranchFactory()
    cards, russian, anyone = (make_user(Role.RELATIONSHIP_MANAGER) for _ in range(3))
    DistributionRuleFactory(product_type=card, branch=branch, strategy="fixed", managers=[cards])
    DistributionRuleFactory(language="ru", strategy="fixed", managers=[russian])
    DistributionRuleFactory(strategy="fixed", managers=[anyone])
    assert _lead(CustomerFactory(branch=branch, language="ru"), card).assignee == cards
    assert _lead(CustomerFactory(language="ru"), card).assignee == russian  # branch does not match
    assert _lead(CustomerFactory(branch=branch, language="fa")).assignee == anyone  # no product


def test_a_rule_whose_managers_are_inactive_is_passed_over(make_user: Any) -> None:
    gone = make_user(Role.RELATIONSHIP_MANAGER, is_active=False)
    standby = make_user(Role.RELATIONSHIP_MANAGER)
    DistributionRuleFactory(strategy="fixed", managers=[gone])
    DistributionRuleFactory(strategy="round_robin", managers=[standby])
    assert _lead(CustomerFactory()).assignee == standby


def test_fallback_is_the_least_loaded_manager_of_the_customers_branch(make_user: Any) -> None:
    branch, other = BranchFactory(), BranchFactory()
    busy = make_user(Role.RELATIONSHIP_MANAGER, branch=branch)
    free = make_user(Role.RELATIONSHIP_MANAGER, branch=branch)
    elsewhere = make_user(Role.RELATIONSHIP_MANAGER, branch=other)
    LeadFactory(assignee=busy)
    make_user(Role.AGENT, branch=branch)  # not a relationship manager
    assert _lead(CustomerFactory(branch=branch)).assignee == free
    assert elsewhere.leads.count() == 0


def test_fallback_without_branch_managers_is_the_least_loaded_manager_of_the_bank(make_user: Any) -> None:
    busy = make_user(Role.RELATIONSHIP_MANAGER)
    free = make_user(Role.RELATIONSHIP_MANAGER)
    LeadFactory(assignee=busy)
    make_user(Role.RELATIONSHIP_MANAGER, is_active=False)
    assert _lead(CustomerFactory(branch=BranchFactory())).assignee == free


def test_a_lead_never_stays_unassigned_when_an_eligible_manager_exists(make_user: Any) -> None:
    """Given rules that give nobody (no match, inactive managers), the fallback still assigns; only a bank with no
    active relationship manager leaves a lead unassigned, and the periodic task assigns it once one exists."""
    region = RegionFactory(code="south")
    DistributionRuleFactory(region=region, strategy="fixed", managers=[make_user(Role.AGENT)])
    DistributionRuleFactory(strategy="round_robin", managers=[make_user(Role.AGENT, is_active=False)])
    orphan = _lead(CustomerFactory(region=RegionFactory(code="west")))
    assert orphan.assignee is None  # nobody eligible: no matching rule with an active manager, no manager
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    assert _lead(CustomerFactory()).assignee == manager
    assert services.leads_assign_unassigned() == 1
    orphan.refresh_from_db()
    assert orphan.assignee == manager
    assert Lead.objects.filter(assignee__isnull=True).count() == 0
