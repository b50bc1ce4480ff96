"""Ranking and value arithmetic: the points model, priority bands, lifecycle phases, loyalty, actual value.

Pure code on numpy arrays aligned by customer, with no database access: `value_services` reads the
aggregates, calls these functions and stores the results. The rules and the formulas are explained for
marketers in `docs/value.md`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAYS_PER_YEAR = 365
# The recency given to customers without any transaction: longer ago than any real one.
NO_TRANSACTION_RECENCY_DAYS = 1_000_000
# Interaction kinds that count for the loyalty index (the interactions app's `kind` codes).
COMPLAINT_KIND = "complaint"
REQUEST_KIND = "request"

# --- the points model ------------------------------------------------------------------------------------


class _Rule(BaseModel):
    """What every rule has: the points it gives, whether it is negated, and a label for people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    points: int = Field(ge=-1000, le=1000)
    negate: bool = False
    label: str = Field(default="", max_length=200)


class HoldsProduct(_Rule):
    """The customer holds an open product of this type (by product type code)."""

    kind: Literal["holds_product"]
    product_type: str = Field(min_length=1, max_length=50)


class ProductCount(_Rule):
    """The customer holds at least this many open products."""

    kind: Literal["product_count"]
    at_least: int = Field(ge=0)


class TotalBalance(_Rule):
    """The balances of open products add up to at least this much, in the reporting currency."""

    kind: Literal["total_balance"]
    at_least: float = Field(ge=0, allow_inf_nan=False)
    include_credit: bool = False


class RecentTransactions(_Rule):
    """The customer made at least this many transactions in the last 90 days."""

    kind: Literal["transactions_90_days"]
    at_least: int = Field(ge=0)


class StatusIs(_Rule):
    """The party is a prospect, or a customer."""

    kind: Literal["status"]
    status: Literal["prospect", "customer"]


class ProspectRankIs(_Rule):
    """The prospect rank has this code."""

    kind: Literal["prospect_rank"]
    code: str = Field(min_length=1, max_length=50)


class YearsAsCustomer(_Rule):
    """The customer has been with the bank for at least this many years."""

    kind: Literal["years_as_customer"]
    at_least: float = Field(ge=0, allow_inf_nan=False)


class RegionIs(_Rule):
    """The customer belongs to the region with this code."""

    kind: Literal["region"]
    code: str = Field(min_length=1, max_length=50)


Rule = (
    HoldsProduct
    | ProductCount
    | TotalBalance
    | RecentTransactions
    | StatusIs
    | ProspectRankIs
    | YearsAsCustomer
    | RegionIs
)
ScoringRule = Annotated[Rule, Field(discriminator="kind")]
_RULES = TypeAdapter(list[ScoringRule])
RULE_KINDS = (
    "holds_product",
    "product_count",
    "total_balance",
    "transactions_90_days",
    "status",
    "prospect_rank",
    "years_as_customer",
    "region",
)


class RulesInvalid(ValueError):
    """A points model's rules do not fit the grammar; `messages` say where ("rules[2].at_least: ...")."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def _error_path(root: str, location: Sequence[int | str], data: Any) -> str:
    """Turn a pydantic error location into "rules[2].at_least", leaving out the union's tag."""
    path = root
    node = data
    tag_may_follow = False
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            tag_may_follow = True
            continue
        if part == "[key]":
            continue  # pydantic's marker of a bad dictionary key: the message says what is wrong with it
        if tag_may_follow and isinstance(node, Mapping) and node.get("kind") == part and part in RULE_KINDS:
            tag_may_follow = False
            continue  # the discriminated union names the rule kind: the index already says which rule
        tag_may_follow = False
        path += f".{part}"
        node = node.get(part) if isinstance(node, Mapping) else None
    return path


def _messages(root: str, error: PydanticValidationError, data: Any) -> list[str]:
    messages = []
    for item in error.errors(include_url=False):
        message = item["msg"]
        if item["type"] == "union_tag_invalid":
            message = f"unknown rule kind; use one of {', '.join(RULE_KINDS)}"
        elif item["type"] == "union_tag_not_found":
            message = f"every rule needs a 'kind', one of {', '.join(RULE_KINDS)}"
        messages.append(f"{_error_path(root, item['loc'], data)}: {message}")
    return messages


def scoring_rules_parse(data: Any) -> list[Rule]:
    """Return the validated rules of a points model, or raise RulesInvalid naming the path of each error."""
    try:
        rules: list[Rule] = _RULES.validate_python(data)
    except PydanticValidationError as error:
        raise RulesInvalid(_messages("rules", error, data)) from error
    return rules


def scoring_model_errors(*, rules: Any, band_a: int, band_b: int, band_c: int) -> dict[str, list[str]]:
    """Field -> problems of a points model (empty when it is valid)."""
    errors: dict[str, list[str]] = {}
    try:
        scoring_rules_parse(rules)
    except RulesInvalid as error:
        errors["rules"] = error.messages
    if band_a is not None and band_b is not None and band_c is not None and not band_a >= band_b >= band_c:
        errors["band_b"] = ["the bands must not overlap: A from a score ≥ B ≥ C"]
    return errors


@dataclass(frozen=True)
class ReferenceIds:
    """Codes of the bank's lists, mapped to their ids, so rules written with codes can be evaluated."""

    product_types: Mapping[str, int]
    regions: Mapping[str, int]
    prospect_ranks: Mapping[str, int]


@dataclass(frozen=True)
class ScoringFacts:
    """What the points rules look at, one entry per customer."""

    is_prospect: BoolArray
    region_ids: IntArray  # -1 without a region
    prospect_rank_ids: IntArray  # -1 without a rank
    open_products: IntArray
    balance_non_credit: FloatArray  # open products, reporting currency
    balance_credit: FloatArray
    transactions_90_days: IntArray
    years_as_customer: FloatArray
    # Open holdings as pairs (customer index, product type id).
    held_customer: IntArray
    held_product_type: IntArray


def points_scores(
    rules: Sequence[Rule], facts: ScoringFacts, ids: ReferenceIds
) -> tuple[IntArray, list[str]]:
    """Return each customer's score (the sum of the points of the rules that hold) and warnings."""
    size = facts.is_prospect.size
    scores = np.zeros(size, dtype=np.int64)
    warnings: list[str] = []
    for index, rule in enumerate(rules):
        held: BoolArray
        if isinstance(rule, HoldsProduct):
            product_id = ids.product_types.get(rule.product_type)
            held = np.zeros(size, dtype=bool)
            if product_id is None:
                warnings.append(f"rules[{index}]: no product type has the code {rule.product_type!r}")
            else:
                held[facts.held_customer[facts.held_product_type == product_id]] = True
        elif isinstance(rule, ProductCount):
            held = facts.open_products >= rule.at_least
        elif isinstance(rule, TotalBalance):
            total = facts.balance_non_credit + (facts.balance_credit if rule.include_credit else 0.0)
            held = total >= rule.at_least
        elif isinstance(rule, RecentTransactions):
            held = facts.transactions_90_days >= rule.at_least
        elif isinstance(rule, StatusIs):
            held = facts.is_prospect if rule.status == "prospect" else ~facts.is_prospect
        elif isinstance(rule, YearsAsCustomer):
            held = ~facts.is_prospect & (facts.years_as_customer >= rule.at_least)
        elif isinstance(rule, ProspectRankIs | RegionIs):
            codes, values, name = (
                (ids.prospect_ranks, facts.prospect_rank_ids, "prospect rank")
                if isinstance(rule, ProspectRankIs)
                else (ids.regions, facts.region_ids, "region")
            )
            wanted = codes.get(rule.code)
            if wanted is None:
                warnings.append(f"rules[{index}]: no {name} has the code {rule.code!r}")
                held = np.zeros(size, dtype=bool)
            else:
                held = values == wanted
        else:  # pragma: no cover - the grammar has no other kinds
            raise TypeError(f"unknown rule {rule!r}")
        if rule.negate:
            held = ~held
        scores += np.where(held, rule.points, 0)
    return scores, warnings


def priority_bands(scores: IntArray, *, band_a: int, band_b: int, band_c: int) -> npt.NDArray[np.str_]:
    """Return "A" for scores from band_a, "B" from band_b, "C" from band_c, and "D" below."""
    bands = np.full(scores.shape, "D", dtype="<U1")
    bands[scores >= band_c] = "C"
    bands[scores >= band_b] = "B"
    bands[scores >= band_a] = "A"
    return bands


# --- RFM cut points ---------------------------------------------------------------------------------------


def rfm_cut_points(values: npt.ArrayLike, *, bins: int = 5) -> list[float]:
    """Return the bins-1 values a score must exceed to reach each next score, as clv.rfm_scores bins them.

    clv.rfm_scores gives 1 + floor(bins * below / n), where `below` counts the values strictly lower.
    The score reaches k + 1 exactly when below >= ceil(k n / bins), that is when the value is greater than
    the (ceil(k n / bins))-th smallest value. Scoring one new customer against these cut points therefore
    gives the score it would have had in the population.
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = ordered.size
    if n == 0:
        return []
    return [float(ordered[math.ceil(k * n / bins) - 1]) for k in range(1, bins)]


def rfm_score_with_cuts(values: npt.ArrayLike, cuts: Sequence[float]) -> IntArray:
    """Return 1 + the number of cut points each value is greater than."""
    array = np.asarray(values, dtype=np.float64)
    scores: IntArray = 1 + np.searchsorted(np.asarray(cuts, dtype=np.float64), array, side="left").astype(
        np.int64
    )
    return scores


# --- lifecycle --------------------------------------------------------------------------------------------

PROSPECT, NEW, GROWING, MATURE, DECLINING, DORMANT, CHURNED = (
    "prospect",
    "new",
    "growing",
    "mature",
    "declining",
    "dormant",
    "churned",
)


@dataclass(frozen=True)
class LifecycleThresholds:
    """The editable thresholds of the lifecycle rules (navid.segments.models.LifecycleRule)."""

    new_days: int
    dormant_days: int
    trend_percent: float


def lifecycle_phases(
    *,
    is_prospect: BoolArray,
    days_as_customer: IntArray,
    open_products: IntArray,
    days_since_transaction: IntArray,  # NO_TRANSACTION_RECENCY_DAYS without any
    turnover_recent: FloatArray,
    turnover_previous: FloatArray,
    thresholds: LifecycleThresholds,
) -> npt.NDArray[np.str_]:
    """Return each customer's phase; the first rule that holds wins, in the order of docs/value.md."""
    change = thresholds.trend_percent / 100.0
    conditions = [
        is_prospect,
        days_as_customer < thresholds.new_days,
        open_products == 0,
        days_since_transaction >= thresholds.dormant_days,
        (turnover_recent > 0) & (turnover_recent >= turnover_previous * (1.0 + change)),
        (turnover_previous > 0) & (turnover_recent <= turnover_previous * (1.0 - change)),
    ]
    phases: npt.NDArray[np.str_] = np.select(
        conditions, [PROSPECT, NEW, CHURNED, DORMANT, GROWING, DECLINING], default=MATURE
    ).astype("<U10")
    return phases


# --- loyalty ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoyaltyWeights:
    """The editable weights of the loyalty index (navid.segments.models.LoyaltySettings)."""

    tenure_weight: float
    tenure_full_years: float
    requests_weight: float
    requests_full: int
    complaints_weight: float
    complaints_full: int


@dataclass(frozen=True)
class LoyaltyParts:
    """The signed contribution of each part to the loyalty index, in index points (before the 0..100 clip).

    A part is None when its data is missing (no interactions app); `index` is the clipped sum.
    """

    tenure: FloatArray
    requests: FloatArray | None
    complaints: FloatArray | None
    index: FloatArray


def loyalty_parts(
    *,
    years_as_customer: FloatArray,
    requests: IntArray | None,
    complaints: IntArray | None,
    weights: LoyaltyWeights,
) -> LoyaltyParts:
    """The loyalty index and what each part adds to it (complaints subtract): see `loyalty_indexes`."""
    scale = weights.tenure_weight + (weights.requests_weight if requests is not None else 0.0)
    zeros = np.zeros(years_as_customer.shape, dtype=np.float64)
    if scale <= 0:
        return LoyaltyParts(
            tenure=zeros,
            requests=None if requests is None else zeros,
            complaints=None if complaints is None else zeros,
            index=zeros,
        )
    tenure = 100.0 * weights.tenure_weight * np.clip(years_as_customer / weights.tenure_full_years, 0.0, 1.0)
    total = tenure / scale
    request_part = complaint_part = None
    if requests is not None:
        request_part = (
            100.0 * weights.requests_weight * np.clip(requests / weights.requests_full, 0.0, 1.0) / scale
        )
        total = total + request_part
    if complaints is not None:
        complaint_part = (
            -100.0
            * weights.complaints_weight
            * np.clip(complaints / weights.complaints_full, 0.0, 1.0)
            / scale
        )
        total = total + complaint_part
    index: FloatArray = np.clip(total, 0.0, 100.0)
    return LoyaltyParts(tenure=tenure / scale, requests=request_part, complaints=complaint_part, index=index)


def loyalty_indexes(
    *,
    years_as_customer: FloatArray,
    requests: IntArray | None,
    complaints: IntArray | None,
    weights: LoyaltyWeights,
) -> FloatArray:
    """Return the loyalty index 0..100 from tenure, requests (+) and complaints (-) of the last year.

    index = 100 * clip((wt * tenure + wr * requests - wc * complaints) / (wt + wr), 0, 1), each part
    0..1 (capped at its "full" amount). Without interaction data (requests and complaints None) the
    requests weight leaves the denominator: the index is then the tenure part alone. `loyalty_parts` gives
    each part's share.
    """
    return loyalty_parts(
        years_as_customer=years_as_customer, requests=requests, complaints=complaints, weights=weights
    ).index


# --- actual value -----------------------------------------------------------------------------------------


def actual_values(
    *,
    balance_income: FloatArray,
    fee_income: FloatArray,
    days_as_customer_in_year: IntArray,
    interactions: IntArray | None,
    cost_to_serve_per_year: float,
    cost_per_interaction: float,
    is_prospect: BoolArray,
) -> FloatArray:
    """Return the profit of the last 12 months: margin on balances + fees - cost to serve; 0 for prospects.

    The yearly cost to serve counts for the share of the year the party was a customer; each interaction
    of the year adds its cost (when interaction data exists).
    """
    share = np.clip(days_as_customer_in_year, 0, DAYS_PER_YEAR) / DAYS_PER_YEAR
    cost = cost_to_serve_per_year * share
    if interactions is not None:
        cost = cost + cost_per_interaction * interactions
    value: FloatArray = np.where(is_prospect, 0.0, balance_income + fee_income - cost)
    return value


def balance_income(
    *,
    balances: FloatArray,
    margin_rates: FloatArray,
    opened_day: IntArray,
    closed_day: IntArray,  # the first day the product was closed; a far future day while open
    today: int,
) -> FloatArray:
    """Return each holding's margin over the last 365 days: rate * balance * share of the year it was open.

    Navid keeps today's balance of each product, not its history, so the year's average balance is taken
    as today's (or, for a closed product, its last) balance for the days the product was open.
    """
    first = today - DAYS_PER_YEAR + 1
    days_open = np.clip(np.minimum(closed_day, today + 1) - np.maximum(opened_day, first), 0, DAYS_PER_YEAR)
    income: FloatArray = margin_rates * balances * days_open / DAYS_PER_YEAR
    return income


# --- settings held as JSON ----------------------------------------------------------------------------------


class _FeeRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_transaction: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    share_of_amount: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)


_Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
_Code = Annotated[str, Field(min_length=1, max_length=50)]
_EXCHANGE_RATES = TypeAdapter(dict[_Currency, Annotated[float, Field(gt=0, allow_inf_nan=False)]])
_MARGIN_RATES = TypeAdapter(dict[_Code, Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)]])
_FEE_INCOME = TypeAdapter(dict[_Code, _FeeRule])


@dataclass(frozen=True)
class FeeRule:
    """Income from one kind of transaction: a fixed amount per transaction plus a share of its amount."""

    per_transaction: float
    share_of_amount: float


def exchange_rates_parse(data: Any) -> dict[str, float]:
    """Validated {currency: units of the reporting currency per unit}; raises RulesInvalid."""
    try:
        rates: dict[str, float] = _EXCHANGE_RATES.validate_python(data)
    except PydanticValidationError as error:
        raise RulesInvalid(_messages("exchange_rates", error, data)) from error
    return rates


def margin_rates_parse(data: Any) -> dict[str, float]:
    """Validated {product type code: yearly margin rate}; raises RulesInvalid."""
    try:
        rates: dict[str, float] = _MARGIN_RATES.validate_python(data)
    except PydanticValidationError as error:
        raise RulesInvalid(_messages("margin_rates", error, data)) from error
    return rates


def fee_income_parse(data: Any) -> dict[str, FeeRule]:
    """Validated {transaction kind: FeeRule}; raises RulesInvalid."""
    try:
        parsed = _FEE_INCOME.validate_python(data)
    except PydanticValidationError as error:
        raise RulesInvalid(_messages("fee_income", error, data)) from error
    return {kind: FeeRule(rule.per_transaction, rule.share_of_amount) for kind, rule in parsed.items()}


def value_settings_errors(*, exchange_rates: Any, margin_rates: Any, fee_income: Any) -> dict[str, list[str]]:
    """Field -> problems of the JSON parts of the value settings (empty when valid)."""
    errors: dict[str, list[str]] = {}
    for field, parse, data in (
        ("exchange_rates", exchange_rates_parse, exchange_rates),
        ("margin_rates", margin_rates_parse, margin_rates),
        ("fee_income", fee_income_parse, fee_income),
    ):
        try:
            parse(data)
        except RulesInvalid as error:
            errors[field] = error.messages
    return errors
