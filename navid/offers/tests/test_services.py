from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.core.errors import PermissionDenied, ValidationFailed
from navid.customers.tests.factories import ProductTypeFactory
from navid.offers import services
from navid.offers.models import Offer, ProductRule, ProductSegmentTarget
from navid.offers.tests.factories import OfferFactory, StaticSegmentFactory, TargetFactory


def test_offer_create_checks_every_field(analyst: Any) -> None:
    product = ProductTypeFactory(code="card")
    with pytest.raises(ValidationFailed) as exc:
        services.offer_create(
            actor=analyst,
            values={
                "name": " ",
                "product_type": "999",
                "value_to_bank": "-1",
                "valid_from": "2026-05-01",
                "valid_until": "2026-04-01",
                "landing_url": "javascript:alert(1)",
            },
        )
    assert exc.value.errors == {
        "name": ["A name is required."],
        "product_type": ["Choose a product."],
        "value_to_bank": ["Enter an amount of 0 or more."],
        "landing_url": ["Enter a web address of at most 200 characters, starting with https://."],
        "valid_until": ["The offer ends before it starts."],
    }
    assert not Offer.objects.exists()
    offer = services.offer_create(
        actor=analyst,
        values={
            "name": "Card",
            "product_type": str(product.pk),
            "value_to_bank": "12.345",
            "valid_from": "2026-05-01",
            "landing_url": " bank.example/offers/card ",
        },
    )
    assert (offer.value_to_bank, offer.valid_from, offer.is_active, offer.landing_url) == (
        Decimal("12.35"),
        dt.date(2026, 5, 1),
        True,
        "https://bank.example/offers/card",
    )
    assert AuditEntry.objects.get(model="offers.offer").action == "create"
    for bad in (f"https://bank.example/{'x' * 180}", "ftp://bank.example/offer"):
        with pytest.raises(ValidationFailed) as exc:
            services.offer_update(
                actor=analyst,
                offer=offer,
                values={"name": "Card", "product_type": product, "landing_url": bad},
            )
        assert list(exc.value.errors) == ["landing_url"]


def test_offer_update_is_audited_and_needs_permission(analyst: Any, make_user: Any) -> None:
    offer = OfferFactory(name="Old", value_to_bank=Decimal("10"))
    services.offer_update(
        actor=analyst,
        offer=offer,
        values={"name": "New", "product_type": offer.product_type, "value_to_bank": "20"},
    )
    entry = AuditEntry.objects.get(model="offers.offer", action="update")
    assert entry.changes["name"] == ["Old", "New"]
    assert entry.changes["value_to_bank"] == ["10.00", "20.00"]
    with pytest.raises(PermissionDenied):
        services.offer_update(actor=make_user(Role.AGENT), offer=offer, values={"name": "X"})


def test_rules_are_checked_stored_without_defaults_and_audited(analyst: Any) -> None:
    product = ProductTypeFactory(code="loan")
    with pytest.raises(ValidationFailed):
        services.product_rules_set(actor=analyst, product=product, rules={"age_min": "old"})
    assert not ProductRule.objects.exists()
    row = services.product_rules_set(
        actor=analyst, product=product, rules={"age_min": 21, "no_overdrawn": True}
    )
    assert row.rules == {"age_min": 21, "no_overdrawn": True}
    services.product_rules_set(actor=analyst, product=product, rules={"age_min": 25})
    assert ProductRule.objects.get().rules == {"age_min": 25}
    assert list(AuditEntry.objects.filter(model="offers.productrule").values_list("action", flat=True)) == [
        "update",
        "create",
    ]


def test_matrix_cells_set_cleared_and_audited(analyst: Any, make_user: Any) -> None:
    a, b = StaticSegmentFactory(), StaticSegmentFactory()
    card, loan = ProductTypeFactory(code="card"), ProductTypeFactory(code="loan")
    TargetFactory(segment=a, product_type=card, priority=2)
    TargetFactory(segment=b, product_type=loan, priority=3)
    changed = services.product_segment_matrix_set(
        actor=analyst,
        cells={(a.pk, card.pk): 1, (a.pk, loan.pk): None, (b.pk, card.pk): 2, (b.pk, loan.pk): None},
    )
    assert changed == 3
    assert sorted(ProductSegmentTarget.objects.values_list("segment_id", "product_type_id", "priority")) == [
        (a.pk, card.pk, 1),
        (b.pk, card.pk, 2),
    ]
    assert sorted(
        AuditEntry.objects.filter(model="offers.productsegmenttarget").values_list("action", flat=True)
    ) == [
        "create",
        "delete",
        "update",
    ]
    with pytest.raises(ValidationFailed) as exc:
        services.product_segment_matrix_set(actor=analyst, cells={(a.pk, card.pk): 3, (a.pk, 9999): 7})
    assert exc.value.errors == {f"cell {a.pk}-9999": ["Unknown product.", "Priority must be 1, 2 or 3."]}
    assert ProductSegmentTarget.objects.get(segment=a).priority == 1  # nothing half-applied
    with pytest.raises(PermissionDenied):
        services.product_segment_matrix_set(actor=make_user(Role.CAMPAIGN_MANAGER), cells={})
