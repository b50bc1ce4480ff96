from typing import Any

import pytest

from navid.accounts.models import AuditEntry
from navid.core.errors import Conflict, ValidationFailed
from navid.customers import services
from navid.customers.models import Consent, ConversionEvent, Customer, ProductHolding
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory

pytestmark = pytest.mark.django_db


def test_create_normalises_and_audits(analyst: Any) -> None:
    # given values typed with Arabic letters and Persian digits
    customer = services.customer_create(
        actor=analyst,
        values={
            "kind": "person",
            "status": "prospect",
            "first_name": "علي",
            "last_name": "كريمي",
            "national_id": "۰۰۱۲۳۴۵۶۷۹",
            "phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷",
            "email": "Ali@Example.COM",
        },
    )
    # then they are stored in one canonical form
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("علی", "کریمی")
    assert customer.national_id == "0012345679"
    assert customer.phone == "+989121234567"
    assert customer.email == "ali@example.com"
    assert customer.search_text == "علی کریمی 0012345679 989121234567 ali@example.com"
    entry = AuditEntry.objects.get(record_id=str(customer.pk))
    assert entry.action == "create"
    assert entry.actor == analyst
    assert entry.changes["last_name"] == [None, "کریمی"]


def test_create_reports_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(
            actor=None,
            values={"last_name": "X", "national_id": "0012345678", "phone": "12", "birth_date": "2023-02-30"},
        )
    assert set(caught.value.errors) == {"national_id", "phone", "birth_date"}
    assert caught.value.errors["birth_date"] == ["is not a real date"]
    assert Customer.objects.count() == 0


def test_national_id_is_unique() -> None:
    CustomerFactory(national_id="0012345679")
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(actor=None, values={"last_name": "Y", "national_id": "0012345679"})
    assert caught.value.errors == {"national_id": ["another customer already has this national ID"]}


def test_organisation_needs_its_name_and_a_legal_id() -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(actor=None, values={"kind": "organisation", "national_id": "0012345679"})
    assert "national_id" in caught.value.errors
    org = services.customer_create(
        actor=None,
        values={"kind": "organisation", "organisation_name": "ООО Ромашка", "national_id": "7707083893"},
    )
    assert org.display_name == "ООО Ромашка"


def test_converting_a_prospect_records_a_dated_event(analyst: Any) -> None:
    customer = CustomerFactory(status="prospect")
    services.customer_update(actor=analyst, customer=customer, values={"status": "customer"})
    event = ConversionEvent.objects.get(customer=customer)
    assert (event.source, event.actor) == ("manual", analyst)
    assert customer.customer_since is not None
    audit = AuditEntry.objects.filter(record_id=str(customer.pk), action="update").get()
    assert audit.changes["status"] == ["prospect", "customer"]


def test_delete_and_restore_keep_the_record(analyst: Any) -> None:
    customer = CustomerFactory()
    services.customer_delete(actor=analyst, customer=customer)
    assert not Customer.live.filter(pk=customer.pk).exists()
    with pytest.raises(Conflict):
        services.customer_update(actor=analyst, customer=customer, values={"first_name": "X"})
    services.customer_restore(actor=analyst, customer=customer)
    assert Customer.live.filter(pk=customer.pk).exists()
    actions = list(
        AuditEntry.objects.filter(record_id=str(customer.pk)).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["delete", "restore"]


def test_consent_is_one_row_per_channel_and_purpose_with_audit(analyst: Any) -> None:
    customer = CustomerFactory()
    services.consent_set(
        actor=analyst, customer=customer, channel="sms", purpose="marketing", granted=True, source="form"
    )
    services.consent_set(
        actor=analyst, customer=customer, channel="sms", purpose="marketing", granted=False, source="call"
    )
    consent = Consent.objects.get(customer=customer)
    assert (consent.granted, consent.source) == (False, "call")
    changes = AuditEntry.objects.filter(record_id=str(customer.pk), model="customers.consent").order_by("id")
    assert [e.action for e in changes] == ["create", "update"]
    assert changes[1].changes["granted"] == [True, False]


def test_merge_moves_children_keeps_no_consent_and_both_histories(analyst: Any) -> None:
    survivor = CustomerFactory(email="")
    duplicate = CustomerFactory(email="same@example.com", status="customer", external_id="EXT-9")
    ProductHolding.objects.create(
        customer=duplicate, product_type=ProductTypeFactory(), opened_on="2020-01-01"
    )
    services.consent_set(
        actor=analyst, customer=survivor, channel="sms", purpose="marketing", granted=True, source="a"
    )
    services.consent_set(
        actor=analyst, customer=duplicate, channel="sms", purpose="marketing", granted=False, source="b"
    )

    services.customer_merge(actor=analyst, survivor=survivor, duplicate=duplicate)

    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert survivor.email == "same@example.com"
    assert survivor.external_id == "EXT-9"
    assert survivor.status == "customer"
    assert duplicate.merged_into == survivor and duplicate.is_deleted
    assert ProductHolding.objects.get().customer == survivor
    assert Consent.objects.get(customer=survivor).granted is False
    from navid.customers.selectors import customer_history

    history_ids = {e.record_id for e in customer_history(customer=survivor)}
    assert history_ids == {str(survivor.pk), str(duplicate.pk)}
    with pytest.raises(Conflict):
        services.customer_restore(actor=analyst, customer=duplicate)
