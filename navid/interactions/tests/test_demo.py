"""Demo interactions: plausible amounts, every row passes the rules of the log form, determinism, id ranges."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from navid.accounts.demo import demo_users_ensure
from navid.customers.demo import demo_generate
from navid.customers.models import Customer
from navid.interactions.demo import COMPLAINT_CATEGORIES, complaint_categories_ensure, interactions_generate
from navid.interactions.models import ComplaintCategory, Interaction, InteractionKind
from navid.interactions.validation import InteractionReferences, clean_interaction_values

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
FIELDS = (
    "customer_id", "kind", "channel", "direction", "occurred_at", "outcome", "duration_seconds", "cost",
    "employee_id", "campaign_id", "notes", "rating", "complaint_category_id", "returned_product_id",
    "request_open", "source",
)  # fmt: skip


@pytest.fixture
def customers() -> list[int]:
    demo_generate(customers=300, seed=5, batch=100)
    demo_users_ensure()
    return list(Customer.objects.order_by("id").values_list("id", flat=True))


def _rows() -> list[tuple[Any, ...]]:
    return list(Interaction.objects.order_by("customer_id", "occurred_at", "kind").values_list(*FIELDS))


def test_amounts_and_mix_are_plausible(customers: list[int]) -> None:
    result = interactions_generate(seed=1, now=NOW, batch=120)
    assert (result.customers, result.interactions) == (300, Interaction.objects.count())
    assert 1100 < result.interactions < 1900  # about five a customer
    kinds = Counter(Interaction.objects.values_list("kind", flat=True))
    assert set(kinds) <= set(InteractionKind.values)
    assert kinds["sms"] > kinds["complaint"] > 0 and kinds["call"] > kinds["meeting"]
    earliest = NOW - dt.timedelta(days=366)
    for row in Interaction.objects.all():
        assert earliest <= row.occurred_at < NOW
        assert row.source == "demo"
        assert (row.complaint_category_id is not None) == (row.kind == "complaint")
        assert not row.request_open or row.kind in {"complaint", "request"}
        assert row.rating is None or 1 <= row.rating <= 5
        assert row.cost >= 0


def test_every_row_passes_the_rules_of_the_log_form(customers: list[int]) -> None:
    interactions_generate(seed=2, now=NOW)
    refs = InteractionReferences()
    for row in Interaction.objects.select_related("employee", "complaint_category", "returned_product"):
        values = {
            "kind": row.kind,
            "channel": row.channel,
            "direction": row.direction,
            "occurred_at": row.occurred_at,
            "outcome": row.outcome,
            "duration_seconds": row.duration_seconds,
            "cost": str(row.cost),
            "employee": row.employee.username if row.employee else None,
            "notes": row.notes,
            "rating": row.rating,
            "complaint_category": row.complaint_category.code if row.complaint_category else None,
            "returned_product": row.returned_product.code if row.returned_product else None,
            "request_open": row.request_open,
        }
        clean = clean_interaction_values(values, refs=refs, now=NOW)
        assert clean["occurred_at"] == row.occurred_at


def test_same_seed_same_rows_and_another_seed_other_rows(customers: list[int]) -> None:
    interactions_generate(seed=3, now=NOW, batch=50)
    first = _rows()
    Interaction.objects.all().delete()
    interactions_generate(seed=3, now=NOW, batch=50)
    assert _rows() == first
    Interaction.objects.all().delete()
    interactions_generate(seed=4, now=NOW, batch=50)
    assert _rows() != first


def test_only_the_customers_of_the_range(customers: list[int]) -> None:
    result = interactions_generate(
        seed=1, now=NOW, min_customer_id=customers[250], max_customer_id=customers[259]
    )
    assert result.customers == 10
    assert set(Interaction.objects.values_list("customer_id", flat=True)) <= set(customers[250:260])


def test_complaint_categories_are_named_in_three_languages_and_kept_as_edited() -> None:
    ComplaintCategory.objects.create(code="fees", name_en="Bank charges")
    ids = complaint_categories_ensure()
    assert sorted(ids) == sorted(c[0] for c in COMPLAINT_CATEGORIES)
    assert ComplaintCategory.objects.get(code="fees").name_en == "Bank charges"
    cards = ComplaintCategory.objects.get(code="cards-atm")
    assert (cards.name_en, cards.name_fa, cards.name_ru) == (
        "Cards and ATMs",
        "کارت و خودپرداز",
        "Карты и банкоматы",
    )
    assert complaint_categories_ensure() == ids
