"""Leads: created once per source, routed, moved through the pipeline with spans, reassigned; campaign responses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.campaigns.models import CampaignOutcome
from navid.campaigns.tests.factories import CampaignFactory
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.tests.factories import OfferFactory
from navid.sales import pipeline, services
from navid.sales.models import Lead, LeadStageSpan
from navid.sales.tasks import leads_from_campaign_responses

pytestmark = pytest.mark.django_db


def test_a_lead_is_created_once_per_source_reference_with_its_offer_value_and_due_date(
    make_user: Any,
) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    card = ProductTypeFactory(code="card", name_en="Card")
    OfferFactory(product_type=card, value_to_bank=Decimal("2500000"))
    customer = CustomerFactory()
    before = timezone.now()
    lead = services.lead_create(
        actor=None, customer=customer, product=card, source="call_interested", source_ref="attempt:9"
    )
    again = services.lead_create(
        actor=None, customer=customer, product=card, source="call_interested", source_ref="attempt:9"
    )
    assert again.pk == lead.pk
    assert Lead.objects.count() == 1
    assert (lead.assignee, lead.stage, lead.value) == (manager, "new", Decimal("2500000"))
    assert lead.due_at is not None
    assert before + dt.timedelta(days=1) <= lead.due_at <= timezone.now() + dt.timedelta(days=1)
    assert list(LeadStageSpan.objects.values_list("stage", "left_at")) == [("new", None)]
    assert AuditEntry.objects.filter(model="sales.lead", action="create").count() == 1


def test_bad_lead_values_are_refused_field_by_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.lead_create(
            actor=None, customer=CustomerFactory(), source="rumour", campaign_id=999_999, value=Decimal("-1")
        )
    assert set(caught.value.errors) == {"source", "campaign_id", "value"}
    assert Lead.objects.count() == 0


def test_a_lead_moves_forward_with_spans_and_response_time(make_user: Any) -> None:
    make_user(Role.RELATIONSHIP_MANAGER)
    lead = services.lead_create(actor=None, customer=CustomerFactory(), source="manual")
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=2))
    lead = services.lead_move(actor=None, lead=lead, stage="contacted", note="Called")
    assert lead.stage == "contacted"
    assert lead.response_seconds is not None
    assert 7190 <= lead.response_seconds <= 7300
    assert lead.notes == "Called"
    lead = services.lead_move(actor=None, lead=lead, stage="won")  # meeting and proposal are passed through
    spans = {s.stage: s for s in LeadStageSpan.objects.filter(lead=lead)}
    assert sorted(spans) == ["contacted", "meeting", "new", "proposal", "won"]
    assert (spans["meeting"].seconds, spans["proposal"].seconds) == (0, 0)
    assert lead.closed_at is not None and lead.due_at is None
    with pytest.raises(Conflict):
        services.lead_move(actor=None, lead=lead, stage="lost", lost_reason="late")


def test_losing_a_lead_needs_a_reason_and_backward_moves_are_refused(make_user: Any) -> None:
    lead = services.lead_create(actor=None, customer=CustomerFactory(), source="manual")
    lead = services.lead_move(actor=None, lead=lead, stage="meeting")
    with pytest.raises(Conflict):
        services.lead_move(actor=None, lead=lead, stage="contacted")
    with pytest.raises(ValidationFailed) as caught:
        services.lead_move(actor=None, lead=lead, stage="lost")
    assert list(caught.value.errors) == ["lost_reason"]
    lead = services.lead_move(actor=None, lead=lead, stage="lost", lost_reason="Chose another bank")
    assert (lead.stage, lead.lost_reason) == ("lost", "Chose another bank")


def test_next_stages_and_hints() -> None:
    assert pipeline.next_stages("contacted") == ["meeting", "proposal", "won", "lost"]
    assert pipeline.next_stages("won") == []
    assert pipeline.stage_hint("new").startswith("Call the customer")


def test_reassignment_needs_a_supervisor_and_is_audited(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    other = make_user(Role.RELATIONSHIP_MANAGER)
    lead = services.lead_create(actor=None, customer=CustomerFactory(), source="manual")
    assert lead.assignee == manager
    with pytest.raises(PermissionDenied):
        services.lead_reassign(actor=manager, lead=lead, assignee=other)
    director = make_user(Role.MARKETING_DIRECTOR)
    lead = services.lead_reassign(actor=director, lead=lead, assignee=other)
    assert lead.assignee == other
    entry = AuditEntry.objects.filter(model="sales.lead", action="update").get()
    assert entry.actor == director
    assert entry.changes["assignee_id"] == [manager.pk, other.pk]


def test_campaign_responses_become_leads_once_and_are_assigned(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    campaign = CampaignFactory(offer=OfferFactory(value_to_bank=Decimal("700")))
    responded, converted, control, silent = (CustomerFactory() for _ in range(4))
    now = timezone.now()
    CampaignOutcome.objects.create(campaign=campaign, customer=responded, group="treatment", responded_at=now)
    CampaignOutcome.objects.create(
        campaign=campaign, customer=converted, group="treatment", responded_at=now, converted_on=now.date()
    )
    CampaignOutcome.objects.create(campaign=campaign, customer=control, group="control", responded_at=now)
    CampaignOutcome.objects.create(campaign=campaign, customer=silent, group="treatment")
    assert leads_from_campaign_responses() == 1
    assert leads_from_campaign_responses() == 0
    lead = Lead.objects.get()
    assert (lead.customer, lead.campaign, lead.source, lead.assignee, lead.value, lead.product_type) == (
        responded,
        campaign,
        "campaign_response",
        manager,
        Decimal("700"),
        campaign.offer.product_type,
    )
    assert lead.source_ref == f"campaign:{campaign.pk}:customer:{responded.pk}"
    assert list(LeadStageSpan.objects.filter(lead=lead).values_list("stage", flat=True)) == ["new"]
