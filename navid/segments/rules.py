"""The segment rule tree (R3.1): a versioned grammar, validated by pydantic, stored as JSON.

A definition is `{"version": 1, "root": <group>}`. A group combines conditions with "and" or "or"; any node
can be negated. docs/segments.md documents every node with examples. Nothing here touches the database:
`navid.segments.compiler` turns a validated tree into one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from navid.core.errors import ValidationFailed

GRAMMAR_VERSION = 1
MAX_DEPTH = 8
MAX_NODES = 200
MAX_LIST = 1000

Comparison = Literal["eq", "ne", "lt", "lte", "gt", "gte", "between"]
Number = Annotated[Decimal, Field(ge=Decimal("-1e15"), le=Decimal("1e15"))]
Code = Annotated[str, Field(min_length=1, max_length=100)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    negate: bool = False


# The base of the kinds of condition other apps register through `navid.segments.extensions`.
ConditionNode = _Node


def _check_comparison(operator: str, value: Any) -> None:
    if operator == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(_("“between” takes a list of two values [from, to]"))
        if value[0] > value[1]:
            raise ValueError(_("the first value of “between” must not be above the second"))
    elif isinstance(value, list | tuple):
        raise ValueError(_("“%(op)s” takes a single value") % {"op": operator})


class NumberTest(BaseModel):
    """A comparison of a number: {"operator": "gt", "value": 100000} or between [a, b]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: Comparison
    value: Number | tuple[Number, Number]

    @model_validator(mode="after")
    def _shape(self) -> NumberTest:
        _check_comparison(self.operator, self.value)
        return self


# --- time windows ---


class LastDays(BaseModel):
    """The last N days up to now."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["last_days"]
    days: int = Field(ge=1, le=3660)


class PreviousMonth(BaseModel):
    """A whole calendar month before the current one (1 = last month), Jalali or Gregorian."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["previous_month"]
    months_ago: int = Field(default=1, ge=1, le=120)
    calendar: Literal["jalali", "gregorian"] = "jalali"


class Between(BaseModel):
    """From one date to another, both included."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["between"]
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> Between:
        if self.end < self.start:
            raise ValueError(_("the end of the window is before its start"))
        return self


Window = Annotated[LastDays | PreviousMonth | Between, Field(discriminator="kind")]


# --- conditions ---

CHOICE_FIELDS = ("kind", "status", "language", "preferred_channel")
REFERENCE_FIELDS = ("region", "branch", "prospect_type", "prospect_rank", "prospect_status", "industry")
DATE_FIELDS = ("birth_date", "customer_since")
TEXT_FIELDS = ("city", "postal_code")
CustomerField = Literal[
    "kind",
    "status",
    "language",
    "preferred_channel",
    "region",
    "branch",
    "prospect_type",
    "prospect_rank",
    "prospect_status",
    "industry",
    "relationship_manager",
    "do_not_contact",
    "birth_date",
    "customer_since",
    "age",
    "city",
    "postal_code",
]
FieldOperator = Literal[
    "eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between", "is_empty", "is_not_empty", "contains"
]
_OPERATORS_OF: dict[str, set[str]] = {
    **{f: {"eq", "ne", "in", "not_in"} for f in CHOICE_FIELDS},
    **{f: {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"} for f in REFERENCE_FIELDS},
    "relationship_manager": {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"},
    "do_not_contact": {"eq"},
    **{f: {"eq", "lt", "lte", "gt", "gte", "between", "is_empty", "is_not_empty"} for f in DATE_FIELDS},
    "age": {"eq", "lt", "lte", "gt", "gte", "between"},
    **{f: {"eq", "ne", "contains", "is_empty", "is_not_empty"} for f in TEXT_FIELDS},
}
FieldValue = (
    bool
    | int
    | Decimal
    | dt.date
    | str
    | list[str]
    | tuple[dt.date, dt.date]
    | tuple[Decimal, Decimal]
    | None
)


class FieldCondition(_Node):
    """A test on one of the customer's own fields: {"type": "field", "field": "region", "operator": "in", ...}."""

    type: Literal["field"]
    field: CustomerField
    operator: FieldOperator
    value: FieldValue = None

    @model_validator(mode="after")
    def _fits_the_field(self) -> FieldCondition:
        allowed = _OPERATORS_OF[self.field]
        if self.operator not in allowed:
            raise ValueError(
                _("operator “%(op)s” does not apply to “%(field)s”; use one of: %(allowed)s")
                % {"op": self.operator, "field": self.field, "allowed": ", ".join(sorted(allowed))}
            )
        op, value, name = self.operator, self.value, self.field
        if op in {"is_empty", "is_not_empty"}:
            if value is not None:
                raise ValueError(_("“%(op)s” takes no value") % {"op": op})
            return self
        if value is None:
            raise ValueError(_("a value is required"))
        if op in {"in", "not_in"}:
            if not isinstance(value, list) or not value or len(value) > MAX_LIST:
                raise ValueError(
                    _("“%(op)s” takes a list of 1 to %(max)s values") % {"op": op, "max": MAX_LIST}
                )
            if any(not isinstance(v, str) or not v or len(v) > 150 for v in value):
                raise ValueError(
                    _("every value of the list must be a non-empty text of at most 150 characters")
                )
            return self
        if name == "do_not_contact":
            if not isinstance(value, bool):
                raise ValueError(_("“do_not_contact” takes true or false"))
        elif name in DATE_FIELDS:
            object.__setattr__(self, "value", _as_dates(op, value))
        elif name == "age":
            object.__setattr__(self, "value", _as_numbers(op, value))
        elif not isinstance(value, str) or isinstance(value, bool) or not value or len(value) > 150:
            raise ValueError(_("the value must be a non-empty text of at most 150 characters"))
        return self


def _one_or_pair(op: str, value: Any, one: Callable[[Any], Any]) -> Any:
    """The value read by `one`: a pair [from, to] for "between", a single value otherwise."""
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(_("“between” takes a list of two values [from, to]"))
        pair = (one(value[0]), one(value[1]))
        _check_comparison(op, list(pair))
        return pair
    if isinstance(value, list | tuple):
        raise ValueError(_("“%(op)s” takes a single value") % {"op": op})
    return one(value)


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass  # the message below says what a date must look like
    raise ValueError(_("dates are written YYYY-MM-DD (Gregorian)"))


def _number(v: Any) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, int | float | Decimal | str):
        raise ValueError(_("the value must be a number"))
    try:
        number = Decimal(str(v))
    except ArithmeticError as exc:
        raise ValueError(_("the value must be a number")) from exc
    if not number.is_finite() or abs(number) > Decimal("1e15"):
        raise ValueError(_("the value must be a finite number"))
    return number


def _as_dates(op: str, value: Any) -> Any:
    return _one_or_pair(op, value, _date)


def _as_numbers(op: str, value: Any) -> Any:
    return _one_or_pair(op, value, _number)


class ProductCondition(_Node):
    """Holds (or not) an open product: of given types, or any credit product, with an optional balance test."""

    type: Literal["product"]
    has: bool = True
    product_types: list[Code] = Field(default_factory=list, max_length=MAX_LIST)
    credit: bool | None = None
    balance: NumberTest | None = None


class TransactionCondition(_Node):
    """An aggregate of the customer's transactions in a window: sum, count or average of the amounts."""

    type: Literal["transaction"]
    measure: Literal["sum", "count", "avg"]
    window: Window
    kinds: list[Literal["deposit", "withdrawal", "transfer", "payment", "fee"]] = Field(default_factory=list)
    channels: list[Literal["branch", "atm", "pos", "internet", "mobile"]] = Field(default_factory=list)
    test: NumberTest


class InteractionCondition(_Node):
    """Interactions of given kinds, channels and outcomes: how many in a window, or days since the last one."""

    type: Literal["interaction"]
    measure: Literal["count", "days_since_last"]
    window: Window | None = None
    kinds: list[Code] = Field(default_factory=list, max_length=50)
    channels: list[Code] = Field(default_factory=list, max_length=50)
    outcomes: list[Code] = Field(default_factory=list, max_length=50)
    direction: Literal["inbound", "outbound"] | None = None
    test: NumberTest

    @model_validator(mode="after")
    def _window_fits(self) -> InteractionCondition:
        if self.measure == "count" and self.window is None:
            raise ValueError(_("counting interactions needs a window"))
        if self.measure == "days_since_last" and self.window is not None:
            raise ValueError(_("days since the last interaction takes no window"))
        return self


class ConsentCondition(_Node):
    """The customer has (or has not) given consent for a channel and purpose."""

    type: Literal["consent"]
    channel: Literal["phone", "sms", "email", "mail", "branch"]
    purpose: Literal["marketing", "surveys", "service"] = "marketing"
    granted: bool = True


ValueField = Literal[
    "score",
    "priority",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "actual_value",
    "potential_value",
    "probability_alive",
    "lifecycle",
    "loyalty_index",
]
_VALUE_CHOICES = {
    "priority": {"A", "B", "C", "D"},
    "lifecycle": {"prospect", "new", "growing", "mature", "declining", "dormant", "churned"},
}


class ValueCondition(_Node):
    """A test on what Navid computed for the customer: score, priority, RFM, value, lifecycle, loyalty."""

    type: Literal["value"]
    field: ValueField
    test: NumberTest | None = None
    one_of: list[str] | None = Field(default=None, max_length=10)

    @model_validator(mode="after")
    def _fits_the_field(self) -> ValueCondition:
        choices = _VALUE_CHOICES.get(self.field)
        if choices is not None:
            if self.test is not None or not self.one_of:
                raise ValueError(
                    _("“%(field)s” is tested with one_of: a list from %(choices)s")
                    % {"field": self.field, "choices": ", ".join(sorted(choices))}
                )
            unknown = [v for v in self.one_of if v not in choices]
            if unknown:
                raise ValueError(
                    _("unknown %(field)s: %(values)s") % {"field": self.field, "values": ", ".join(unknown)}
                )
        elif self.test is None or self.one_of is not None:
            raise ValueError(_("“%(field)s” is a number: give a test, not one_of") % {"field": self.field})
        return self


class SegmentCondition(_Node):
    """Member of another segment."""

    type: Literal["segment"]
    segment_id: int = Field(ge=1)


class Group(_Node):
    """Conditions combined with "and" (all hold) or "or" (at least one holds)."""

    type: Literal["group"] = "group"
    op: Literal["and", "or"] = "and"
    children: list[Node] = Field(min_length=1, max_length=MAX_NODES)


Node = Annotated[
    Group
    | FieldCondition
    | ProductCondition
    | TransactionCondition
    | InteractionCondition
    | ConsentCondition
    | ValueCondition
    | SegmentCondition,
    Field(discriminator="type"),
]
Group.model_rebuild()
_BUILTIN_NODES: tuple[type[_Node], ...] = (
    Group,
    FieldCondition,
    ProductCondition,
    TransactionCondition,
    InteractionCondition,
    ConsentCondition,
    ValueCondition,
    SegmentCondition,
)
BUILTIN_TAGS = frozenset(
    {"group", "field", "product", "transaction", "interaction", "consent", "value", "segment"}
)
_extra_tags: frozenset[str] = frozenset()


class SegmentDefinition(BaseModel):
    """A whole rule tree with the version of the grammar it is written in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    root: Group

    @field_validator("root")
    @classmethod
    def _bounded(cls, root: Group) -> Group:
        nodes = 0

        def walk(node: Any, depth: int) -> None:
            nonlocal nodes
            nodes += 1
            if depth > MAX_DEPTH:
                raise ValueError(_("the tree is deeper than %(n)s levels") % {"n": MAX_DEPTH})
            if nodes > MAX_NODES:
                raise ValueError(_("the tree has more than %(n)s conditions") % {"n": MAX_NODES})
            for child in getattr(node, "children", ()):
                walk(child, depth + 1)

        walk(root, 1)
        return root


def extra_nodes_set(schemas: list[type[_Node]]) -> None:
    """Accept the registered kinds of condition (`navid.segments.extensions`) anywhere in a group.

    The union of node types is rebuilt with the extra models, so they are validated like the built-in ones:
    the same "type" discriminator, the same error paths.
    """
    global _extra_tags
    union: Any = Annotated[Union[(*_BUILTIN_NODES, *schemas)], Field(discriminator="type")]
    Group.model_fields["children"] = FieldInfo.merge_field_infos(
        Group.model_fields["children"], annotation=list[union]
    )
    Group.model_rebuild(force=True)
    SegmentDefinition.model_rebuild(force=True)
    _extra_tags = frozenset(str(get_args(schema.model_fields["type"].annotation)[0]) for schema in schemas)


_WINDOW_TAGS = {"last_days", "previous_month", "between"}


def _path(loc: tuple[Any, ...]) -> str:
    """The location of an error as keys and indexes (root.children.2.value), without pydantic's union tags."""
    kept: list[str] = []
    previous: Any = None
    for part in loc:
        tag = (isinstance(previous, int) and (part in BUILTIN_TAGS or part in _extra_tags)) or (
            previous == "window" and part in _WINDOW_TAGS
        )
        if not tag:
            kept.append(str(part))
        previous = part
    return ".".join(kept)


def _pydantic_message(error: Any) -> str:
    """pydantic's message for one error, in the user's language for the kinds a builder or a client meets."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    known = {
        "missing": lambda: _("is required"),
        "extra_forbidden": lambda: _("is not part of this kind of condition"),
        "literal_error": lambda: _("must be one of: %(values)s") % {"values": ctx.get("expected", "")},
        "union_tag_invalid": lambda: (
            _("unknown kind of condition “%(tag)s”; use one of: %(values)s")
            % {"tag": ctx.get("tag", ""), "values": ctx.get("expected_tags", "")}
        ),
        "union_tag_not_found": lambda: _("every condition needs a “type”"),
        "greater_than_equal": lambda: _("must be at least %(n)s") % {"n": ctx.get("ge")},
        "less_than_equal": lambda: _("must be at most %(n)s") % {"n": ctx.get("le")},
        "too_short": lambda: _("needs at least %(n)s items") % {"n": ctx.get("min_length")},
        "too_long": lambda: _("takes at most %(n)s items") % {"n": ctx.get("max_length")},
        "string_too_short": lambda: _("must not be empty"),
        "string_too_long": lambda: _("is longer than %(n)s characters") % {"n": ctx.get("max_length")},
        "int_parsing": lambda: _("must be a whole number"),
        "int_type": lambda: _("must be a whole number"),
        "decimal_parsing": lambda: _("must be a number"),
        "decimal_type": lambda: _("must be a number"),
        "bool_parsing": lambda: _("must be true or false"),
        "bool_type": lambda: _("must be true or false"),
        "date_from_datetime_parsing": lambda: _("dates are written YYYY-MM-DD (Gregorian)"),
        "date_parsing": lambda: _("dates are written YYYY-MM-DD (Gregorian)"),
        "list_type": lambda: _("must be a list"),
        "model_type": lambda: _("must be an object"),
        "model_attributes_type": lambda: _("must be an object"),
        "string_type": lambda: _("must be a text"),
    }
    found = known.get(kind)
    return str(found()) if found else str(error["msg"])


def definition_parse(data: Any) -> SegmentDefinition:
    """A validated rule tree; raise ValidationFailed naming the path of every bad node."""
    if not isinstance(data, dict):
        raise ValidationFailed({"definition": ["must be an object with 'version' and 'root'"]})
    try:
        return SegmentDefinition.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False):
            path = _path(tuple(error["loc"])) or "definition"
            message = _pydantic_message(error)
            errors.setdefault(path, [])
            if message not in errors[path]:
                errors[path].append(message)
        raise ValidationFailed(errors) from exc


def referenced_segments(node: Any) -> set[int]:
    """Ids of the segments a tree refers to, at any depth."""
    if isinstance(node, SegmentCondition):
        return {node.segment_id}
    found: set[int] = set()
    for child in getattr(node, "children", ()):
        found |= referenced_segments(child)
    return found
