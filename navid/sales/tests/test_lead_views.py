"""Pages of leads, applications, distribution rules and the dashboard: scope, hints, moves, forms, export."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.sales.models import Application, DistributionRule, Lead
from navid.sales.tests.factories import PDF, LeadFactory, RequirementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def test_my_leads_by_stage_with_hints_and_overdue(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    late = LeadFactory(assignee=manager, stage="contacted")
    LeadFactory(stage="new")  # someone else's
    page = _login(manager).get("/sales/leads/")
    assert page.status_code == 200
    columns = {c.stage: c for c in page.context["columns"]}
    assert [lead.pk for lead in columns["contacted"].leads] == [late.pk]
    assert (columns["contacted"].total, columns["contacted"].overdue, columns["new"].total) == (1, 1, 0)
    assert "Agree a meeting at the branch" in page.content.decode()


def test_a_manager_moves_a_lead_and_a_director_reassigns_it(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    other = make_user(Role.RELATIONSHIP_MANAGER)
    lead = LeadFactory(assignee=manager, customer=CustomerFactory(relationship_manager=manager))
    client = _login(manager)
    assert client.post(f"/sales/leads/{lead.pk}/move/", {"stage": "contacted"}).status_code == 302
    lead.refresh_from_db()
    assert lead.stage == "contacted"
    assert client.post(f"/sales/leads/{lead.pk}/reassign/", {"assignee": other.pk}).status_code == 403
    director = _login(make_user(Role.MARKETING_DIRECTOR))
    assert director.post(f"/sales/leads/{lead.pk}/reassign/", {"assignee": other.pk}).status_code == 302
    lead.refresh_from_db()
    assert lead.assignee == other
    page = director.get(f"/sales/leads/{lead.pk}/")
    assert page.context["can_reassign"] is True and page.context["next_stages"] == []
    assert _login(make_user(Role.RELATIONSHIP_MANAGER)).get(f"/sales/leads/{lead.pk}/").status_code == 404


def test_a_lead_entered_by_hand(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    customer = CustomerFactory()
    response = _login(agent).post(
        f"/sales/leads/new/?customer={customer.pk}",
        {"customer": customer.pk, "notes": "Asked about loans", "value": "10"},
    )
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.source, lead.assignee, lead.value, lead.notes) == (
        "manual",
        manager,
        Decimal("10"),
        "Asked about loans",
    )


def test_an_officer_takes_an_application_and_is_told_what_is_missing(make_user: Any) -> None:
    branch = BranchFactory()
    client = _login(make_user(Role.BRANCH_OFFICER, branch=branch))
    make_user(Role.RELATIONSHIP_MANAGER)
    loan = ProductTypeFactory(code="loan", name_en="Loan")
    RequirementFactory(product_type=loan)
    customer = CustomerFactory(branch=branch)
    url = f"/sales/applications/new/?customer={customer.pk}&product={loan.pk}"
    page = client.post(
        url, {"customer": customer.pk, "product": loan.pk, "channel": "branch", "idempotency_key": "f1"}
    )
    assert page.status_code == 422
    body = page.content.decode()
    assert "Monthly income is required for this product." in body
    assert "ID card is required for this product." in body
    assert Application.objects.count() == 0
    upload = SimpleUploadedFile("id.pdf", PDF, content_type="application/pdf")
    data = {
        "customer": customer.pk,
        "product": loan.pk,
        "channel": "branch",
        "idempotency_key": "f1",
        "v_monthly_income": "1000",
        "d_id_card": upload,
    }
    response = client.post(url, data)
    application = Application.objects.get()
    assert response["Location"] == f"/sales/applications/{application.pk}/"
    detail = client.get(response["Location"])
    assert [a.name for a in detail.context["actions"]] == ["review", "reject", "withdraw"]
    assert "Check the answers and documents, then start the review." in detail.content.decode()
    document = application.documents.get()
    download = client.get(f"/sales/applications/{application.pk}/documents/{document.pk}/")
    assert download.getvalue() == PDF
    client.post(f"/sales/applications/{application.pk}/act/", {"action": "review"})
    client.post(f"/sales/applications/{application.pk}/act/", {"action": "approve"})
    application.refresh_from_db()
    assert application.status == "approved"


def test_distribution_rules_page_saves_a_rule_and_refuses_a_fixed_rule_with_two_managers(
    make_user: Any,
) -> None:
    admin = _login(make_user(Role.ADMINISTRATOR))
    a, b = make_user(Role.RELATIONSHIP_MANAGER), make_user(Role.RELATIONSHIP_MANAGER)
    data = {
        "position": 10,
        "name": "Everyone",
        "strategy": "fixed",
        "managers": [a.pk, b.pk],
        "is_active": "on",
    }
    page = admin.post("/sales/distribution/", data)
    assert page.status_code == 422
    assert "A fixed rule has exactly one manager." in page.content.decode()
    assert admin.post("/sales/distribution/", data | {"strategy": "round_robin"}).status_code == 302
    rule = DistributionRule.objects.get()
    assert sorted(m.pk for m in rule.managers.all()) == sorted([a.pk, b.pk])
    assert AuditEntry.objects.get(model="sales.distributionrule").changes["managers"] == [
        None,
        sorted([a.pk, b.pk]),
    ]
    director = _login(make_user(Role.MARKETING_DIRECTOR))
    assert director.get("/sales/distribution/").status_code == 200
    assert director.post("/sales/distribution/", data).status_code == 403


def test_dashboard_in_scope_with_export(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER, username="ana")
    LeadFactory(assignee=manager, stage="won", value=Decimal("50"))
    LeadFactory(stage="won", value=Decimal("70"))
    client = _login(manager)
    page = client.get("/sales/dashboard/")
    assert page.status_code == 200
    assert [(k.name, k.revenue) for k in page.context["kpis"]] == [("ana", Decimal("50.00"))]
    assert 'id="sales-chart-data"' in page.content.decode()
    csv = client.get("/sales/dashboard/?format=csv")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert "ana,1,0,0,1,0,100.0%,,50.00" in csv.content.decode()
    xlsx = client.get("/sales/dashboard/?format=xlsx")
    assert xlsx.content[:2] == b"PK"
    assert _login(make_user(Role.AGENT)).get("/sales/dashboard/").status_code == 403


def test_a_customer_number_that_is_not_a_number_is_not_found(make_user: Any) -> None:
    client = _login(make_user(Role.AGENT))
    assert client.get("/sales/applications/new/?customer=abc").status_code == 404
    assert client.get("/sales/leads/new/?customer=1%3B").status_code == 404


def test_the_pages_render_in_persian(make_user: Any) -> None:
    admin = make_user(Role.ADMINISTRATOR, is_staff=True)
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    lead = LeadFactory(assignee=manager, stage="won", value=Decimal("1500000"), response_seconds=5400)
    client = Client(headers={"Accept-Language": "fa"})
    client.force_login(admin)
    for url in (
        "/sales/leads/?all=1",
        f"/sales/leads/{lead.pk}/",
        "/sales/applications/",
        "/sales/distribution/",
        "/sales/dashboard/?by=manager",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'dir="rtl"' in page.content.decode(), url
    dashboard = client.get("/sales/dashboard/").content.decode()
    assert "۱٫۵" in dashboard or "۱.۵" in dashboard  # 1.5 hours of response time, in Persian digits
