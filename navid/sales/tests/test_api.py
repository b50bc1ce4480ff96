"""The applications API: idempotent submission, clear refusals, reading one, adding a document; leads."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.tests.factories import OfferFactory
from navid.sales.models import Application, Lead
from navid.sales.tests.factories import PDF, PNG, RequirementFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


@pytest.fixture
def loan(db: None) -> Any:
    product = ProductTypeFactory(code="loan", name_en="Loan")
    RequirementFactory(product_type=product)
    OfferFactory(product_type=product, value_to_bank=Decimal("100"))
    return product


def _body(customer: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "customer_id": customer.pk,
        "product": "loan",
        "values": {"monthly_income": "5000"},
        "documents": [
            {"kind": "id_card", "filename": "id.pdf", "content_base64": base64.b64encode(PDF).decode()}
        ],
    }
    return body | extra


def test_the_same_idempotency_key_returns_the_same_application(make_user: Any, loan: Any) -> None:
    client = _client(make_user(Role.AGENT))
    customer = CustomerFactory()
    first = client.post(
        "/api/v1/applications",
        _body(customer),
        content_type="application/json",
        headers={"Idempotency-Key": "abc"},
    )
    assert first.status_code == 201
    data = first.json()
    assert (data["status"], data["channel"], data["created"], data["values"]) == (
        "submitted",
        "api",
        True,
        {"monthly_income": "5000"},
    )
    assert data["next_step"] == "Check the answers and documents, then start the review."
    assert [(d["kind"], d["filename"], d["size"]) for d in data["documents"]] == [
        ("id_card", "id.pdf", len(PDF))
    ]
    second = client.post(
        "/api/v1/applications",
        _body(customer),
        content_type="application/json",
        headers={"Idempotency-Key": "abc"},
    )
    assert second.status_code == 200
    assert (second.json()["id"], second.json()["created"]) == (data["id"], False)
    assert (Application.objects.count(), Lead.objects.count()) == (1, 1)


def test_missing_documents_ineligible_and_unknown_product_get_422(make_user: Any, loan: Any) -> None:
    client = _client(make_user(Role.AGENT))
    customer = CustomerFactory()
    response = client.post(
        "/api/v1/applications", _body(customer, documents=[], values={}), content_type="application/json"
    )
    assert response.status_code == 422
    assert {d["field"]: d["msg"] for d in response.json()["detail"]} == {
        "values.monthly_income": "Monthly income is required for this product.",
        "documents.id_card": "ID card is required for this product.",
    }
    response = client.post(
        "/api/v1/applications", _body(customer, product="yacht"), content_type="application/json"
    )
    assert response.json()["detail"][0]["field"] == "product"
    bad = _body(customer)
    bad["documents"][0]["content_base64"] = "***"
    response = client.post("/api/v1/applications", bad, content_type="application/json")
    assert response.json()["detail"][0] == {
        "loc": ["body", "documents.0"],
        "field": "documents.0",
        "msg": "id.pdf: not valid base64",
        "type": "value_error",
    }
    assert Application.objects.count() == 0


def test_scope_and_permission(make_user: Any, loan: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    other_customer = CustomerFactory()
    response = _client(manager).post(
        "/api/v1/applications", _body(other_customer), content_type="application/json"
    )
    assert response.status_code == 404
    response = _client(make_user(Role.MARKETING_ANALYST)).post(
        "/api/v1/applications", _body(other_customer), content_type="application/json"
    )
    assert response.status_code == 403


def test_get_an_application_and_add_a_document(make_user: Any, loan: Any) -> None:
    client = _client(make_user(Role.BRANCH_OFFICER))
    agent = _client(make_user(Role.AGENT))
    created = agent.post(
        "/api/v1/applications", _body(CustomerFactory()), content_type="application/json"
    ).json()
    upload = SimpleUploadedFile("back.png", PNG, content_type="image/png")
    response = agent.post(
        f"/api/v1/applications/{created['id']}/documents", {"kind": "id_card", "file": upload}
    )
    assert response.status_code == 201
    assert [(d["kind"], d["content_type"]) for d in response.json()] == [("id_card", "image/png")]
    wrong = SimpleUploadedFile("virus.exe", b"MZ")
    response = agent.post(
        f"/api/v1/applications/{created['id']}/documents", {"kind": "id_card", "file": wrong}
    )
    assert response.status_code == 422
    read = client.get(f"/api/v1/applications/{created['id']}")
    assert read.status_code == 404  # the officer has no branch, so sees no customer
    read = agent.get(f"/api/v1/applications/{created['id']}")
    assert len(read.json()["documents"]) == 2


def test_create_a_lead_once_per_source_reference(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER, username="ana")
    client = _client(make_user(Role.AGENT))
    customer = CustomerFactory()
    body = {"customer_id": customer.pk, "source": "call_interested", "source_ref": "call:1"}
    first = client.post("/api/v1/leads", body, content_type="application/json")
    second = client.post("/api/v1/leads", body, content_type="application/json")
    assert first.status_code == 201
    assert (first.json()["assignee"], first.json()["stage"]) == ("ana", "new")
    assert second.json()["id"] == first.json()["id"]
    assert manager.leads.count() == 1
