from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.crossproduct import cross_product_compute
from navid.offers.tests.factories import (
    HoldingFactory,
    OfferFactory,
    StaticMemberFactory,
    StaticSegmentFactory,
)


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


@pytest.fixture
def bank(db: None) -> dict[str, Any]:
    current = ProductTypeFactory(code="current", name_en="Current account")
    card = ProductTypeFactory(code="card", name_en="Credit card", is_credit=True)
    people = [CustomerFactory(birth_date=dt.date(1990, 1, 1)) for _ in range(4)]
    for n, customer in enumerate(people):
        HoldingFactory(customer=customer, product_type=current)
        if n < 2:
            HoldingFactory(customer=customer, product_type=card)
    OfferFactory(
        product_type=card,
        name="Card",
        value_to_bank=Decimal("1000"),
        landing_url="https://bank.example/offers/card",
    )
    cross_product_compute()
    segment = StaticSegmentFactory()
    for customer in people:
        StaticMemberFactory(segment=segment, customer=customer)
    return {"people": people, "segment": segment}


def test_customer_next_best_offers(make_user: Any, bank: dict[str, Any]) -> None:
    client = _client(make_user(Role.AGENT))
    customer = bank["people"][3]
    response = client.get(f"/api/v1/customers/{customer.pk}/next-best-offers")
    assert response.status_code == 200
    assert response.json() == [
        {
            "customer_id": customer.pk,
            "product": "card",
            "product_name": "Credit card",
            "offer_id": response.json()[0]["offer_id"],
            "offer_name": "Card",
            "propensity": 0.5,
            "value_to_bank": "1000.00",
            "expected_value": "500.00",
            "reasons": [
                "no model yet: propensity 0.50 is the share of holders of Current account who also hold it"
            ],
        }
    ]
    assert client.get(f"/api/v1/customers/{bank['people'][0].pk}/next-best-offers").json() == []
    assert client.get("/api/v1/customers/999999/next-best-offers").status_code == 404
    assert client.get(f"/api/v1/customers/{customer.pk}/next-best-offers?limit=0").status_code == 422


def test_segment_next_best_offers(make_user: Any, bank: dict[str, Any]) -> None:
    analyst = _client(make_user(Role.MARKETING_ANALYST))
    response = analyst.get(f"/api/v1/segments/{bank['segment'].pk}/next-best-offers?limit=1")
    assert response.status_code == 200
    assert [(r["customer_id"], r["expected_value"]) for r in response.json()] == [
        (bank["people"][2].pk, "500.00")
    ]
    assert analyst.get("/api/v1/segments/999999/next-best-offers").status_code == 404
    # An agent reads a customer's offers but not segments.
    agent = _client(make_user(Role.AGENT))
    assert agent.get(f"/api/v1/segments/{bank['segment'].pk}/next-best-offers").status_code == 403
    first = agent.get("/api/v1/offers").json()[0]
    assert (first["name"], first["landing_url"]) == ("Card", "https://bank.example/offers/card")
