"""Rule tree -> one query (R3.1, ARCHITECTURE rule 5).

Every node becomes a Q object on Customer; aggregates become `id IN (SELECT customer_id ... GROUP BY ...
HAVING ...)` subqueries, so the whole tree is one SQL statement built by the ORM with every value a bound
parameter. Codes of the bank's lists are resolved to ids here, and unknown ones are refused with the path of
their node.

Conditions on an aggregate hold for customers with no rows at all when zero satisfies them ("no meeting in the
last 3 months" is a count equal to 0): such a condition is compiled as "not among the customers whose rows
fail the test", which keeps those customers in.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jdatetime
from django.contrib.auth import get_user_model
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, StrIndex
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.core.errors import ValidationFailed
from navid.customers.models import (
    Channel,
    Consent,
    Language,
    PartyKind,
    PartyStatus,
    ProductHolding,
    ProductType,
    Transaction,
)
from navid.customers.validation import REFERENCE_MODELS
from navid.interactions.models import Interaction
from navid.segments import extensions, rules
from navid.segments.models import CustomerValue, Segment, StaticMember

_REFERENCE_MODELS: dict[str, type[Model]] = dict(REFERENCE_MODELS)
_CHOICES: dict[str, set[str]] = {
    "kind": set(PartyKind.values),
    "status": set(PartyStatus.values),
    "language": set(Language.values),
    "preferred_channel": {*Channel.values, ""},
}
_NOTHING = Q(pk__in=[])


@dataclass
class Context:
    """What a compilation needs besides the tree: the moment it is evaluated at, and the segments on the way."""

    now: dt.datetime = field(default_factory=timezone.now)
    stack: tuple[int, ...] = ()

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)


def compile_definition(definition: rules.SegmentDefinition, *, context: Context | None = None) -> Q:
    """The whole tree as one Q on Customer; raise ValidationFailed naming the path of a node it cannot use."""
    return compile_node(definition.root, "root", context or Context())


def compile_node(node: Any, path: str, ctx: Context) -> Q:
    """One node (and everything under it) as a Q; `path` names it in errors."""
    compile_fn = _COMPILERS.get(type(node))
    q = (
        compile_fn(node, path, ctx)
        if compile_fn
        else extensions.condition_kind_of(node).compile(node, path, ctx)
    )
    return ~q if node.negate else q


def _group(node: rules.Group, path: str, ctx: Context) -> Q:
    parts = [compile_node(child, f"{path}.children.{i}", ctx) for i, child in enumerate(node.children)]
    combined = parts[0]
    for part in parts[1:]:
        combined = (combined & part) if node.op == "and" else (combined | part)
    return combined


# --- tests on numbers ---


def number_q(name: str, test: rules.NumberTest) -> Q:
    """`name` compared as the test says."""
    value = test.value
    if test.operator == "between":
        assert isinstance(value, tuple)
        return Q(**{f"{name}__gte": value[0], f"{name}__lte": value[1]})
    if test.operator == "eq":
        return Q(**{name: value})
    if test.operator == "ne":
        return ~Q(**{name: value})
    return Q(**{f"{name}__{test.operator}": value})


def number_holds(number: Decimal | float | None, test: rules.NumberTest) -> bool:
    """The same test in Python; a missing number fails every test."""
    if number is None:
        return False
    value = test.value
    if test.operator == "between":
        assert isinstance(value, tuple)
        return value[0] <= number <= value[1]
    assert not isinstance(value, tuple)
    return {
        "eq": number == value,
        "ne": number != value,
        "lt": number < value,
        "lte": number <= value,
        "gt": number > value,
        "gte": number >= value,
    }[test.operator]


def expression_q(expression: Any, test: rules.NumberTest) -> Q:
    """An SQL expression compared as the test says."""
    value = test.value
    if test.operator == "between":
        assert isinstance(value, tuple)
        return Q(GreaterThanOrEqual(expression, Value(value[0]))) & Q(
            LessThanOrEqual(expression, Value(value[1]))
        )
    assert not isinstance(value, tuple)
    lookup = {
        "eq": Exact,
        "ne": Exact,
        "lt": LessThan,
        "lte": LessThanOrEqual,
        "gt": GreaterThan,
        "gte": GreaterThanOrEqual,
    }[test.operator]
    q = Q(lookup(expression, Value(value)))
    return ~q if test.operator == "ne" else q


def _aggregate_q(rows: QuerySet[Any], aggregate: Any, test: rules.NumberTest, *, empty: Decimal | None) -> Q:
    """Customers whose aggregate over their own `rows` passes the test; those with no rows count as `empty`.

    The aggregate is a subquery correlated with the customer, so the database computes it only for customers
    that the other conditions have not already ruled out, through the (customer, time) index of the rows.
    """
    own = rows.filter(customer_id=OuterRef("pk")).order_by()
    if (
        empty == 0
        and isinstance(aggregate, Count)
        and test.operator in {"eq", "lte", "lt", "gt", "gte", "ne"}
    ):
        # A count compared with nothing or one row is an existence test: a (semi or anti) join.
        none, some = Q(~Exists(own)), Q(Exists(own))
        if (test.operator, test.value) in {("eq", 0), ("lte", 0), ("lt", 1)}:
            return none
        if (test.operator, test.value) in {("gt", 0), ("gte", 1), ("ne", 0)}:
            return some
    measure: Any = Subquery(
        own.values("customer_id").annotate(measure=aggregate).values("measure"),
        output_field=DecimalField(max_digits=24, decimal_places=4),
    )
    if empty is not None:
        return expression_q(Coalesce(measure, Value(empty, output_field=DecimalField())), test)
    # No rows means no average: the test fails, and its negation holds.
    return Q(Exists(own)) & expression_q(measure, test)


# --- windows ---


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def window_bounds(window: Any, ctx: Context) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a window as aware datetimes, in the bank's time zone."""
    if isinstance(window, rules.LastDays):
        return ctx.now - dt.timedelta(days=window.days), ctx.now
    if isinstance(window, rules.Between):
        return _local_midnight(window.start), _local_midnight(window.end + dt.timedelta(days=1))
    today = ctx.today
    if window.calendar == "jalali":
        jtoday = jdatetime.date.fromgregorian(date=today)
        index = jtoday.year * 12 + (jtoday.month - 1) - window.months_ago
        first = jdatetime.date(index // 12, index % 12 + 1, 1).togregorian()
        index += 1
        after = jdatetime.date(index // 12, index % 12 + 1, 1).togregorian()
    else:
        index = today.year * 12 + (today.month - 1) - window.months_ago
        first = dt.date(index // 12, index % 12 + 1, 1)
        index += 1
        after = dt.date(index // 12, index % 12 + 1, 1)
    return _local_midnight(first), _local_midnight(after)


# --- customer fields ---


def _ids_of(model: type[Model], codes: Iterable[str], path: str) -> list[int]:
    wanted = list(dict.fromkeys(codes))
    found = dict(model._default_manager.filter(code__in=wanted).values_list("code", "pk"))
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise ValidationFailed(
            {
                path: [
                    _("unknown code in the list “%(list)s”: %(codes)s")
                    % {"list": model._meta.verbose_name, "codes": ", ".join(unknown)}
                ]
            }
        )
    return [found[c] for c in wanted]


def _user_ids(usernames: Iterable[str], path: str) -> list[int]:
    wanted = list(dict.fromkeys(usernames))
    found = dict(get_user_model().objects.filter(username__in=wanted).values_list("username", "pk"))
    unknown = [u for u in wanted if u not in found]
    if unknown:
        raise ValidationFailed(
            {f"{path}.value": [_("unknown user: %(names)s") % {"names": ", ".join(unknown)}]}
        )
    return [found[u] for u in wanted]


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier (28 February for a 29 February that does not exist)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age_q(test_op: str, value: Any, today: dt.date, path: str) -> Q:
    def whole(number: Decimal) -> int:
        if number != number.to_integral_value() or not 0 <= number <= 200:
            raise ValidationFailed({f"{path}.value": [_("an age is a whole number of years from 0 to 200")]})
        return int(number)

    def at_least(years: int) -> Q:  # age >= years
        return Q(birth_date__lte=years_before(today, years))

    def at_most(years: int) -> Q:  # age <= years
        return Q(birth_date__gt=years_before(today, years + 1))

    if test_op == "between":
        low, high = whole(value[0]), whole(value[1])
        return at_least(low) & at_most(high)
    n = whole(value)
    return {
        "eq": lambda: at_least(n) & at_most(n),
        "lt": lambda: at_most(n - 1) if n > 0 else _NOTHING,
        "lte": lambda: at_most(n),
        "gt": lambda: at_least(n + 1),
        "gte": lambda: at_least(n),
    }[test_op]()


def _field(node: rules.FieldCondition, path: str, ctx: Context) -> Q:
    name, op, value = node.field, node.operator, node.value
    if op == "is_empty":
        if name in rules.TEXT_FIELDS:
            return Q(**{str(name): ""})
        return Q(**{f"{name}__isnull": True})
    if op == "is_not_empty":
        if name in rules.TEXT_FIELDS:
            return ~Q(**{str(name): ""})
        return Q(**{f"{name}__isnull": False})
    if name == "age":
        return _age_q(op, value, ctx.today, path)
    if name in _CHOICES or name in _REFERENCE_MODELS or name == "relationship_manager":
        values = list(value) if isinstance(value, list) else [str(value)]
        column: str = name
        if name in _CHOICES:
            unknown = [v for v in values if v not in _CHOICES[name]]
            if unknown:
                allowed = ", ".join(sorted(v for v in _CHOICES[name] if v))
                raise ValidationFailed(
                    {
                        f"{path}.value": [
                            _("unknown %(field)s: %(values)s; use %(allowed)s")
                            % {"field": name, "values": ", ".join(unknown), "allowed": allowed}
                        ]
                    }
                )
            matched: list[Any] = values
        elif name == "relationship_manager":
            matched, column = _user_ids(values, path), "relationship_manager_id"
        else:
            matched, column = _ids_of(_REFERENCE_MODELS[name], values, f"{path}.value"), f"{name}_id"
        q = Q(**{f"{column}__in": matched})
        return ~q if op in {"ne", "not_in"} else q
    if name == "do_not_contact":
        return Q(do_not_contact=value)
    if name in rules.DATE_FIELDS:
        if op == "between":
            return Q(**{f"{name}__gte": value[0], f"{name}__lte": value[1]})  # type: ignore[index]
        return Q(**{name if op == "eq" else f"{name}__{op}": value})
    # text: exact, or a case-sensitive substring (the same on SQLite and PostgreSQL)
    if op == "contains":
        return Q(GreaterThan(StrIndex(name, Value(value)), 0))
    q = Q(**{str(name): value})
    return ~q if op == "ne" else q


def _product(node: rules.ProductCondition, path: str, ctx: Context) -> Q:
    rows = ProductHolding.objects.filter(closed_on__isnull=True)
    if node.product_types:
        rows = rows.filter(
            product_type_id__in=_ids_of(ProductType, node.product_types, f"{path}.product_types")
        )
    if node.credit is not None:
        rows = rows.filter(product_type__is_credit=node.credit)
    if node.balance is not None:
        rows = rows.filter(number_q("balance", node.balance))
    q = Q(Exists(rows.filter(customer_id=OuterRef("pk"))))
    return q if node.has else ~q


def _transaction(node: rules.TransactionCondition, path: str, ctx: Context) -> Q:
    start, end = window_bounds(node.window, ctx)
    rows = Transaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if node.kinds:
        rows = rows.filter(kind__in=node.kinds)
    if node.channels:
        rows = rows.filter(channel__in=node.channels)
    aggregate = {"sum": Sum("amount"), "count": Count("id"), "avg": Avg("amount")}[node.measure]
    return _aggregate_q(rows, aggregate, node.test, empty=None if node.measure == "avg" else Decimal(0))


def _interaction_rows(node: rules.InteractionCondition) -> QuerySet[Interaction]:
    rows = Interaction.objects.all()
    if node.kinds:
        rows = rows.filter(kind__in=node.kinds)
    if node.channels:
        rows = rows.filter(channel__in=node.channels)
    if node.outcomes:
        rows = rows.filter(outcome__in=node.outcomes)
    if node.direction:
        rows = rows.filter(direction=node.direction)
    return rows


def _days_since_q(last: Any, test: rules.NumberTest, now: dt.datetime) -> Q:
    """A test on whole days since `last` (floor), as a test on `last` itself."""

    def at_least(k: int) -> Q:
        return Q(LessThanOrEqual(last, Value(now - dt.timedelta(days=k))))

    def at_most(k: int) -> Q:
        return Q(GreaterThan(last, Value(now - dt.timedelta(days=k + 1))))

    value = test.value
    if test.operator == "between":
        assert isinstance(value, tuple)
        return at_least(math.ceil(value[0])) & at_most(math.floor(value[1]))
    assert not isinstance(value, tuple)
    integral = value == value.to_integral_value()
    equal = (at_least(int(value)) & at_most(int(value))) if integral else _NOTHING
    return {
        "eq": lambda: equal,
        "ne": lambda: ~equal if integral else ~_NOTHING,
        "lt": lambda: at_most(math.ceil(value) - 1),
        "lte": lambda: at_most(math.floor(value)),
        "gt": lambda: at_least(math.floor(value) + 1),
        "gte": lambda: at_least(math.ceil(value)),
    }[test.operator]()


_NEVER = Decimal("1e18")  # days since the last interaction of a customer who never had one


def _interaction(node: rules.InteractionCondition, path: str, ctx: Context) -> Q:
    rows = _interaction_rows(node)
    if node.measure == "count":
        start, end = window_bounds(node.window, ctx)
        rows = rows.filter(occurred_at__gte=start, occurred_at__lt=end)
        return _aggregate_q(rows, Count("id"), node.test, empty=Decimal(0))
    own = rows.filter(customer_id=OuterRef("pk")).order_by()
    last = Subquery(own.values("customer_id").annotate(last=Max("occurred_at")).values("last"))
    test_q = _days_since_q(last, node.test, ctx.now)
    if number_holds(_NEVER, node.test):
        return Q(~Exists(own)) | test_q
    return Q(Exists(own)) & test_q


def _consent(node: rules.ConsentCondition, path: str, ctx: Context) -> Q:
    given = Consent.objects.filter(channel=node.channel, purpose=node.purpose, granted=True)
    q = Q(Exists(given.filter(customer_id=OuterRef("pk"))))
    return q if node.granted else ~q


def _value(node: rules.ValueCondition, path: str, ctx: Context) -> Q:
    if node.one_of is not None:
        rows = CustomerValue.objects.filter(**{f"{node.field}__in": node.one_of})
    else:
        assert node.test is not None
        rows = CustomerValue.objects.filter(number_q(node.field, node.test))
    return Q(pk__in=rows.values("customer_id"))


def _segment(node: rules.SegmentCondition, path: str, ctx: Context) -> Q:
    if node.segment_id in ctx.stack:
        raise ValidationFailed(
            {f"{path}.segment_id": [_("a segment cannot include itself, directly or through others")]}
        )
    other = Segment.objects.filter(pk=node.segment_id).first()
    if other is None:
        raise ValidationFailed(
            {f"{path}.segment_id": [_("there is no segment %(id)s") % {"id": node.segment_id}]}
        )
    if other.kind == Segment.Kind.STATIC:
        return Q(pk__in=StaticMember.objects.filter(segment=other).values("customer_id"))
    definition = rules.definition_parse(other.definition)
    inner = Context(now=ctx.now, stack=(*ctx.stack, other.pk))
    return compile_node(definition.root, f"{path}<{other.pk}>.root", inner)


_COMPILERS: dict[type, Any] = {
    rules.Group: _group,
    rules.FieldCondition: _field,
    rules.ProductCondition: _product,
    rules.TransactionCondition: _transaction,
    rules.InteractionCondition: _interaction,
    rules.ConsentCondition: _consent,
    rules.ValueCondition: _value,
    rules.SegmentCondition: _segment,
}
