"""Rule-tree nodes in words, in the user's language: for "why is this customer in", and for lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Model
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from navid.core.dates import format_date
from navid.customers.models import (
    Channel,
    ConsentPurpose,
    Language,
    PartyKind,
    PartyStatus,
    ProductType,
    Transaction,
)
from navid.customers.validation import REFERENCE_MODELS
from navid.interactions.models import InteractionChannel, InteractionKind, Outcome
from navid.segments import extensions, rules
from navid.segments.models import LifecyclePhase, Priority, Segment

_LISTS: dict[str, type[Model]] = dict(REFERENCE_MODELS)
_CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "kind": dict(PartyKind.choices),
    "status": dict(PartyStatus.choices),
    "language": dict(Language.choices),
    "preferred_channel": dict(Channel.choices),
    "priority": dict(Priority.choices),
    "lifecycle": dict(LifecyclePhase.choices),
}

FIELD_LABELS = {
    "kind": gettext_lazy("kind"),
    "status": gettext_lazy("status"),
    "language": gettext_lazy("preferred language"),
    "preferred_channel": gettext_lazy("preferred channel"),
    "region": gettext_lazy("region"),
    "branch": gettext_lazy("branch"),
    "prospect_type": gettext_lazy("prospect type"),
    "prospect_rank": gettext_lazy("prospect rank"),
    "prospect_status": gettext_lazy("prospect status"),
    "industry": gettext_lazy("industry"),
    "relationship_manager": gettext_lazy("relationship manager"),
    "do_not_contact": gettext_lazy("do not contact"),
    "birth_date": gettext_lazy("birth date"),
    "customer_since": gettext_lazy("customer since"),
    "age": gettext_lazy("age"),
    "city": gettext_lazy("city"),
    "postal_code": gettext_lazy("postal code"),
    "score": gettext_lazy("score"),
    "priority": gettext_lazy("priority"),
    "rfm_recency": gettext_lazy("RFM recency"),
    "rfm_frequency": gettext_lazy("RFM frequency"),
    "rfm_monetary": gettext_lazy("RFM monetary"),
    "actual_value": gettext_lazy("actual value"),
    "potential_value": gettext_lazy("potential value"),
    "probability_alive": gettext_lazy("probability active"),
    "lifecycle": gettext_lazy("lifecycle phase"),
    "loyalty_index": gettext_lazy("loyalty index"),
}
OPERATOR_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "between": gettext_lazy("is between"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "contains": gettext_lazy("contains"),
}
MEASURE_LABELS = {
    "sum": gettext_lazy("sum of transactions"),
    "count": gettext_lazy("number of transactions"),
    "avg": gettext_lazy("average transaction"),
}


def _value(value: Any) -> str:
    if isinstance(value, dt.date):
        return format_date(value, get_language() or "en")  # Jalali with Persian digits in Persian
    if isinstance(value, list | tuple):
        return " – ".join(str(v) for v in value) if len(value) == 2 else ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "" if value is None else str(value)


def _labels(codes: Any, labels: dict[str, Any]) -> str:
    """Codes shown by their names in the user's language (a code without a name stays as it is)."""
    values = codes if isinstance(codes, list | tuple) else [codes]
    return ", ".join(str(labels.get(str(v), v)) for v in values)


def _list_names(field: str, codes: Any) -> str:
    return _list_names_of(_LISTS[field], codes)


def _list_names_of(model: type[Model], codes: Any) -> str:
    values = codes if isinstance(codes, list | tuple) else [codes]
    items = {item.code: item.display_name() for item in model._default_manager.filter(code__in=values)}  # type: ignore[attr-defined]
    return ", ".join(items.get(str(v), str(v)) for v in values)


def _test(test: rules.NumberTest) -> str:
    return f"{OPERATOR_LABELS[test.operator]} {_value(test.value)}"


def _window(window: Any) -> str:
    if window is None:
        return ""
    if isinstance(window, rules.LastDays):
        return ngettext("in the last %(days)s day", "in the last %(days)s days", window.days) % {
            "days": window.days
        }
    if isinstance(window, rules.Between):
        return _("from %(start)s to %(end)s") % {"start": _value(window.start), "end": _value(window.end)}
    n = window.months_ago
    if window.calendar == "jalali":
        if n == 1:
            return _("in the previous Jalali month")
        return ngettext("in the Jalali month %(n)s month ago", "in the Jalali month %(n)s months ago", n) % {
            "n": n
        }
    if n == 1:
        return _("in the previous calendar month")
    return ngettext("in the calendar month %(n)s month ago", "in the calendar month %(n)s months ago", n) % {
        "n": n
    }


def _text(node: Any) -> str:
    if isinstance(node, rules.Group):
        return _("all of these hold") if node.op == "and" else _("at least one of these holds")
    if isinstance(node, rules.FieldCondition):
        if node.field in _LISTS and node.value is not None:
            shown = _list_names(node.field, node.value)
        elif node.field in _CHOICE_LABELS and node.value is not None:
            shown = _labels(node.value, _CHOICE_LABELS[node.field])
        else:
            shown = _value(node.value)
        return f"{FIELD_LABELS[node.field]} {OPERATOR_LABELS[node.operator]} {shown}".strip()
    if isinstance(node, rules.ProductCondition):
        if node.product_types:
            names = _list_names_of(ProductType, node.product_types)
            text = (_("holds one of: %(names)s") if node.has else _("holds none of: %(names)s")) % {
                "names": names
            }
            if node.credit is not None:
                text += " " + (_("(credit)") if node.credit else _("(not credit)"))
        elif node.credit is True:
            text = _("holds a credit product") if node.has else _("holds no credit product")
        elif node.credit is False:
            text = (
                _("holds a product that is not credit")
                if node.has
                else _("holds no product that is not credit")
            )
        else:
            text = _("holds a product") if node.has else _("holds no product")
        if node.balance is not None:
            text += " " + _("with balance %(test)s") % {"test": _test(node.balance)}
        return text
    if isinstance(node, rules.TransactionCondition):
        text = f"{MEASURE_LABELS[node.measure]} {_window(node.window)}"
        if node.kinds:
            text += f" ({_labels(node.kinds, dict(Transaction.TxKind.choices))})"
        if node.channels:
            text += f" ({_labels(node.channels, dict(Transaction.TxChannel.choices))})"
        return f"{text} {_test(node.test)}"
    if isinstance(node, rules.InteractionCondition):
        kinds = _labels(node.kinds, dict(InteractionKind.choices)) if node.kinds else _("any kind")
        if node.channels:
            kinds += "; " + _labels(node.channels, dict(InteractionChannel.choices))
        if node.outcomes:
            kinds += "; " + _labels(node.outcomes, dict(Outcome.choices))
        if node.measure == "count":
            return _("interactions (%(kinds)s) %(window)s: number %(test)s") % {
                "kinds": kinds,
                "window": _window(node.window),
                "test": _test(node.test),
            }
        return _("days since the last interaction (%(kinds)s) %(test)s") % {
            "kinds": kinds,
            "test": _test(node.test),
        }
    if isinstance(node, rules.ConsentCondition):
        text = _("consent for %(channel)s / %(purpose)s") % {
            "channel": dict(Channel.choices).get(node.channel, node.channel),
            "purpose": dict(ConsentPurpose.choices).get(node.purpose, node.purpose),
        }
        return text if node.granted else _("no %(consent)s") % {"consent": text}
    if isinstance(node, rules.ValueCondition):
        if node.one_of is not None:
            return f"{FIELD_LABELS[node.field]} {OPERATOR_LABELS['in']} {_labels(node.one_of, _CHOICE_LABELS[node.field])}"
        assert node.test is not None
        return f"{FIELD_LABELS[node.field]} {_test(node.test)}"
    if isinstance(node, rules.SegmentCondition):
        name = Segment.objects.filter(pk=node.segment_id).values_list("name", flat=True).first()
        return _("member of segment “%(name)s”") % {"name": name or node.segment_id}
    extra = extensions.condition_kind(str(getattr(node, "type", "")))
    if extra is not None:
        return extra.describe(node)
    return str(node)


def describe(node: Any) -> str:
    """One line saying what the node tests, in the active language."""
    text = _text(node)
    return _("not: %(text)s") % {"text": text} if node.negate else text
