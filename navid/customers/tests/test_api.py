"""The REST API: auth, validation answers, scoping, every verb on customers, imports and lists."""

import json
import re
from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.accounts.tests.factories import BranchFactory
from navid.customers.models import Customer
from navid.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


def test_missing_or_wrong_key_gets_401(admin_user: Any) -> None:
    assert Client().get("/api/v1/customers").status_code == 401
    wrong = Client(headers={"Authorization": "Bearer nv_deadbeef_nope"})
    assert wrong.get("/api/v1/customers").status_code == 401


def test_openapi_and_docs_are_served_locally(admin_user: Any) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/customers" in spec["paths"]
    assert spec["components"]["securitySchemes"]["BearerKey"]["scheme"] == "bearer"
    client = Client()
    client.force_login(admin_user)
    page = client.get("/api/v1/docs").content.decode()
    # every script and style comes from this server (a random CSRF token may contain the letters "cdn")
    assets = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert assets and all(a.startswith("/static/") for a in assets), assets


def test_create_get_update_delete_restore(admin_user: Any) -> None:
    client = _client(admin_user)
    created = client.post(
        "/api/v1/customers",
        {
            "kind": "person",
            "first_name": "علي",
            "last_name": "Karimi",
            "national_id": "0012345679",
            "phone": "09121234567",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["first_name"], body["phone"], body["status"]) == ("علی", "+989121234567", "prospect")
    pk = body["id"]
    assert client.get(f"/api/v1/customers/{pk}").json()["national_id"] == "0012345679"
    updated = client.patch(f"/api/v1/customers/{pk}", {"status": "customer"}, content_type="application/json")
    assert updated.json()["status"] == "customer"
    assert client.delete(f"/api/v1/customers/{pk}").status_code == 204
    assert client.get(f"/api/v1/customers/{pk}").status_code == 404
    assert [c["id"] for c in client.get("/api/v1/customers/trash").json()] == [pk]
    assert client.post(f"/api/v1/customers/{pk}/restore").json()["deleted_at"] is None


def test_invalid_input_gets_422_with_field_and_reason(admin_user: Any) -> None:
    response = _client(admin_user).post(
        "/api/v1/customers", {"last_name": "X", "national_id": "123"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "national_id"],
            "field": "national_id",
            "msg": "is not a valid national ID (Iranian national code, legal-entity ID or Russian INN)",
            "type": "value_error",
        }
    ]
    typed = _client(admin_user).post(
        "/api/v1/customers", {"birth_date": "yesterday"}, content_type="application/json"
    )
    assert typed.status_code == 422
    assert typed.json()["detail"][0]["loc"][-1] == "birth_date"


def test_another_branchs_customer_is_404(make_user: Any) -> None:
    mine, theirs = BranchFactory(), BranchFactory()
    officer = make_user(Role.BRANCH_OFFICER, branch=mine)
    other = CustomerFactory(branch=theirs)
    client = _client(officer)
    assert client.get(f"/api/v1/customers/{other.pk}").status_code == 404
    assert (
        client.patch(f"/api/v1/customers/{other.pk}", {}, content_type="application/json").status_code == 404
    )
    assert client.get("/api/v1/customers").json()["count"] == 0


def test_agent_sees_masked_national_id_and_cannot_edit(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    customer = CustomerFactory(national_id="0012345679")
    client = _client(agent)
    assert client.get(f"/api/v1/customers/{customer.pk}").json()["national_id"] == "•••••••679"
    assert (
        client.patch(f"/api/v1/customers/{customer.pk}", {}, content_type="application/json").status_code
        == 403
    )


def test_list_paginates_and_filters(analyst: Any) -> None:
    CustomerFactory.create_batch(3, status="customer")
    CustomerFactory(status="prospect")
    page = _client(analyst).get("/api/v1/customers?status=customer&page_size=2").json()
    assert (page["count"], len(page["results"])) == (3, 2)
    found = _client(analyst).get("/api/v1/customers/search", {"q": "رضایی"}).json()
    assert len(found) == 4


def test_import_job_runs_and_reports(
    admin_user: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(admin_user)
    upload = tmp_path / "c.csv"
    upload.write_bytes(b"Family,national_id\nKarimi,0012345679\nBad,123\n")
    with upload.open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports",
            {
                "file": handle,
                "skip_invalid": "true",
                "mapping": json.dumps({"Family": "last_name", "national_id": "national_id"}),
            },
        )
    assert response.status_code == 202, response.content
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert (job["state"], job["created_count"], job["rejected_count"], job["percent"]) == (
        "succeeded",
        1,
        1,
        100,
    )
    assert job["errors"] == [
        {
            "row": 3,
            "column": "national_id",
            "reason": "is not a valid national ID (Iranian national code, legal-entity ID or Russian INN)",
        }
    ]
    assert Customer.objects.get().last_name == "Karimi"


def test_bad_mapping_is_422(admin_user: Any, tmp_path: Any) -> None:
    upload = tmp_path / "c.csv"
    upload.write_bytes(b"a\n")
    with upload.open("rb") as handle:
        response = _client(admin_user).post("/api/v1/imports", {"file": handle, "mapping": "{oops"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "mapping"


def test_lists(admin_user: Any) -> None:
    BranchFactory(code="vanak")
    assert [b["code"] for b in _client(admin_user).get("/api/v1/lists/branches").json()] == ["vanak"]
    assert _client(admin_user).get("/api/v1/lists/nope").status_code == 422


def test_consent_via_api(admin_user: Any) -> None:
    customer = CustomerFactory()
    client = _client(admin_user)
    ok = client.post(
        f"/api/v1/customers/{customer.pk}/consents",
        {"channel": "sms", "purpose": "marketing", "granted": False, "source": "call centre"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["granted"] is False
    bad = client.post(
        f"/api/v1/customers/{customer.pk}/consents",
        {"channel": "fax", "purpose": "marketing", "granted": True, "source": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 422
