"""Writes of the catalogue and matrices: offers, eligibility rules, the product-segment matrix, retraining."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, audit_save, model_snapshot
from navid.core.errors import PermissionDenied, ValidationFailed
from navid.customers.models import ProductType
from navid.offers.eligibility import rules_parse
from navid.offers.models import Offer, ProductRule, ProductSegmentTarget
from navid.segments.models import Segment


def _require(actor: Actor, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise PermissionDenied(perm)


def _clean_offer(values: dict[str, Any]) -> dict[str, Any]:
    """Checked offer fields, or ValidationFailed naming each bad one."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("A name is required.")]
    clean["name"] = name[:200]
    product = values.get("product_type")
    if not isinstance(product, ProductType):
        product = (
            ProductType.objects.filter(pk=int(str(product))).first() if str(product or "").isdigit() else None
        )
        if product is None:
            errors["product_type"] = [_("Choose a product.")]
    clean["product_type"] = product
    clean["description"] = str(values.get("description") or "")
    url = str(values.get("landing_url") or "").strip()
    if url and "://" not in url:
        url = f"https://{url}"  # as the form takes an address typed without a scheme
    try:
        if url:
            URLValidator(schemes=["http", "https"])(url)
        if len(url) > Offer._meta.get_field("landing_url").max_length:  # type: ignore[operator]
            raise ValidationError(url)
    except ValidationError:
        errors["landing_url"] = [_("Enter a web address of at most 200 characters, starting with https://.")]
    clean["landing_url"] = url
    try:
        value = Decimal(str(values.get("value_to_bank") if values.get("value_to_bank") is not None else "0"))
        if not value.is_finite() or value < 0 or value >= Decimal("1e16"):
            raise InvalidOperation
        clean["value_to_bank"] = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        errors["value_to_bank"] = [_("Enter an amount of 0 or more.")]
    for key in ("valid_from", "valid_until"):
        day = values.get(key)
        if day in (None, ""):
            clean[key] = None
        elif isinstance(day, dt.date):
            clean[key] = day
        else:
            try:
                clean[key] = dt.date.fromisoformat(str(day))
            except ValueError:
                errors[key] = [_("Enter a date as YYYY-MM-DD.")]
    if clean.get("valid_from") and clean.get("valid_until") and clean["valid_from"] > clean["valid_until"]:
        errors["valid_until"] = [_("The offer ends before it starts.")]
    clean["is_active"] = bool(values.get("is_active", True))
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def offer_create(*, actor: Actor, values: dict[str, Any]) -> Offer:
    """Create an offer from checked values."""
    _require(actor, "offers.add_offer")
    offer = Offer.objects.create(**_clean_offer(values))
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=offer, before=None, after=model_snapshot(offer)
    )
    return offer


@transaction.atomic
def offer_update(*, actor: Actor, offer: Offer, values: dict[str, Any]) -> Offer:
    """Change an offer's fields (all of them, checked together)."""
    _require(actor, "offers.change_offer")
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    before = model_snapshot(offer)
    for key, value in _clean_offer(values).items():
        setattr(offer, key, value)
    offer.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=offer, before=before, after=model_snapshot(offer)
    )
    return offer


@transaction.atomic
def product_rules_set(*, actor: Actor, product: ProductType, rules: Any) -> ProductRule:
    """Replace a product's eligibility rules with a checked rule document."""
    _require(actor, "offers.change_productrule")
    parsed = rules_parse(rules)
    document = parsed.model_dump(mode="json", exclude_defaults=True)
    row, created = ProductRule.objects.select_for_update().get_or_create(product_type=product)
    before = None if created else model_snapshot(row)
    row.rules = document
    row.save()
    audit_save(actor=actor, instance=row, before=before, record=product)
    return row


@transaction.atomic
def product_segment_matrix_set(*, actor: Actor, cells: dict[tuple[int, int], int | None]) -> int:
    """Set cells of the matrix: {(segment id, product id): priority 1-3, or None to clear}; returns cells changed."""
    _require(actor, "offers.edit_product_segment_matrix")
    valid = {int(v) for v in ProductSegmentTarget.Priority.values}
    segments = set(Segment.objects.filter(pk__in={s for s, _p in cells}).values_list("pk", flat=True))
    products = set(ProductType.objects.filter(pk__in={p for _s, p in cells}).values_list("pk", flat=True))
    errors: dict[str, list[str]] = {}
    for (segment_id, product_id), priority in cells.items():
        where = f"cell {segment_id}-{product_id}"
        if segment_id not in segments:
            errors.setdefault(where, []).append(_("Unknown segment."))
        if product_id not in products:
            errors.setdefault(where, []).append(_("Unknown product."))
        if priority is not None and priority not in valid:
            errors.setdefault(where, []).append(_("Priority must be 1, 2 or 3."))
    if errors:
        raise ValidationFailed(errors)
    existing = {
        (t.segment_id, t.product_type_id): t
        for t in ProductSegmentTarget.objects.select_for_update().filter(
            segment_id__in=segments, product_type_id__in=products
        )
    }
    changed = 0
    for (segment_id, product_id), priority in sorted(cells.items()):
        target = existing.get((segment_id, product_id))
        if (target is None and priority is None) or (target is not None and target.priority == priority):
            continue
        changed += 1
        if target is None and priority is not None:
            target = ProductSegmentTarget.objects.create(
                segment_id=segment_id, product_type_id=product_id, priority=priority
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                instance=target,
                before=None,
                after=model_snapshot(target),
            )
        elif target is not None and priority is None:
            before = model_snapshot(target)
            target.delete()
            target.pk = None
            audit_record(
                actor=actor,
                action=AuditAction.DELETE,
                instance=_deleted(target, before),
                before=before,
                after=None,
            )
        elif target is not None and priority is not None:
            before = model_snapshot(target)
            target.priority = priority
            target.save()
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                instance=target,
                before=before,
                after=model_snapshot(target),
            )
    return changed


def _deleted(target: ProductSegmentTarget, before: dict[str, Any]) -> ProductSegmentTarget:
    """The deleted row with its old id back, so its audit entry names it."""
    target.pk = before["id"]
    return target


def retraining_request(*, actor: Actor) -> None:
    """Schedule a retrain of the propensity models and a recompute of the cross-product matrix."""
    _require(actor, "offers.train_propensity_models")
    from navid.offers import tasks  # the task module imports this one

    transaction.on_commit(lambda: tasks.retrain_propensity_models.delay())
    transaction.on_commit(lambda: tasks.recompute_cross_product_matrix.delay())
