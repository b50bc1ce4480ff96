"""Applications: eligibility, required fields and documents, idempotency, the workflow, conversion of a prospect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from navid.accounts.roles import Role
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.models import ConversionEvent
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.tests.factories import OfferFactory, ProductRuleFactory
from navid.sales import services
from navid.sales.models import Application, ApplicationDocument, Lead
from navid.sales.requirements import IncomingDocument
from navid.sales.tests.factories import PDF, PNG, RequirementFactory

pytestmark = pytest.mark.django_db

GOOD_VALUES = {"monthly_income": "45,000,000", "employer": " Navid Co "}


@pytest.fixture
def loan(db: None) -> Any:
    product = ProductTypeFactory(code="loan", name_en="Loan", is_credit=True)
    RequirementFactory(product_type=product)
    OfferFactory(product_type=product, value_to_bank=Decimal("9000000"))
    return product


def _id_card(name: str = "card.pdf", content: bytes = PDF) -> IncomingDocument:
    return IncomingDocument(kind="id_card", name=name, content=content)


def _files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_application_is_stored_with_its_documents_and_routed_as_a_lead(make_user: Any, loan: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    officer = make_user(Role.BRANCH_OFFICER)
    customer = CustomerFactory()
    application, created = services.application_submit(
        actor=officer,
        customer=customer,
        product=loan,
        channel="branch",
        values=GOOD_VALUES,
        documents=[_id_card()],
    )
    assert created
    assert (application.status, application.values) == (
        "submitted",
        {"monthly_income": "45000000", "employer": "Navid Co"},
    )
    document = ApplicationDocument.objects.get()
    assert (document.kind, document.original_name, document.content_type, document.size) == (
        "id_card",
        "card.pdf",
        "application/pdf",
        len(PDF),
    )
    assert Path(document.file.path).read_bytes() == PDF
    assert str(settings.MEDIA_ROOT) in document.file.path
    lead = Lead.objects.get()
    assert (lead.source, lead.application, lead.assignee, lead.value) == (
        "application",
        application,
        manager,
        Decimal("9000000"),
    )


def test_missing_fields_and_documents_are_named_and_nothing_is_created(loan: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(
            actor=None, customer=CustomerFactory(), product=loan, channel="branch", values={"colour": "red"}
        )
    assert caught.value.errors == {
        "values.colour": ["This product asks no such question."],
        "values.monthly_income": ["Monthly income is required for this product."],
        "documents.id_card": ["ID card is required for this product."],
    }
    assert (Application.objects.count(), Lead.objects.count(), _files()) == (0, 0, [])


def test_bad_values_and_bad_documents_are_refused(loan: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(
            actor=None,
            customer=CustomerFactory(),
            product=loan,
            channel="branch",
            values={"monthly_income": "a lot"},
            documents=[_id_card("card.exe", b"MZ"), _id_card("card.pdf", PNG), _id_card("x.png", b"")],
        )
    errors = caught.value.errors
    assert errors["values.monthly_income"] == ["Monthly income: Enter a number."]
    assert errors["documents.id_card"] == [
        "card.exe: Only these files are accepted: .jpeg, .jpg, .pdf, .png.",
        "card.pdf: The file's content is not a .pdf file.",
        "x.png: The file is empty.",
    ]
    assert Application.objects.count() == 0


def test_a_document_over_the_size_limit_is_refused(loan: Any, settings: Any) -> None:
    big = PDF + b"0" * (5 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(
            actor=None,
            customer=CustomerFactory(),
            product=loan,
            channel="branch",
            values=GOOD_VALUES,
            documents=[_id_card(content=big)],
        )
    assert caught.value.errors == {"documents.id_card": ["card.pdf: The file is larger than 5 MB."]}


def test_an_ineligible_customer_is_told_which_rule_fails_and_nothing_is_created(loan: Any) -> None:
    ProductRuleFactory(product_type=loan, rules={"age_min": 18})
    child = CustomerFactory(birth_date=dt.date.today() - dt.timedelta(days=365 * 10))
    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(
            actor=None,
            customer=child,
            product=loan,
            channel="kiosk",
            values=GOOD_VALUES,
            documents=[_id_card()],
        )
    assert caught.value.errors == {
        "product": ["The customer is not eligible for Loan: younger than 18 or no birth date."]
    }
    assert (Application.objects.count(), Lead.objects.count(), _files()) == (0, 0, [])


def test_the_same_key_or_the_same_customer_product_and_day_returns_the_first(loan: Any) -> None:
    customer = CustomerFactory()
    first, created = services.application_submit(
        actor=None,
        customer=customer,
        product=loan,
        channel="api",
        values=GOOD_VALUES,
        documents=[_id_card()],
        idempotency_key="k-1",
    )
    assert created
    again, created_again = services.application_submit(
        actor=None, customer=customer, product=loan, channel="api", idempotency_key="k-1"
    )
    same_day, created_same_day = services.application_submit(
        actor=None,
        customer=customer,
        product=loan,
        channel="branch",
        values=GOOD_VALUES,
        documents=[_id_card()],
    )
    assert (again.pk, same_day.pk, created_again, created_same_day) == (first.pk, first.pk, False, False)
    assert (Application.objects.count(), Lead.objects.count(), ApplicationDocument.objects.count()) == (
        1,
        1,
        1,
    )
    with pytest.raises(Conflict):
        services.application_submit(
            actor=None, customer=CustomerFactory(), product=loan, channel="api", idempotency_key="k-1"
        )


def test_approval_converts_the_prospect_and_wins_the_lead(make_user: Any, loan: Any) -> None:
    make_user(Role.RELATIONSHIP_MANAGER)
    officer = make_user(Role.BRANCH_OFFICER)
    prospect = CustomerFactory(status="prospect")
    application, _ = services.application_submit(
        actor=None,
        customer=prospect,
        product=loan,
        channel="kiosk",
        values=GOOD_VALUES,
        documents=[_id_card()],
    )
    with pytest.raises(Conflict):
        services.application_act(
            actor=officer, application=application, action="approve"
        )  # not in review yet
    services.application_act(actor=officer, application=application, action="review")
    application = services.application_act(actor=officer, application=application, action="approve")
    assert application.status == "approved" and application.decided_at is not None
    prospect.refresh_from_db()
    assert prospect.status == "customer"
    assert list(ConversionEvent.objects.values_list("customer_id", "source")) == [
        (prospect.pk, "application")
    ]
    lead = Lead.objects.get()
    assert (lead.stage, lead.value) == ("won", Decimal("9000000"))


def test_rejection_needs_a_reason_loses_the_lead_and_needs_the_permission(make_user: Any, loan: Any) -> None:
    agent = make_user(Role.AGENT)
    officer = make_user(Role.BRANCH_OFFICER)
    application, _ = services.application_submit(
        actor=agent,
        customer=CustomerFactory(),
        product=loan,
        channel="contact_centre",
        values=GOOD_VALUES,
        documents=[_id_card()],
    )
    with pytest.raises(PermissionDenied):
        services.application_act(actor=agent, application=application, action="reject", note="no")
    with pytest.raises(ValidationFailed):
        services.application_act(actor=officer, application=application, action="reject")
    services.application_act(actor=officer, application=application, action="reject", note="Income too low")
    lead = Lead.objects.get()
    assert (lead.stage, lead.lost_reason) == ("lost", "Rejected: Income too low")
    with pytest.raises(Conflict):
        services.application_act(actor=agent, application=application, action="withdraw")


def test_documents_can_be_added_before_the_decision_only(make_user: Any, loan: Any) -> None:
    officer = make_user(Role.BRANCH_OFFICER)
    application, _ = services.application_submit(
        actor=None,
        customer=CustomerFactory(),
        product=loan,
        channel="branch",
        values=GOOD_VALUES,
        documents=[_id_card()],
    )
    services.application_documents_add(
        actor=officer, application=application, documents=[_id_card("back.png", PNG)]
    )
    assert application.documents.count() == 2
    with pytest.raises(ValidationFailed) as caught:
        services.application_documents_add(
            actor=officer, application=application, documents=[IncomingDocument("payslip", "p.pdf", PDF)]
        )
    assert list(caught.value.errors) == ["documents.payslip"]
    services.application_act(actor=officer, application=application, action="withdraw")
    with pytest.raises(Conflict):
        services.application_documents_add(actor=officer, application=application, documents=[_id_card()])


def test_requirement_lists_are_checked_row_by_row(loan: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.product_requirements_set(
            actor=None,
            product=loan,
            fields=[{"name": "Bad Name", "label": "x"}, {"name": "a", "label": "A", "type": "colour"}],
            documents=[{"kind": "id", "label": "ID"}, {"kind": "id", "label": "ID again"}],
        )
    assert set(caught.value.errors) == {"fields.0.name", "fields.1.type", "documents"}


def test_an_application_joins_the_customers_open_lead_for_the_product(make_user: Any, loan: Any) -> None:
    make_user(Role.RELATIONSHIP_MANAGER)
    customer = CustomerFactory()
    lead = services.lead_create(
        actor=None, customer=customer, product=loan, source="call_interested", source_ref="c:1"
    )
    services.lead_move(actor=None, lead=lead, stage="proposal")
    application, _ = services.application_submit(
        actor=None,
        customer=customer,
        product=loan,
        channel="branch",
        values=GOOD_VALUES,
        documents=[_id_card()],
    )
    lead.refresh_from_db()
    assert (Lead.objects.count(), lead.application, lead.stage) == (1, application, "proposal")
