from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from navid.accounts.roles import Role
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.crossproduct import cross_product_compute
from navid.offers.models import Offer, ProductRule, ProductSegmentTarget
from navid.offers.tests.factories import HoldingFactory, OfferFactory, StaticSegmentFactory


def _login(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    current = ProductTypeFactory(code="current", name_en="Current account")
    card = ProductTypeFactory(code="card", name_en="Credit card", is_credit=True)
    for n in range(4):
        customer = CustomerFactory(birth_date=dt.date(1990, 1, 1))
        HoldingFactory(customer=customer, product_type=current)
        if n < 2:
            HoldingFactory(customer=customer, product_type=card)
    HoldingFactory(customer=CustomerFactory(), product_type=card)
    OfferFactory(product_type=card, name="Card for savers", value_to_bank=Decimal("8000"))
    cross_product_compute()
    return {"current": current, "card": card, "segment": StaticSegmentFactory(name="Savers")}


def test_catalogue_lists_products_rules_and_offers(analyst: Any, catalogue: dict[str, Any]) -> None:
    ProductRule.objects.create(product_type=catalogue["card"], rules={"age_min": 21})
    page = _login(analyst).get(reverse("offers:catalogue")).content.decode()
    assert "Card for savers" in page
    assert "aged at least 21" in page
    assert 'href="/offers/"' in page  # the navigation link


def test_offer_form_creates_and_shows_errors(analyst: Any, catalogue: dict[str, Any]) -> None:
    client = _login(analyst)
    bad = client.post(
        reverse("offers:offer-create"),
        {
            "name": "Loan",
            "product_type": catalogue["card"].pk,
            "value_to_bank": "5",
            "valid_from": "2026-05-02",
            "valid_until": "2026-05-01",
        },
    )
    assert bad.status_code == 200
    assert "The offer ends before it starts." in bad.content.decode()
    ok = client.post(
        reverse("offers:offer-create"),
        {
            "name": "Loan",
            "product_type": catalogue["card"].pk,
            "value_to_bank": "5",
            "landing_url": "bank.example/offers/loan",
            "is_active": "on",
        },
    )
    assert ok.status_code == 302
    assert Offer.objects.get(name="Loan", value_to_bank=Decimal("5.00")).landing_url == (
        "https://bank.example/offers/loan"
    )


def test_rules_form_saves_a_document(analyst: Any, catalogue: dict[str, Any]) -> None:
    response = _login(analyst).post(
        reverse("offers:rules", args=[catalogue["card"].pk]),
        {"age_min": "21", "requires_any": ["current"], "no_overdrawn": "on"},
    )
    assert response.status_code == 302
    assert ProductRule.objects.get(product_type=catalogue["card"]).rules == {
        "age_min": 21,
        "requires_any": ["current"],
        "no_overdrawn": True,
    }


def test_matrix_grid_saves_cells_and_is_read_only_for_the_director(
    analyst: Any, make_user: Any, catalogue: dict[str, Any]
) -> None:
    segment, card = catalogue["segment"], catalogue["card"]
    client = _login(analyst)
    page = client.get(reverse("offers:matrix")).content.decode()
    assert f'name="cell-{segment.pk}-{card.pk}"' in page
    response = client.post(reverse("offers:matrix"), {f"cell-{segment.pk}-{card.pk}": "1"})
    assert response.status_code == 302
    assert ProductSegmentTarget.objects.get().priority == 1
    bad = client.post(reverse("offers:matrix"), {f"cell-{segment.pk}-{card.pk}": "9"})
    assert bad.status_code == 422
    assert "Priority must be 1, 2 or 3." in bad.content.decode()
    director = _login(make_user(Role.MARKETING_DIRECTOR))
    page = director.get(reverse("offers:matrix")).content.decode()
    assert f"cell-{segment.pk}-" not in page and "High" in page
    assert director.post(reverse("offers:matrix"), {f"cell-{segment.pk}-{card.pk}": ""}).status_code == 404
    assert _login(make_user(Role.AGENT)).get(reverse("offers:matrix")).status_code == 403


def test_heat_map_shows_lift(analyst: Any, catalogue: dict[str, Any]) -> None:
    page = _login(analyst).get(reverse("offers:cross-product")).content.decode()
    # current -> card: 2 of 4 current holders hold a card; 3 of 5 customers do: lift (2/4)/(3/5) = 0.83.
    assert ">0.83<" in page
    assert "Computed" in page


def test_models_page_and_retrain(
    analyst: Any,
    catalogue: dict[str, Any],
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.VAR_DIR = tmp_path
    client = _login(analyst)
    assert "No model has been trained yet." in client.get(reverse("offers:models")).content.decode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("offers:retrain"))
    assert response.status_code == 302
    assert len(callbacks) == 2
    page = client.get(reverse("offers:models")).content.decode()
    assert "Too little data" in page


def test_customer_page_loads_the_next_best_offers(make_user: Any, catalogue: dict[str, Any]) -> None:
    customer = CustomerFactory(birth_date=dt.date(1990, 1, 1))
    HoldingFactory(customer=customer, product_type=catalogue["current"])
    agent = _login(make_user(Role.AGENT))
    page = agent.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert reverse("offers:customer-nbo", args=[customer.pk]) in page
    fragment = agent.get(reverse("offers:customer-nbo", args=[customer.pk])).content.decode()
    assert "Card for savers" in fragment
    assert "propensity 0.50" in fragment
    assert agent.get(reverse("offers:customer-nbo", args=[999999])).status_code == 404
