"""Forms of the segment pages, and what the rule builder offers: node types, fields, operators and lists."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from navid.accounts.models import Branch, Region
from navid.core.models import ReferenceItem
from navid.customers.forms import BootstrapForm
from navid.customers.models import (
    Channel,
    ConsentPurpose,
    Industry,
    Language,
    PartyKind,
    PartyStatus,
    ProductType,
    ProspectRank,
    ProspectStatus,
    ProspectType,
    Transaction,
)
from navid.interactions.models import (
    ComplaintCategory,
    Direction,
    InteractionChannel,
    InteractionKind,
    Outcome,
)
from navid.segments import extensions, rules
from navid.segments.describe import FIELD_LABELS
from navid.segments.models import LifecyclePhase, Priority, Segment

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_USERS = 2000


class SegmentForm(BootstrapForm):
    """Name and description; the rules come as JSON from the builder, and the service checks everything."""

    name = forms.CharField(
        label=gettext_lazy("name"), required=False, widget=forms.TextInput({"maxlength": 200})
    )
    description = forms.CharField(
        label=gettext_lazy("description"), required=False, widget=forms.Textarea({"rows": 2})
    )


class StaticMembersForm(BootstrapForm):
    """The members of a static segment: one customer number, national ID or Navid id a line."""

    identifiers = forms.CharField(
        label=gettext_lazy("identifiers, one a line"),
        required=False,
        widget=forms.Textarea({"rows": 6, "class": "ltr"}),
        help_text=gettext_lazy("A customer number (external ID), a national ID or a Navid id on each line."),
    )
    file = forms.FileField(
        label=gettext_lazy("or a file (CSV or TXT)"),
        required=False,
        help_text=gettext_lazy(
            "UTF-8 or Windows-1256; one identifier a line; of a CSV line only the first cell is read."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError(_("The file is larger than 20 MB."))
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1256", errors="replace")
            data["lines"] = [_first_cell(line) for line in text.splitlines()]
        else:
            data["lines"] = (data.get("identifiers") or "").splitlines()
        if not any(line.strip() for line in data["lines"]):
            raise forms.ValidationError(_("Give at least one identifier, or a file."))
        return data


def _first_cell(line: str) -> str:
    for separator in (",", ";", "\t", "|"):
        if separator in line:
            return line.split(separator, 1)[0].strip().strip('"')
    return line.strip()


# --- what the builder offers ---

NODE_TYPES = [
    ("field", gettext_lazy("Customer field")),
    ("product", gettext_lazy("Products held")),
    ("transaction", gettext_lazy("Transactions")),
    ("interaction", gettext_lazy("Interactions")),
    ("consent", gettext_lazy("Consent")),
    ("value", gettext_lazy("Score, value or lifecycle")),
    ("segment", gettext_lazy("Member of another segment")),
    ("group", gettext_lazy("Group of conditions (all of / any of)")),
]
OPERATOR_ORDER = (
    "in",
    "not_in",
    "eq",
    "ne",
    "contains",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "is_empty",
    "is_not_empty",
)
OPERATORS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"),
    "gt": gettext_lazy("is more than"),
    "gte": gettext_lazy("is at least"),
    "between": gettext_lazy("is between"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "contains": gettext_lazy("contains"),
}
DATE_OPERATORS = {
    "eq": gettext_lazy("is on"),
    "lt": gettext_lazy("is before"),
    "lte": gettext_lazy("is on or before"),
    "gt": gettext_lazy("is after"),
    "gte": gettext_lazy("is on or after"),
}
_REFERENCE_MODELS: dict[str, type[ReferenceItem]] = {
    "region": Region,
    "branch": Branch,
    "prospect_type": ProspectType,
    "prospect_rank": ProspectRank,
    "prospect_status": ProspectStatus,
    "industry": Industry,
}
_CHOICES: dict[str, Any] = {
    "kind": PartyKind.choices,
    "status": PartyStatus.choices,
    "language": Language.choices,
    "preferred_channel": Channel.choices,
}


def _labels() -> dict[str, str]:
    """Every word the builder's script shows, in the active language."""
    return {
        "customersWhere": _("Customers for whom"),
        "group": _("Group"),
        "combine": _("combine the conditions"),
        "allOf": _("all of these hold"),
        "anyOf": _("at least one of these holds"),
        "not": _("not"),
        "conditionJson": _("the condition's settings (JSON)"),
        "notBadge": _("NOT"),
        "notHelp": _("Turn this on to select the customers for whom this does not hold"),
        "remove": _("Remove"),
        "removeNamed": _("Remove: %(what)s"),
        "addCondition": _("Add a condition"),
        "addToGroup": _("Add to this group"),
        "emptyGroup": _("This group is empty: add a condition to it."),
        "field": _("field"),
        "operator": _("test"),
        "value": _("value"),
        "values": _("values"),
        "date": _("date"),
        "from": _("from"),
        "to": _("to"),
        "choose": _("choose…"),
        "yes": _("yes"),
        "no": _("no"),
        "filter": _("filter the list"),
        "listEmpty": _("The list is empty."),
        "notANumber": _("Write a number, such as 100,000."),
        "notADate": _("Write a date such as 1403/01/01 (Jalali) or 2024-03-20."),
        "chooseDate": _("Choose a date"),
        "previousMonth": _("Previous month"),
        "nextMonth": _("Next month"),
        "when": _("when"),
        "lastDays": _("in the last N days"),
        "previousMonthWindow": _("in a previous calendar month"),
        "betweenDates": _("between two dates"),
        "days": _("days"),
        "monthsAgo": _("months ago (1 = last month)"),
        "calendar": _("calendar"),
        "jalali": _("Jalali"),
        "gregorian": _("Gregorian"),
        "measure": _("measure"),
        "is": _("is"),
        "holds": _("the customer"),
        "holdsYes": _("holds"),
        "holdsNo": _("holds no"),
        "creditFlag": _("kind of product"),
        "anyProduct": _("any product"),
        "creditOnly": _("credit products"),
        "nonCreditOnly": _("products that are not credit"),
        "credit": _("credit"),
        "productTypes": _("product types (none ticked = any)"),
        "withBalance": _("with a balance test"),
        "balance": _("balance"),
        "transactionKinds": _("transaction types (none ticked = all)"),
        "transactionChannels": _("channels (none ticked = all)"),
        "interactionCount": _("number of interactions in a window"),
        "daysSinceLast": _("days since the last interaction"),
        "howMany": _("number"),
        "howManyDays": _("days"),
        "direction": _("direction"),
        "eitherDirection": _("either direction"),
        "interactionKinds": _("kinds"),
        "interactionChannels": _("channels"),
        "outcomes": _("outcomes"),
        "anyWhenNone": _(
            "A list with nothing ticked means any. A customer with no interaction at all has 0 of them."
        ),
        "consent": _("consent"),
        "consentGiven": _("has given consent"),
        "consentNotGiven": _("has not given consent"),
        "channel": _("channel"),
        "purpose": _("purpose"),
        "oneOf": _("is one of"),
        "segment": _("segment"),
        "noSegments": _("There is no other saved segment yet."),
        "gapCondition": _("Complete this condition to see the count."),
        "addFirst": _("Add a condition to see how many customers match."),
        "waitingForGaps": _("Complete the conditions marked to see the count."),
        "counting": _("Counting…"),
        "counted": _("customers match these rules now."),
        "fixErrors": _("Correct the conditions marked in red."),
        "previewFailed": _("The count could not be fetched; the rules are kept and can still be saved."),
        "unreadable": _("The rules sent could not be read; the editor starts from an empty set of rules."),
    }


def _reference(model: type[ReferenceItem], language: str) -> list[dict[str, Any]]:
    items = model._default_manager.filter(is_active=True)
    return [{"code": item.code, "name": item.display_name(language)} for item in items]


def _choices(choices: Any) -> list[dict[str, str]]:
    return [{"code": str(value), "name": str(label)} for value, label in choices]


def _users() -> list[dict[str, str]]:
    users = get_user_model().objects.filter(is_active=True).order_by("username")[:MAX_USERS]
    return [
        {"code": u.get_username(), "name": f"{u.get_full_name() or u.get_username()} ({u.get_username()})"}
        for u in users
    ]


def _field_kind(name: str) -> str:
    if name in rules.CHOICE_FIELDS or name in rules.REFERENCE_FIELDS or name == "relationship_manager":
        return "list"
    if name in rules.DATE_FIELDS:
        return "date"
    if name == "age":
        return "number"
    if name == "do_not_contact":
        return "bool"
    return "text"


def builder_options(*, segment: Segment | None, preview_url: str, customer_url: str) -> dict[str, Any]:
    """What the builder's script needs, in the active language: labels, fields with their operators, lists."""
    language = (get_language() or "en")[:2]
    fields = []
    for name in rules.CustomerField.__args__:  # type: ignore[attr-defined]
        allowed = rules._OPERATORS_OF[name]
        options: list[dict[str, Any]] | None = None
        if name in _CHOICES:
            options = _choices(_CHOICES[name])
        elif name in _REFERENCE_MODELS:
            options = _reference(_REFERENCE_MODELS[name], language)
        elif name == "relationship_manager":
            options = _users()
        fields.append(
            {
                "name": name,
                "label": str(FIELD_LABELS[name]),
                "kind": _field_kind(name),
                "operators": [op for op in OPERATOR_ORDER if op in allowed],
                "options": options,
            }
        )
    values = [
        {
            "name": name,
            "label": str(FIELD_LABELS[name]),
            "options": _choices(Priority.choices)
            if name == "priority"
            else _choices(LifecyclePhase.choices)
            if name == "lifecycle"
            else None,
        }
        for name in rules.ValueField.__args__  # type: ignore[attr-defined]
    ]
    others = Segment.objects.filter(is_archived=False).order_by("name", "id")
    if segment is not None:
        others = others.exclude(pk=segment.pk)
    regions = _reference(Region, language)
    return {
        "language": language,
        "previewUrl": preview_url,
        "customerUrl": customer_url,
        "debounceMs": 400,
        "maxDepth": rules.MAX_DEPTH,
        "labels": _labels(),
        "nodeTypes": [
            *({"type": code, "label": str(label)} for code, label in NODE_TYPES[:-1]),
            # Kinds registered by apps to the right (navid.segments.extensions): edited as JSON.
            *(
                {
                    "type": k.tag,
                    "label": str(k.label),
                    "example": k.example,
                    "help": _("for example: %(json)s") % {"json": json.dumps(k.example)},
                }
                for k in extensions.condition_kinds()
            ),
            *({"type": code, "label": str(label)} for code, label in NODE_TYPES[-1:]),
        ],
        "operators": {op: str(label) for op, label in OPERATORS.items()},
        "dateOperators": {op: str(label) for op, label in DATE_OPERATORS.items()},
        "fields": fields,
        "values": values,
        "productTypes": [
            {"code": p.code, "name": p.display_name(language), "is_credit": p.is_credit}
            for p in ProductType.objects.filter(is_active=True)
        ],
        "transactionMeasures": [
            {"code": "sum", "name": _("sum of amounts")},
            {"code": "count", "name": _("number of transactions")},
            {"code": "avg", "name": _("average amount")},
        ],
        "transactionKinds": _choices(Transaction.TxKind.choices),
        "transactionChannels": _choices(Transaction.TxChannel.choices),
        "interactionKinds": _choices(InteractionKind.choices),
        "interactionChannels": _choices(InteractionChannel.choices),
        "outcomes": _choices(Outcome.choices),
        "directions": _choices(Direction.choices),
        "consentChannels": _choices(Channel.choices),
        "consentPurposes": _choices(ConsentPurpose.choices),
        "complaintCategories": _reference(ComplaintCategory, language),
        "segments": [{"id": s.pk, "name": s.name, "kind": s.kind} for s in others],
        "regionNames": {r["code"]: r["name"] for r in regions},
        "statusNames": {value: str(label) for value, label in PartyStatus.choices},
    }
