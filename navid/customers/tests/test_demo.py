"""Demo data: valid identifiers and phones, normalised names, determinism, appending, and the reference lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import models
from django.utils import timezone

from navid.accounts.models import Branch, Region
from navid.core.national_id import classify_national_id
from navid.core.phones import normalize_phone
from navid.core.text import clean_text
from navid.customers.demo import demo_generate, reference_lists_ensure
from navid.customers.models import (
    Consent,
    Customer,
    Industry,
    PartyKind,
    PartyStatus,
    ProductHolding,
    ProductType,
    ProspectRank,
    ProspectStatus,
    ProspectType,
    Transaction,
)
from navid.customers.validation import customer_search_text

pytestmark = pytest.mark.django_db

COUNT = 200


def _delete_demo_rows() -> None:
    Transaction.objects.all().delete()
    Consent.objects.all().delete()
    ProductHolding.objects.all().delete()
    Customer.objects.all().delete()


@pytest.fixture
def generated() -> list[Customer]:
    result = demo_generate(customers=COUNT, seed=7, batch=64)
    assert result.customers == COUNT
    return list(Customer.objects.order_by("id"))


def test_counts_match_the_result_and_the_tables() -> None:
    result = demo_generate(customers=COUNT, seed=1, batch=50)
    assert result.customers == Customer.objects.count() == COUNT
    assert result.holdings == ProductHolding.objects.count()
    assert result.transactions == Transaction.objects.count()
    assert result.seconds > 0
    # About 70 % customers with 1-4 holdings each and about three transactions a month each.
    customers = Customer.objects.filter(status=PartyStatus.CUSTOMER).count()
    assert 0.55 * COUNT < customers < 0.85 * COUNT
    assert customers <= result.holdings <= 4 * customers
    assert 15 * customers < result.transactions < 60 * customers


def test_every_national_id_passes_its_checksum(generated: list[Customer]) -> None:
    for customer in generated:
        organisation = customer.kind == PartyKind.ORGANISATION
        code, _kind = classify_national_id(customer.national_id or "", organisation=organisation)
        assert code == customer.national_id


def test_every_phone_is_normalised_e164(generated: list[Customer]) -> None:
    for customer in generated:
        assert customer.phone == normalize_phone(customer.phone)
        assert customer.phone.startswith("+989" if customer.language == "fa" else "+79")


def test_names_are_stored_normalised(generated: list[Customer]) -> None:
    for customer in generated:
        for name in (customer.first_name, customer.last_name, customer.organisation_name):
            assert "ي" not in name and "ك" not in name
            assert name == clean_text(name)
        if customer.kind == PartyKind.PERSON:
            assert customer.first_name and customer.last_name and not customer.organisation_name
        else:
            assert customer.organisation_name and not customer.first_name and customer.industry_id


def test_search_text_matches_the_rule_used_by_the_services(generated: list[Customer]) -> None:
    fields = ("first_name", "last_name", "organisation_name", "national_id", "phone", "email")
    for customer in generated:
        assert customer.search_text == customer_search_text({f: getattr(customer, f) for f in fields})


def test_values_are_plausible(generated: list[Customer]) -> None:
    today = timezone.now().date()
    for customer in generated:
        assert customer.external_id == f"DEMO-{customer.pk:07d}"
        assert customer.branch is not None and customer.branch.region_id == customer.region_id
        assert customer.email == customer.email.lower()
        assert customer.birth_date is not None
        if customer.kind == PartyKind.PERSON:
            age = (today - customer.birth_date).days / 365.2425
            assert 18 <= age <= 85.1
        if customer.status == PartyStatus.CUSTOMER:
            assert customer.customer_since is not None
            assert today - dt.timedelta(days=3653) <= customer.customer_since < today
            assert customer.prospect_type_id is None
        else:
            assert customer.customer_since is None
            assert customer.prospect_type_id and customer.prospect_rank_id and customer.prospect_status_id
    now = timezone.now()
    start = (
        now.replace(year=now.year - 1) if (now.month, now.day) != (2, 29) else now - dt.timedelta(days=365)
    )
    for tx in Transaction.objects.select_related("holding"):
        assert tx.occurred_at.tzinfo is not None
        assert start < tx.occurred_at < now
        assert tx.amount > 0
        assert tx.holding is not None and tx.holding.customer_id == tx.customer_id
        assert tx.occurred_at.date() >= tx.holding.opened_on
    for holding in ProductHolding.objects.select_related("customer"):
        assert holding.customer.customer_since is not None
        assert holding.opened_on >= holding.customer.customer_since
        assert holding.currency == ("RUB" if holding.customer.language == "ru" else "IRR")
        assert holding.balance >= Decimal(0)
    assert Consent.objects.filter(source="demo").exists()


def test_prospects_have_no_holdings_or_transactions(generated: list[Customer]) -> None:
    assert any(c.status == PartyStatus.PROSPECT for c in generated)
    prospects = Customer.objects.filter(status=PartyStatus.PROSPECT)
    assert not ProductHolding.objects.filter(customer__in=prospects).exists()
    assert not Transaction.objects.filter(customer__in=prospects).exists()
    assert not Customer.objects.filter(status=PartyStatus.CUSTOMER, holdings__isnull=True).exists()


def test_same_seed_on_an_empty_database_gives_the_same_rows() -> None:
    def snapshot() -> list[tuple[object, ...]]:
        return list(
            Customer.objects.order_by("id").values_list(
                "id", "first_name", "last_name", "organisation_name", "national_id", "phone", "birth_date"
            )
        )

    first = demo_generate(customers=120, seed=99, batch=50)
    rows = snapshot()
    holdings = list(ProductHolding.objects.order_by("id").values_list("account_number", "balance"))
    _delete_demo_rows()
    second = demo_generate(customers=120, seed=99, batch=50)
    assert snapshot() == rows
    assert list(ProductHolding.objects.order_by("id").values_list("account_number", "balance")) == holdings
    assert (first.holdings, first.transactions) == (second.holdings, second.transactions)

    _delete_demo_rows()
    demo_generate(customers=120, seed=100, batch=50)
    assert snapshot() != rows


def test_a_second_run_appends_without_clashes() -> None:
    demo_generate(customers=150, seed=5, batch=40)
    demo_generate(customers=150, seed=5, batch=40)
    customers = list(Customer.objects.values_list("national_id", "phone", "external_id", "first_name"))
    assert len(customers) == 300
    for column in range(3):
        assert len({row[column] for row in customers}) == 300
    # The second run continues the stream instead of repeating the first run's people.
    ordered = list(
        Customer.objects.order_by("id").values_list("first_name", "last_name", "organisation_name")
    )
    assert ordered[:150] != ordered[150:]


def test_identifiers_already_taken_are_avoided() -> None:
    placeholders = [Customer.objects.create(last_name=f"Earlier {n}") for n in range(60)]
    demo_generate(customers=60, seed=3)
    generated = Customer.objects.exclude(pk__in=[c.pk for c in placeholders]).order_by("id")
    would_be = list(generated.values_list("national_id", "phone", "external_id"))
    generated.delete()
    # Earlier customers now hold exactly what the same seed, at the same offset, is about to produce.
    for customer, (national_id, phone, external_id) in zip(placeholders, would_be, strict=True):
        Customer.objects.filter(pk=customer.pk).update(
            national_id=national_id, phone=phone, external_id=external_id
        )

    demo_generate(customers=60, seed=3)
    values = list(Customer.objects.values_list("national_id", "phone", "external_id"))
    assert len(values) == 120
    for column in range(3):
        assert len({row[column] for row in values}) == 120
    for customer in Customer.objects.exclude(pk__in=[c.pk for c in placeholders]):
        fields = ("first_name", "last_name", "organisation_name", "national_id", "phone", "email")
        assert customer.search_text == customer_search_text({f: getattr(customer, f) for f in fields})
        classify_national_id(customer.national_id or "", organisation=customer.kind == PartyKind.ORGANISATION)
        assert customer.phone == normalize_phone(customer.phone)
        assert customer.external_id.startswith(f"DEMO-{customer.pk:07d}-")  # its plain form was taken


def test_ordinary_inserts_continue_after_the_generated_ids() -> None:
    result = demo_generate(customers=30, seed=11)
    created = Customer.objects.create(last_name="Later")
    assert created.pk > 30
    last_holding = ProductHolding.objects.aggregate(m=models.Max("id"))["m"]
    assert last_holding == result.holdings
    holding = ProductHolding.objects.create(
        customer=created, product_type=ProductType.objects.get(code="loan"), opened_on=dt.date(2024, 1, 1)
    )
    assert holding.pk > last_holding


def test_reference_lists_are_created_once_and_edits_survive() -> None:
    lists = (Region, Branch, ProductType, ProspectType, ProspectRank, ProspectStatus, Industry)
    reference_lists_ensure()
    counts = [m.objects.count() for m in lists]
    assert counts[0] == 12 and 2 * 12 <= counts[1] <= 4 * 12
    assert counts[2:] == [9, 4, 4, 5, 10]
    Region.objects.filter(code="tehran").update(name_en="Greater Tehran")
    reference_lists_ensure()
    assert [m.objects.count() for m in lists] == counts
    assert Region.objects.get(code="tehran").name_en == "Greater Tehran"
    assert set(ProductType.objects.filter(is_credit=True).values_list("code", flat=True)) == {
        "loan",
        "mortgage",
        "credit-card",
    }
    for branch in Branch.objects.select_related("region"):
        assert branch.code.startswith(branch.region.code + "-")
        assert branch.name_en and branch.name_fa and branch.name_ru
        assert "ي" not in branch.name_fa and "ك" not in branch.name_fa


def test_nothing_to_generate() -> None:
    result = demo_generate(customers=0)
    assert (result.customers, result.holdings, result.transactions) == (0, 0, 0)
    assert Region.objects.exists()
