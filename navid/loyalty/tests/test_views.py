"""The loyalty pages: rules and tiers by role, the statement with the index's parts, redemption."""

from __future__ import annotations

from typing import Any

from django.test import Client

from navid.accounts.roles import Role
from navid.customers.tests.factories import CustomerFactory
from navid.loyalty.models import EarnRule, PointsEntry, Tier
from navid.loyalty.tests.factories import PointsEntryFactory, TierFactory
from navid.offers.tests.factories import OfferFactory


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_campaign_manager_creates_a_rule_and_a_tier_with_offers(make_user: Any) -> None:
    client = _login(make_user(Role.CAMPAIGN_MANAGER))
    offer = OfferFactory(name="Gold card")
    response = client.post(
        "/loyalty/rules/new/",
        {
            "kind": "transaction",
            "points": "2",
            "amount_unit": "1000000",
            "validity_months": "24",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule = EarnRule.objects.get()
    assert (rule.kind, rule.points, rule.amount_unit, rule.validity_months) == ("transaction", 2, 1000000, 24)
    response = client.post(
        "/loyalty/tiers/new/", {"code": "gold", "name_en": "Gold", "threshold": "5000", "offers": [offer.pk]}
    )
    assert response.status_code == 302
    assert list(Tier.objects.get(code="gold").offers.all()) == [offer]
    page = client.get("/loyalty/").content.decode()
    assert "Gold card" in page and 'data-tier="gold"' in page


def test_a_rule_with_zero_points_is_refused_on_the_page(make_user: Any) -> None:
    client = _login(make_user(Role.MARKETING_DIRECTOR))
    response = client.post("/loyalty/rules/new/", {"kind": "manual", "points": "0", "is_active": "on"})
    assert response.status_code == 200
    assert "Enter a whole number of at least 1." in response.content.decode()
    assert EarnRule.objects.count() == 0


def test_relationship_manager_reads_but_does_not_edit_rules(make_user: Any) -> None:
    client = _login(make_user(Role.RELATIONSHIP_MANAGER))
    assert client.get("/loyalty/").status_code == 200
    assert client.get("/loyalty/rules/new/").status_code == 403


def test_statement_shows_balance_tier_and_the_index_parts_and_redeems(make_user: Any) -> None:
    officer = make_user(Role.ADMINISTRATOR)
    customer = CustomerFactory(status="customer")
    TierFactory(code="silver", name_en="Silver", threshold=100)
    PointsEntryFactory(customer=customer, points=300, occurred_at=customer.created_at)
    client = _login(officer)
    page = client.get(f"/loyalty/customers/{customer.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert '<span id="points-balance">300</span>' in page
    assert '<span id="points-tier">Silver</span>' in page
    assert 'data-part="tenure"' in page and 'id="loyalty-index"' in page
    response = client.post(
        f"/loyalty/customers/{customer.pk}/redeem/", {"points": "1000", "idempotency_key": "k1", "note": ""}
    )
    assert "The balance is 300 points: 1000 cannot be redeemed." in response.content.decode()
    response = client.post(
        f"/loyalty/customers/{customer.pk}/redeem/",
        {"points": "120", "idempotency_key": "k1", "note": "cinema"},
    )
    assert response.status_code == 302
    assert sorted(PointsEntry.objects.filter(customer=customer).values_list("points", flat=True)) == [
        -120,
        300,
    ]
    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f'hx-get="/loyalty/customers/{customer.pk}/"' in detail


def test_a_customer_outside_the_scope_is_not_found(make_user: Any) -> None:
    customer = CustomerFactory()
    client = _login(make_user(Role.RELATIONSHIP_MANAGER))
    assert client.get(f"/loyalty/customers/{customer.pk}/").status_code == 404
    assert client.post(f"/loyalty/customers/{customer.pk}/redeem/", {"points": "1"}).status_code == 404
