"""Extra kinds of segment condition, added by the apps to the right of segments (ADR 0005).

Segments may not import those apps, so an app that wants its data usable in segments registers a kind of
condition here from its `AppConfig.ready()` (an explicit call, not a signal): the pydantic node of the rule tree
(a `rules.ConditionNode` whose `type` is a literal tag), how it compiles to a Q on Customer (one query, bound
parameters), how it reads in words, and how it is evaluated in Python for one customer (the tests compare the
two). `rules`, `compiler` and `describe` consult this registry for every tag they do not know themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

from django.db.models import Q
from django.utils.functional import Promise

from navid.segments import rules

if TYPE_CHECKING:
    from navid.customers.models import Customer
    from navid.segments.compiler import Context


@dataclass(frozen=True)
class ConditionKind:
    """One registered kind of condition."""

    tag: str
    schema: type[rules.ConditionNode]
    compile: Callable[[Any, str, Context], Q]
    describe: Callable[[Any], str]
    evaluate: Callable[[Any, Customer, dt.datetime], bool]
    label: Promise | str
    example: dict[str, Any]  # the fields of a new node in the builder (without "type")


_KINDS: dict[str, ConditionKind] = {}


def _tag_of(schema: type[rules.ConditionNode]) -> str:
    field = schema.model_fields.get("type")
    values = get_args(field.annotation) if field is not None else ()
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{schema.__name__}.type must be a Literal of one text")
    return str(values[0])


def register_condition(
    *,
    kind: str,
    schema: type[rules.ConditionNode],
    compile_fn: Callable[[Any, str, Context], Q],
    describe_fn: Callable[[Any], str],
    python_eval_fn: Callable[[Any, Customer, dt.datetime], bool],
    label: Promise | str,
    example: dict[str, Any] | None = None,
) -> ConditionKind:
    """Add (or, registered again, replace) a kind of condition: the rule grammar accepts it from now on."""
    if kind in rules.BUILTIN_TAGS:
        raise ValueError(f"{kind!r} is a built-in kind of condition")
    if not issubclass(schema, rules.ConditionNode) or _tag_of(schema) != kind:
        raise TypeError(f"{schema.__name__} must be a rules.ConditionNode with type Literal[{kind!r}]")
    entry = ConditionKind(
        tag=kind,
        schema=schema,
        compile=compile_fn,
        describe=describe_fn,
        evaluate=python_eval_fn,
        label=label,
        example=dict(example or {}),
    )
    _KINDS[kind] = entry
    rules.extra_nodes_set([k.schema for k in _KINDS.values()])
    return entry


def condition_kind(tag: str) -> ConditionKind | None:
    """The registered kind with this tag, if any."""
    return _KINDS.get(tag)


def condition_kind_of(node: Any) -> ConditionKind:
    """The registered kind of a node of the tree; KeyError for a node of no registered kind."""
    return _KINDS[str(getattr(node, "type", ""))]


def condition_kinds() -> list[ConditionKind]:
    """Every registered kind, in the order of registration."""
    return list(_KINDS.values())
