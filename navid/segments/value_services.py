"""Recompute each customer's score, priority, RFM, actual and potential value, lifecycle and loyalty.

`values_recompute` does every customer at once, set-based: a few aggregate queries (one pass over the
transactions), numpy for the arithmetic (`scoring`, `clv`), and one bulk upsert of `CustomerValue` (COPY
into a temporary table on PostgreSQL). It records a `ValueRun` with the fitted BG/NBD and Gamma-Gamma
parameters and the RFM cut points, which `value_recompute_one` reuses to score one customer on demand.
Formulas and defaults: `docs/value.md`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.apps import apps
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from navid.accounts.models import Region
from navid.customers.models import (
    Customer,
    PartyStatus,
    ProductHolding,
    ProductType,
    ProspectRank,
    Transaction,
)
from navid.segments import clv
from navid.segments.models import (
    CustomerValue,
    LifecycleRule,
    LoyaltySettings,
    ScoringModel,
    ValueRun,
    ValueSettings,
)
from navid.segments.scoring import (
    COMPLAINT_KIND,
    DAYS_PER_YEAR,
    NO_TRANSACTION_RECENCY_DAYS,
    REQUEST_KIND,
    FeeRule,
    LifecycleThresholds,
    LoyaltyWeights,
    ReferenceIds,
    RulesInvalid,
    ScoringFacts,
    actual_values,
    balance_income,
    exchange_rates_parse,
    fee_income_parse,
    lifecycle_phases,
    loyalty_indexes,
    loyalty_parts,
    margin_rates_parse,
    points_scores,
    priority_bands,
    rfm_cut_points,
    rfm_score_with_cuts,
    scoring_rules_parse,
)

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PERIOD_DAYS = 7  # the purchase model counts time in weeks
RFM_BINS = 5
TREND_DAYS_SCORING = 90  # the points rule "transactions in the last 90 days"
_EPOCH = dt.date(1970, 1, 1)
_FAR_DAY = 10_000_000  # "never": the closing day of an open product
_NO_DAY = -10_000_000  # a missing date
# Sorting beats hashing for the per-customer-day pass on PostgreSQL: it streams in customer order (from the
# (customer, time) index when the table is in that order) instead of holding millions of groups in memory.
_PG_SESSION = ("SET LOCAL work_mem = '256MB'", "SET LOCAL enable_hashagg = off")
_COPY_FROM_ROWS = 1000  # PostgreSQL takes more rows than this with COPY, fewer with a batched INSERT
_MONEY_LIMIT = 10.0**16 - 0.01  # CustomerValue money fields hold 18 digits, 2 after the point


@dataclass
class RecomputeReport:
    """What one recompute did: how many customers, how long each phase took, the fits and any warnings."""

    run_id: int = 0
    customers: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    bg_nbd: dict[str, float] | None = None
    gamma_gamma: dict[str, float] | None = None
    fit_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    priorities: dict[str, int] = field(default_factory=dict)
    lifecycles: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- configuration, read once per run -------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    """The analysts' settings as plain values, checked once."""

    reporting_currency: str
    exchange_rates: dict[str, float]
    margin_rates: dict[str, float]
    default_margin_rate: float
    fee_income: dict[str, FeeRule]
    cost_to_serve_per_year: float
    cost_per_interaction: float
    turnover_margin: float
    horizon_weeks: int
    annual_discount_rate: float
    lifecycle: LifecycleThresholds
    trend_days: int
    loyalty: LoyaltyWeights
    scoring: ScoringModel | None
    rules: list[Any]


def _config(warnings: list[str]) -> _Config:
    values = ValueSettings.load()
    lifecycle = LifecycleRule.load()
    loyalty = LoyaltySettings.load()
    try:
        exchange_rates = exchange_rates_parse(values.exchange_rates)
        margin_rates = margin_rates_parse(values.margin_rates)
        fee_income = fee_income_parse(values.fee_income)
    except RulesInvalid as error:
        raise ValueError(f"value settings are not valid: {error}") from error
    exchange_rates.setdefault(values.reporting_currency, 1.0)
    unknown_kinds = sorted(set(fee_income) - set(Transaction.TxKind.values))
    if unknown_kinds:
        warnings.append(f"fee income names transaction types that do not exist: {', '.join(unknown_kinds)}")
    scoring = ScoringModel.objects.filter(is_active=True).first()
    rules: list[Any] = []
    if scoring is None:
        warnings.append("no active scoring model: every score is 0 and every priority D")
    else:
        try:
            rules = scoring_rules_parse(scoring.rules)
        except RulesInvalid as error:
            raise ValueError(f"the active scoring model {scoring.name!r} is not valid: {error}") from error
    return _Config(
        reporting_currency=values.reporting_currency,
        exchange_rates=exchange_rates,
        margin_rates=margin_rates,
        default_margin_rate=float(values.default_margin_rate),
        fee_income=fee_income,
        cost_to_serve_per_year=float(values.cost_to_serve_per_year),
        cost_per_interaction=float(values.cost_per_interaction),
        turnover_margin=float(values.turnover_margin),
        horizon_weeks=int(values.horizon_weeks),
        annual_discount_rate=float(values.annual_discount_rate),
        lifecycle=LifecycleThresholds(
            new_days=lifecycle.new_days,
            dormant_days=lifecycle.dormant_days,
            trend_percent=float(lifecycle.trend_percent),
        ),
        trend_days=lifecycle.trend_days,
        loyalty=LoyaltyWeights(
            tenure_weight=float(loyalty.tenure_weight),
            tenure_full_years=float(loyalty.tenure_full_years),
            requests_weight=float(loyalty.requests_weight),
            requests_full=loyalty.requests_full,
            complaints_weight=float(loyalty.complaints_weight),
            complaints_full=loyalty.complaints_full,
        ),
        scoring=scoring,
        rules=rules,
    )


@dataclass(frozen=True)
class _Clock:
    """The moment of the run and its day number (days since 1970-01-01) in the bank's time zone."""

    now: dt.datetime
    today: int
    offset_seconds: int  # the bank's UTC offset at `now`; every timestamp is turned into a day with it


def _clock(now: dt.datetime | None) -> _Clock:
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    local = now.astimezone(timezone.get_default_timezone())
    offset = local.utcoffset() or dt.timedelta(0)
    return _Clock(now=now, today=(local.date() - _EPOCH).days, offset_seconds=int(offset.total_seconds()))


# --- SQL, the same on SQLite and PostgreSQL apart from a few expressions ---------------------------------


class _Sql:
    """Quoted names and the vendor's spelling of day numbers and float casts."""

    def __init__(self, offset_seconds: int) -> None:
        self.vendor = connection.vendor
        self.qn = connection.ops.quote_name
        self.offset = int(offset_seconds)

    def table(self, model: type[Any]) -> str:
        return str(self.qn(model._meta.db_table))

    def column(self, model: type[Any], name: str) -> str:
        return str(self.qn(model._meta.get_field(name).column))

    def date_day(self, column: str) -> str:
        """Days since 1970-01-01 of a date column."""
        if self.vendor == "postgresql":
            return f"({column} - DATE '1970-01-01')"
        return f"(CAST(strftime('%%s', {column}) AS INTEGER) / 86400)"

    def time_day(self, column: str) -> str:
        """Days since 1970-01-01 of a UTC timestamp column, in the bank's time zone (a whole-second offset)."""
        if self.vendor == "postgresql":
            return f"((({column} + INTERVAL '{self.offset} seconds') AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"
        return f"((CAST(strftime('%%s', {column}) AS INTEGER) + {self.offset}) / 86400)"

    def real(self, expression: str) -> str:
        return f"CAST({expression} AS {'DOUBLE PRECISION' if self.vendor == 'postgresql' else 'REAL'})"


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[tuple[Any, ...]]:
    """Rows as columns; empty columns when there are no rows."""
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def _matrix(rows: Sequence[Sequence[Any]], width: int) -> FloatArray:
    """Numeric rows as one float array (whole numbers below 2**53 stay exact), in one conversion."""
    if not rows:
        return np.zeros((0, width), dtype=np.float64)
    try:
        return np.array(rows, dtype=np.float64)
    except TypeError:  # a NULL: a sum over nothing
        return np.array([[0.0 if v is None else v for v in row] for row in rows], dtype=np.float64)


def _ints(values: Sequence[Any]) -> IntArray:
    """A column of whole numbers (the queries leave no NULL in them)."""
    return np.array(values, dtype=np.int64)


def _floats(values: Sequence[Any]) -> FloatArray:
    """A column of amounts; a sum over no rows (NULL) is 0."""
    try:
        return np.array(values, dtype=np.float64)
    except TypeError:
        return np.array([0.0 if v is None else v for v in values], dtype=np.float64)


# --- per-customer facts --------------------------------------------------------------------------------------


@dataclass
class _Facts:
    """Everything the arithmetic needs, one entry per customer in id order (amounts in reporting currency)."""

    customer_ids: IntArray
    is_prospect: BoolArray
    region_ids: IntArray
    prospect_rank_ids: IntArray
    since_day: IntArray
    open_products: IntArray
    balance_non_credit: FloatArray
    balance_credit: FloatArray
    balance_income: FloatArray
    held_customer: IntArray
    held_product_type: IntArray
    purchase_days: IntArray  # distinct days with a transaction, whole history
    first_day: IntArray  # _NO_DAY without transactions
    last_day: IntArray
    repeat_amount: FloatArray  # the amounts of every purchase day but the first
    transactions_90_days: IntArray
    transactions_year: IntArray
    turnover_year: FloatArray
    turnover_recent: FloatArray
    turnover_previous: FloatArray
    fee_income: FloatArray
    interactions: IntArray | None
    requests: IntArray | None
    complaints: IntArray | None

    @property
    def size(self) -> int:
        return int(self.customer_ids.size)


def _sum_by(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Per-customer sums of weights given each entry's customer index."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


def _index_of(customer_ids: IntArray, ids: IntArray) -> tuple[IntArray, BoolArray]:
    """Positions of ids among the sorted customer_ids, and which ids are there at all."""
    if customer_ids.size == 0:
        return np.zeros(ids.size, dtype=np.int64), np.zeros(ids.size, dtype=bool)
    position = np.searchsorted(customer_ids, ids).astype(np.int64)
    position = np.minimum(position, customer_ids.size - 1)
    return position, customer_ids[position] == ids


def _load_customers(
    cursor: CursorWrapper, sql: _Sql, customer_id: int | None
) -> tuple[IntArray, BoolArray, IntArray, IntArray, IntArray, IntArray]:
    c = Customer
    where, params = (
        (f"{sql.column(c, 'deleted_at')} IS NULL AND {sql.column(c, 'merged_into')} IS NULL", [])
        if customer_id is None
        else (f"{sql.column(c, 'id')} = %s", [customer_id])
    )
    cursor.execute(
        f"SELECT {sql.column(c, 'id')},"  # noqa: S608 - names from the model's metadata; values are parameters
        f" CASE WHEN {sql.column(c, 'status')} = %s THEN 1 ELSE 0 END,"
        f" COALESCE({sql.column(c, 'region')}, -1), COALESCE({sql.column(c, 'prospect_rank')}, -1),"
        f" COALESCE({sql.date_day(sql.column(c, 'customer_since'))}, {_NO_DAY}),"
        f" {sql.time_day(sql.column(c, 'created_at'))}"
        f" FROM {sql.table(c)} WHERE {where} ORDER BY {sql.column(c, 'id')}",
        [PartyStatus.PROSPECT.value, *params],
    )
    ids, prospect, region, rank, since, created = _matrix(cursor.fetchall(), 6).astype(np.int64).T
    return ids, prospect.astype(bool), region, rank, since, created


@dataclass
class _Holdings:
    customer: IntArray  # index into the customers
    product_type: IntArray
    currency: npt.NDArray[np.str_]
    opened_day: IntArray
    closed_day: IntArray
    balance: FloatArray


def _load_holdings(
    cursor: CursorWrapper, sql: _Sql, customer_ids: IntArray, customer_id: int | None
) -> _Holdings:
    h = ProductHolding
    where, params = (
        ("", []) if customer_id is None else (f" WHERE {sql.column(h, 'customer')} = %s", [customer_id])
    )
    cursor.execute(
        f"SELECT {sql.column(h, 'customer')}, {sql.column(h, 'product_type')}, {sql.column(h, 'currency')},"  # noqa: S608
        f" {sql.date_day(sql.column(h, 'opened_on'))},"
        f" COALESCE({sql.date_day(sql.column(h, 'closed_on'))}, {_FAR_DAY}),"
        f" {sql.real(sql.column(h, 'balance'))} FROM {sql.table(h)}{where}",
        params,
    )
    owner, product, currency, opened, closed, balance = _columns(cursor.fetchall(), 6)
    position, known = _index_of(customer_ids, _ints(owner))
    return _Holdings(
        customer=position[known],
        product_type=_ints(product)[known],
        currency=np.asarray(currency, dtype="<U3")[known] if currency else np.zeros(0, dtype="<U3"),
        opened_day=_ints(opened)[known],
        closed_day=_ints(closed)[known],
        balance=_floats(balance)[known],
    )


def _fee_cases(sql: _Sql, fees: dict[str, FeeRule]) -> tuple[str, str, list[Any]]:
    """The SQL of a transaction's fee income: a share of its amount, or a fixed sum, by kind."""
    kind = sql.column(Transaction, "kind")
    amount = "ABS(" + sql.real(sql.column(Transaction, "amount")) + ")"
    shares = [(k, rule.share_of_amount) for k, rule in sorted(fees.items()) if rule.share_of_amount]
    fixed = [(k, rule.per_transaction) for k, rule in sorted(fees.items()) if rule.per_transaction]
    params: list[Any] = []
    share_sql = fixed_sql = "0"
    if shares:
        share_sql = f"CASE {kind}" + "".join(f" WHEN %s THEN {amount} * %s" for _ in shares) + " ELSE 0 END"
        params += [value for pair in shares for value in pair]
    if fixed:
        fixed_sql = f"CASE {kind}" + "".join(" WHEN %s THEN %s" for _ in fixed) + " ELSE 0 END"
        params += [value for pair in fixed for value in pair]
    return share_sql, fixed_sql, params


def _load_transactions(
    cursor: CursorWrapper,
    sql: _Sql,
    clock: _Clock,
    config: _Config,
    customer_id: int | None,
) -> list[tuple[Any, ...]]:
    """One pass over the transactions: per customer, purchase days and the sums every figure needs."""
    t = Transaction
    share_sql, fixed_sql, fee_params = _fee_cases(sql, config.fee_income)
    amount = "ABS(" + sql.real(sql.column(t, "amount")) + ")"
    customer = sql.column(t, "customer")
    occurred = sql.column(t, "occurred_at")
    where = f"{occurred} <= %s"
    where_params: list[Any] = [clock.now]
    if customer_id is not None:
        where += f" AND {customer} = %s"
        where_params.append(customer_id)
    today = clock.today
    year_start = today - DAYS_PER_YEAR  # days after this one are in the last 12 months
    # Purchases are counted per day, as clv.summary_from_transactions counts them. The window runs over each
    # customer's rows in time order (the (customer, occurred_at) index gives that order without sorting):
    # a row opens a purchase day when its day differs from the row before, and the first day is not a
    # repeat purchase. Columns: customer, purchase days, first day, last day, repeat amount, transactions
    # in 90 days and in the year, turnover of the year, of the recent and of the previous trend window,
    # fee shares, fixed fees.
    query = (
        "SELECT customer_id, SUM(new_day), MIN(day), MAX(day),"  # noqa: S608 - names from the models; values are parameters
        " SUM(CASE WHEN day > first_day THEN amount ELSE 0 END),"
        " SUM(CASE WHEN day > %s THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN day > %s THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN day > %s THEN amount ELSE 0 END),"
        " SUM(CASE WHEN day > %s THEN amount ELSE 0 END),"
        " SUM(CASE WHEN day > %s AND day <= %s THEN amount ELSE 0 END),"
        " SUM(CASE WHEN day > %s THEN fee_share ELSE 0 END),"
        " SUM(CASE WHEN day > %s THEN fee_fixed ELSE 0 END)"
        " FROM (SELECT customer_id, day, amount, fee_share, fee_fixed,"
        " CASE WHEN day = LAG(day) OVER w THEN 0 ELSE 1 END AS new_day, FIRST_VALUE(day) OVER w AS first_day"
        f" FROM (SELECT {customer} AS customer_id, {occurred} AS occurred_at, {sql.time_day(occurred)} AS day,"
        f" {amount} AS amount, {share_sql} AS fee_share, {fixed_sql} AS fee_fixed"
        f" FROM {sql.table(t)} WHERE {where}) AS movements"
        " WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at)) AS marked"
        " GROUP BY customer_id"
    )
    params = [
        today - TREND_DAYS_SCORING,
        year_start,
        year_start,
        today - config.trend_days,
        today - 2 * config.trend_days,
        today - config.trend_days,
        year_start,
        year_start,
        *fee_params,
        *where_params,
    ]
    cursor.execute(query, params)
    return list(cursor.fetchall())


def _interaction_source() -> tuple[type[Any], dict[str, str]] | None:
    """The interactions model and its columns, when that app is installed; it is optional for this one."""
    if not apps.is_installed("navid.interactions"):
        return None
    try:
        model = apps.get_model("interactions", "Interaction")
        columns = {name: model._meta.get_field(name).column for name in ("customer", "kind", "occurred_at")}
    except LookupError:
        return None
    return model, columns


def _load_interactions(
    cursor: CursorWrapper, sql: _Sql, clock: _Clock, customer_ids: IntArray, customer_id: int | None
) -> tuple[IntArray, IntArray, IntArray] | None:
    """Interactions, requests and complaints of the last 12 months per customer; None without that app."""
    source = _interaction_source()
    if source is None:
        return None
    model, columns = source
    qn = sql.qn
    customer, kind, occurred = (qn(columns[name]) for name in ("customer", "kind", "occurred_at"))
    where = f"{occurred} > %s AND {occurred} <= %s"
    params: list[Any] = [
        REQUEST_KIND,
        COMPLAINT_KIND,
        clock.now - dt.timedelta(days=DAYS_PER_YEAR),
        clock.now,
    ]
    if customer_id is not None:
        where += f" AND {customer} = %s"
        params.append(customer_id)
    cursor.execute(
        f"SELECT {customer}, COUNT(*), SUM(CASE WHEN {kind} = %s THEN 1 ELSE 0 END),"  # noqa: S608
        f" SUM(CASE WHEN {kind} = %s THEN 1 ELSE 0 END)"
        f" FROM {sql.table(model)} WHERE {where} GROUP BY {customer}",
        params,
    )
    owner, total, requests, complaints = _columns(cursor.fetchall(), 4)
    position, known = _index_of(customer_ids, _ints(owner))
    counts = []
    for values in (total, requests, complaints):
        column = np.zeros(customer_ids.size, dtype=np.int64)
        column[position[known]] = _ints(values)[known]
        counts.append(column)
    return counts[0], counts[1], counts[2]


def _main_currency(holdings: _Holdings, size: int, fallback: str) -> npt.NDArray[np.str_]:
    """Each customer's currency: that of most of their products (the first by code on a tie)."""
    result = np.full(size, fallback, dtype="<U3")
    if holdings.customer.size == 0:
        return result
    codes, code_index = np.unique(holdings.currency, return_inverse=True)
    pairs, counts = np.unique(
        np.column_stack([holdings.customer, code_index.ravel()]), axis=0, return_counts=True
    )
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    ordered = pairs[order]
    first = np.ones(ordered.shape[0], dtype=bool)
    first[1:] = ordered[1:, 0] != ordered[:-1, 0]
    result[ordered[first, 0]] = codes[ordered[first, 1]]
    return result


def _rates(currencies: npt.NDArray[np.str_], config: _Config, missing: dict[str, int]) -> FloatArray:
    """Exchange rate of each entry; a currency without a rate counts 1:1 and is noted in `missing`."""
    rates = np.ones(currencies.size, dtype=np.float64)
    for code in np.unique(currencies):
        where = currencies == code
        rate = config.exchange_rates.get(str(code))
        if rate is None:
            missing[str(code)] = missing.get(str(code), 0) + int(where.sum())
        else:
            rates[where] = rate
    return rates


def _facts(
    cursor: CursorWrapper, clock: _Clock, config: _Config, warnings: list[str], customer_id: int | None = None
) -> _Facts:
    sql = _Sql(clock.offset_seconds)
    ids, is_prospect, region, rank, since, created = _load_customers(cursor, sql, customer_id)
    size = ids.size
    holdings = _load_holdings(cursor, sql, ids, customer_id)
    transactions = _load_transactions(cursor, sql, clock, config, customer_id)
    interactions = _load_interactions(cursor, sql, clock, ids, customer_id)

    today = clock.today
    # Customer since: the recorded date, else the first product opened, else the day the record was made.
    first_opened = np.full(size, _FAR_DAY, dtype=np.int64)
    np.minimum.at(first_opened, holdings.customer, holdings.opened_day)
    since = np.where(since != _NO_DAY, since, np.where(first_opened != _FAR_DAY, first_opened, created))

    missing: dict[str, int] = {}
    holding_rate = _rates(holdings.currency, config, missing)
    # Margins and the credit flag per product type, spread to the holdings by one indexed lookup.
    product_ids, product_index = np.unique(holdings.product_type, return_inverse=True)
    product_index = product_index.ravel()
    types = {row[0]: row[1:] for row in ProductType.objects.values_list("id", "code", "is_credit")}
    margin = np.array(
        [
            config.margin_rates.get(types.get(int(p), ("", False))[0], config.default_margin_rate)
            for p in product_ids
        ],
        dtype=np.float64,
    )[product_index]
    is_credit = np.array([bool(types.get(int(p), ("", False))[1]) for p in product_ids], dtype=bool)[
        product_index
    ]
    is_open = holdings.closed_day > today
    balance = holdings.balance * holding_rate
    balance_non_credit = _sum_by(holdings.customer, np.where(is_open & ~is_credit, balance, 0.0), size)
    balance_credit = _sum_by(holdings.customer, np.where(is_open & is_credit, balance, 0.0), size)
    income = balance_income(
        balances=balance,
        margin_rates=margin,
        opened_day=holdings.opened_day,
        closed_day=holdings.closed_day,
        today=today,
    )

    customer_rate = _rates(_main_currency(holdings, size, config.reporting_currency), config, {})
    columns = _matrix(transactions, 12)
    position, known = _index_of(ids, columns[:, 0].astype(np.int64))
    at = position[known]

    def spread_floats(column: int) -> FloatArray:
        spread = np.zeros(size, dtype=np.float64)
        spread[at] = columns[known, column]
        return spread

    def spread_ints(column: int, fill: int = 0) -> IntArray:
        spread = np.full(size, fill, dtype=np.int64)
        spread[at] = columns[known, column].astype(np.int64)
        return spread

    if missing:
        described = ", ".join(f"{code} ({count} products)" for code, count in sorted(missing.items()))
        warnings.append(
            f"no exchange rate to {config.reporting_currency} for {described}: their amounts were counted 1:1"
        )
    return _Facts(
        customer_ids=ids,
        is_prospect=is_prospect,
        region_ids=region,
        prospect_rank_ids=rank,
        since_day=since,
        open_products=np.bincount(holdings.customer[is_open], minlength=size).astype(np.int64),
        balance_non_credit=balance_non_credit,
        balance_credit=balance_credit,
        balance_income=_sum_by(holdings.customer, income, size),
        held_customer=holdings.customer[is_open],
        held_product_type=holdings.product_type[is_open],
        purchase_days=spread_ints(1),
        first_day=spread_ints(2, _NO_DAY),
        last_day=spread_ints(3, _NO_DAY),
        repeat_amount=spread_floats(4) * customer_rate,
        transactions_90_days=spread_ints(5),
        transactions_year=spread_ints(6),
        turnover_year=spread_floats(7) * customer_rate,
        turnover_recent=spread_floats(8) * customer_rate,
        turnover_previous=spread_floats(9) * customer_rate,
        fee_income=spread_floats(10) * customer_rate + spread_floats(11),
        interactions=None if interactions is None else interactions[0],
        requests=None if interactions is None else interactions[1],
        complaints=None if interactions is None else interactions[2],
    )


# --- the purchase model -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _History:
    """Weekly repeat-purchase summary of every customer (clv's frequency, recency, T, monetary value)."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary: FloatArray
    fit: BoolArray  # customers whose own history the models are fitted on


def _history(facts: _Facts, today: int) -> _History:
    """The summary clv.summary_from_transactions would make, from the per-customer aggregates.

    A customer without transactions is taken as having joined with a first purchase on their "customer
    since" day; a prospect as a customer won today (x = t_x = T = 0), so their potential value is that
    of a new customer.
    """
    bought = facts.purchase_days > 0
    frequency = np.where(bought, facts.purchase_days - 1, 0).astype(np.float64)
    start = np.where(bought, facts.first_day, np.minimum(facts.since_day, today))
    recency = np.where(bought, (facts.last_day - facts.first_day) / PERIOD_DAYS, 0.0)
    age = np.maximum(today - start, 0) / PERIOD_DAYS
    age = np.maximum(age, recency)
    monetary = np.zeros(facts.size, dtype=np.float64)
    np.divide(facts.repeat_amount, frequency, out=monetary, where=frequency > 0)
    prospect = facts.is_prospect
    return _History(
        frequency=np.where(prospect, 0.0, frequency),
        recency=np.where(prospect, 0.0, recency),
        T=np.where(prospect, 0.0, age),
        monetary=np.where(prospect, 0.0, monetary),
        fit=bought & ~prospect,
    )


def _fit(history: _History) -> tuple[clv.BgNbdParams | None, clv.GammaGammaParams | None, list[str]]:
    """Fit BG/NBD on every customer with transactions and Gamma-Gamma on repeat buyers; errors as text."""
    errors: list[str] = []
    bg: clv.BgNbdParams | None = None
    gg: clv.GammaGammaParams | None = None
    fit = history.fit
    try:
        if not np.any(fit):
            raise ValueError("no customer has a transaction")
        bg = clv.bg_nbd_fit(history.frequency[fit], history.recency[fit], history.T[fit])
    except ValueError as error:
        errors.append(f"BG/NBD: {error}")
    repeat = fit & (history.frequency > 0) & (history.monetary > 0)
    try:
        if not np.any(repeat):
            raise ValueError("no customer has a repeat purchase")
        gg = clv.gamma_gamma_fit(history.frequency[repeat], history.monetary[repeat])
        if gg.q <= 1:
            raise ValueError(f"q = {gg.q:.4g} <= 1: the model's mean spend is infinite")
    except ValueError as error:
        errors.append(f"Gamma-Gamma: {error}")
        gg = None
    return bg, gg, errors


def _potential(
    history: _History,
    facts: _Facts,
    bg: clv.BgNbdParams,
    gg: clv.GammaGammaParams,
    config: _Config,
) -> tuple[FloatArray, FloatArray]:
    """Potential value (discounted expected turnover over the horizon x income rate) and P(active)."""
    monetary = np.where(history.frequency > 0, np.maximum(history.monetary, 0.01), 0.0)
    # Prospects, and customers with the same history, share one computation.
    stacked = np.column_stack([history.frequency, history.recency, history.T, monetary])
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    weekly_rate = (1.0 + config.annual_discount_rate) ** (1.0 / 52.0) - 1.0
    value = clv.customer_lifetime_value(
        bg,
        gg,
        unique[:, 0],
        unique[:, 1],
        unique[:, 2],
        unique[:, 3],
        horizon_periods=config.horizon_weeks,
        discount_rate_per_period=weekly_rate,
    )[inverse]
    alive = clv.bg_nbd_probability_alive(bg, unique[:, 0], unique[:, 1], unique[:, 2])[inverse]
    alive = np.where(facts.is_prospect, 0.0, alive)
    return value * config.turnover_margin, alive


# --- everything else -----------------------------------------------------------------------------------------


def _reference_ids() -> ReferenceIds:
    return ReferenceIds(
        product_types=dict(ProductType.objects.values_list("code", "id")),
        regions=dict(Region.objects.values_list("code", "id")),
        prospect_ranks=dict(ProspectRank.objects.values_list("code", "id")),
    )


@dataclass
class _Values:
    """The computed CustomerValue columns, aligned with the customers."""

    customer_ids: IntArray
    score: IntArray
    priority: npt.NDArray[np.str_]
    rfm_recency: IntArray
    rfm_frequency: IntArray
    rfm_monetary: IntArray
    actual_value: FloatArray
    potential_value: FloatArray
    probability_alive: FloatArray
    lifecycle: npt.NDArray[np.str_]
    loyalty_index: FloatArray


def _rfm_inputs(facts: _Facts, today: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """RFM inputs: days since the last transaction, transactions and turnover of the last 12 months."""
    recency = np.where(facts.purchase_days > 0, today - facts.last_day, NO_TRANSACTION_RECENCY_DAYS)
    return (
        np.maximum(recency, 0).astype(np.float64),
        facts.transactions_year.astype(np.float64),
        facts.turnover_year,
    )


def _compute(
    facts: _Facts,
    clock: _Clock,
    config: _Config,
    *,
    rfm_cuts: dict[str, list[float]] | None,
    models: tuple[clv.BgNbdParams | None, clv.GammaGammaParams | None],
    warnings: list[str],
) -> tuple[_Values, dict[str, list[float]]]:
    """Every figure of every customer; RFM by the population (rfm_cuts None) or by stored cut points."""
    today = clock.today
    customers = ~facts.is_prospect
    days_as_customer = np.where(customers, today - facts.since_day, 0)
    years = np.maximum(days_as_customer, 0) / 365.25

    facts_for_rules = ScoringFacts(
        is_prospect=facts.is_prospect,
        region_ids=facts.region_ids,
        prospect_rank_ids=facts.prospect_rank_ids,
        open_products=facts.open_products,
        balance_non_credit=facts.balance_non_credit,
        balance_credit=facts.balance_credit,
        transactions_90_days=facts.transactions_90_days,
        years_as_customer=years,
        held_customer=facts.held_customer,
        held_product_type=facts.held_product_type,
    )
    if config.scoring is None:
        score = np.zeros(facts.size, dtype=np.int64)
        priority = np.full(facts.size, "D", dtype="<U1")
    else:
        score, rule_warnings = points_scores(config.rules, facts_for_rules, _reference_ids())
        warnings.extend(rule_warnings)
        priority = priority_bands(
            score, band_a=config.scoring.band_a, band_b=config.scoring.band_b, band_c=config.scoring.band_c
        )

    recency_days, frequency, monetary = _rfm_inputs(facts, today)
    r = np.zeros(facts.size, dtype=np.int64)
    f = np.zeros(facts.size, dtype=np.int64)
    m = np.zeros(facts.size, dtype=np.int64)
    if rfm_cuts is None:
        rfm_cuts = {"recency": [], "frequency": [], "monetary": []}
        if np.any(customers):
            scores = clv.rfm_scores(
                recency_days[customers], frequency[customers], monetary[customers], bins=RFM_BINS
            )
            r[customers], f[customers], m[customers] = scores.recency, scores.frequency, scores.monetary
            rfm_cuts = {
                "recency": rfm_cut_points(-recency_days[customers], bins=RFM_BINS),
                "frequency": rfm_cut_points(frequency[customers], bins=RFM_BINS),
                "monetary": rfm_cut_points(monetary[customers], bins=RFM_BINS),
            }
    elif rfm_cuts.get("recency"):
        r = np.where(customers, rfm_score_with_cuts(-recency_days, rfm_cuts["recency"]), 0)
        f = np.where(customers, rfm_score_with_cuts(frequency, rfm_cuts["frequency"]), 0)
        m = np.where(customers, rfm_score_with_cuts(monetary, rfm_cuts["monetary"]), 0)

    actual = actual_values(
        balance_income=facts.balance_income,
        fee_income=facts.fee_income,
        days_as_customer_in_year=np.where(customers, np.clip(days_as_customer + 1, 0, DAYS_PER_YEAR), 0),
        interactions=facts.interactions,
        cost_to_serve_per_year=config.cost_to_serve_per_year,
        cost_per_interaction=config.cost_per_interaction,
        is_prospect=facts.is_prospect,
    )

    bg, gg = models
    if bg is not None and gg is not None:
        potential, alive = _potential(_history(facts, today), facts, bg, gg, config)
    else:
        potential, alive = np.where(facts.is_prospect, 0.0, actual), np.zeros(facts.size, dtype=np.float64)

    days_since = np.where(facts.purchase_days > 0, today - facts.last_day, NO_TRANSACTION_RECENCY_DAYS)
    lifecycle = lifecycle_phases(
        is_prospect=facts.is_prospect,
        days_as_customer=days_as_customer,
        open_products=facts.open_products,
        days_since_transaction=days_since,
        turnover_recent=facts.turnover_recent,
        turnover_previous=facts.turnover_previous,
        thresholds=config.lifecycle,
    )
    loyalty = loyalty_indexes(
        years_as_customer=years,
        requests=facts.requests,
        complaints=facts.complaints,
        weights=config.loyalty,
    )
    values = _Values(
        customer_ids=facts.customer_ids,
        score=score,
        priority=priority,
        rfm_recency=r,
        rfm_frequency=f,
        rfm_monetary=m,
        actual_value=np.clip(np.round(actual, 2), -_MONEY_LIMIT, _MONEY_LIMIT),
        potential_value=np.clip(np.round(potential, 2), -_MONEY_LIMIT, _MONEY_LIMIT),
        probability_alive=alive,
        lifecycle=lifecycle,
        loyalty_index=np.round(loyalty, 4),
    )
    return values, rfm_cuts


# --- writing ---------------------------------------------------------------------------------------------------

_VALUE_FIELDS = (
    "customer",
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
    "computed_at",
)


def _value_rows(values: _Values, computed_at: Any) -> Iterator[tuple[Any, ...]]:
    return zip(
        values.customer_ids.tolist(),
        values.score.tolist(),
        values.priority.tolist(),
        values.rfm_recency.tolist(),
        values.rfm_frequency.tolist(),
        values.rfm_monetary.tolist(),
        values.actual_value.tolist(),
        values.potential_value.tolist(),
        values.probability_alive.tolist(),
        values.lifecycle.tolist(),
        values.loyalty_index.tolist(),
        [computed_at] * values.customer_ids.size,
        strict=True,
    )


def _write(cursor: CursorWrapper, values: _Values, computed_at: dt.datetime, *, prune: bool) -> None:
    """Upsert every row of `values`; with `prune`, drop the rows of customers no longer live."""
    sql = _Sql(0)
    table = sql.table(CustomerValue)
    columns = [sql.column(CustomerValue, name) for name in _VALUE_FIELDS]
    column_list = ", ".join(columns)
    key = columns[0]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    if connection.vendor == "postgresql" and values.customer_ids.size >= _COPY_FROM_ROWS:
        # COPY into a private temporary table, then one upsert; dropped here, as the caller's transaction
        # may go on (ON COMMIT DROP would keep it until then).
        cursor.execute("DROP TABLE IF EXISTS pg_temp.navid_value_load")
        cursor.execute(
            f"CREATE TEMPORARY TABLE navid_value_load AS SELECT {column_list} FROM {table} WITH NO DATA"  # noqa: S608
        )
        stamp = computed_at.astimezone(dt.UTC).isoformat()
        text = "".join(
            [
                f"{c}\t{s}\t{p}\t{r}\t{f}\t{m}\t{a:.2f}\t{v:.2f}\t{alive!r}\t{phase}\t{loyal!r}\t{stamp}\n"
                for c, s, p, r, f, m, a, v, alive, phase, loyal, _ in _value_rows(values, None)
            ]
        )
        with cursor.cursor.copy(f"COPY navid_value_load ({column_list}) FROM STDIN") as copy:
            copy.write(text)
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM navid_value_load"  # noqa: S608
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE navid_value_load")
    else:
        marks = ", ".join(["%s"] * len(columns))
        stored_at = connection.ops.adapt_datetimefield_value(computed_at)
        cursor.executemany(
            f"INSERT INTO {table} ({column_list}) VALUES ({marks})"  # noqa: S608
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}",
            list(_value_rows(values, stored_at)),
        )
    if prune:
        c = Customer
        cursor.execute(
            f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM {sql.table(c)} AS c"  # noqa: S608
            f" WHERE c.{sql.column(c, 'id')} = {table}.{key} AND c.{sql.column(c, 'deleted_at')} IS NULL"
            f" AND c.{sql.column(c, 'merged_into')} IS NULL)"
        )


# --- public services -------------------------------------------------------------------------------------------


@contextmanager
def _phase(report: RecomputeReport, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        report.phases[name] = round(time.perf_counter() - started, 3)


def _count(labels: npt.NDArray[np.str_]) -> dict[str, int]:
    names, counts = np.unique(labels, return_counts=True)
    return {str(name): int(count) for name, count in zip(names, counts, strict=True)}


def values_recompute(*, now: dt.datetime | None = None) -> RecomputeReport:
    """Recompute score, priority, RFM, value, lifecycle and loyalty of every live customer, in bulk.

    Safe to run twice: rows are upserted, never duplicated. A purchase model that cannot be fitted is
    reported in `fit_errors` (and in the ValueRun), and potential value then equals actual value.
    """
    clock = _clock(now)
    started = time.perf_counter()
    report = RecomputeReport()
    run = ValueRun.objects.create(started_at=timezone.now())
    report.run_id = run.pk
    try:
        config = _config(report.warnings)
        # On PostgreSQL the reads share one transaction for their session settings; on SQLite a transaction
        # would hold the database's write lock (IMMEDIATE mode) for as long as the reads take.
        postgresql = connection.vendor == "postgresql"
        with (
            _phase(report, "read"),
            transaction.atomic() if postgresql else nullcontext(),
            connection.cursor() as cursor,
        ):
            if postgresql:
                for statement in _PG_SESSION:
                    cursor.execute(statement)
            facts = _facts(cursor, clock, config, report.warnings)
        if facts.interactions is None:
            report.warnings.append(
                "no interaction data (the interactions app is not installed): loyalty counts the length of "
                "relationship only, and cost to serve leaves out interactions"
            )
        with _phase(report, "fit"):
            history = _history(facts, clock.today)
            bg, gg, report.fit_errors = _fit(history)
        if report.fit_errors:
            report.warnings.append(
                "potential value = actual value, because a purchase model could not be fitted"
            )
        with _phase(report, "compute"):
            values, cuts = _compute(
                facts, clock, config, rfm_cuts=None, models=(bg, gg), warnings=report.warnings
            )
        with _phase(report, "write"):
            with transaction.atomic(), connection.cursor() as cursor:
                _write(cursor, values, clock.now, prune=True)
            if postgresql:
                # Fresh statistics for the segments that filter on these figures.
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(CustomerValue._meta.db_table)}")
    except Exception as error:
        run.finished_at = timezone.now()
        run.report = {**report.as_dict(), "error": str(error)}
        run.save(update_fields=["finished_at", "report"])
        raise
    report.customers = facts.size
    report.bg_nbd = asdict(bg) if bg is not None else None
    report.gamma_gamma = asdict(gg) if gg is not None else None
    report.priorities = _count(values.priority)
    report.lifecycles = _count(values.lifecycle)
    report.seconds = round(time.perf_counter() - started, 3)
    run.finished_at = timezone.now()
    run.customers = facts.size
    run.succeeded = True
    run.params = {
        "computed_at": clock.now.isoformat(),
        "period_days": PERIOD_DAYS,
        "bg_nbd": report.bg_nbd,
        "gamma_gamma": report.gamma_gamma,
        "rfm_cuts": cuts,
    }
    run.report = report.as_dict()
    run.save(update_fields=["finished_at", "customers", "succeeded", "params", "report"])
    for warning in report.warnings:
        logger.warning("value recompute: %s", warning)
    return report


def _stored_models(params: dict[str, Any]) -> tuple[clv.BgNbdParams | None, clv.GammaGammaParams | None]:
    bg = params.get("bg_nbd")
    gg = params.get("gamma_gamma")
    return (
        clv.BgNbdParams(**bg) if isinstance(bg, dict) else None,
        clv.GammaGammaParams(**gg) if isinstance(gg, dict) else None,
    )


@transaction.atomic
def value_recompute_one(*, customer: Customer, now: dt.datetime | None = None) -> CustomerValue:
    """Recompute one customer now, with the purchase models and RFM cut points of the last successful run."""
    clock = _clock(now)
    warnings: list[str] = []
    config = _config(warnings)
    last = ValueRun.objects.filter(succeeded=True).order_by("-started_at", "-id").first()
    params = last.params if last is not None else {}
    with connection.cursor() as cursor:
        facts = _facts(cursor, clock, config, warnings, customer_id=customer.pk)
        if facts.size == 0:
            raise Customer.DoesNotExist(f"customer {customer.pk} does not exist")
        values, _cuts = _compute(
            facts,
            clock,
            config,
            rfm_cuts=params.get("rfm_cuts") or {"recency": [], "frequency": [], "monetary": []},
            models=_stored_models(params),
            warnings=warnings,
        )
        _write(cursor, values, clock.now, prune=False)
    for warning in warnings:
        logger.info("value of customer %s: %s", customer.pk, warning)
    return CustomerValue.objects.get(pk=customer.pk)


@dataclass(frozen=True)
class LoyaltyExplanation:
    """One customer's loyalty index now and the facts and contribution of each of its parts (index points)."""

    index: float
    years_as_customer: float
    requests: int | None  # of the last 12 months; None without interaction data
    complaints: int | None
    tenure_points: float
    requests_points: float | None
    complaints_points: float | None  # zero or negative
    weights: LoyaltyWeights


def loyalty_index_explain(*, customer: Customer, now: dt.datetime | None = None) -> LoyaltyExplanation:
    """The loyalty index of one customer with its parts, from the same facts and formula as the nightly run.

    Nothing is written; the figure can differ from the stored `CustomerValue.loyalty_index` only by what
    happened since that run.
    """
    clock = _clock(now)
    config = _config([])
    with connection.cursor() as cursor:
        facts = _facts(cursor, clock, config, [], customer_id=customer.pk)
    if facts.size == 0:
        raise Customer.DoesNotExist(f"customer {customer.pk} does not exist")
    days_as_customer = np.where(~facts.is_prospect, clock.today - facts.since_day, 0)
    years = np.maximum(days_as_customer, 0) / 365.25
    parts = loyalty_parts(
        years_as_customer=years, requests=facts.requests, complaints=facts.complaints, weights=config.loyalty
    )
    return LoyaltyExplanation(
        index=round(float(parts.index[0]), 4),
        years_as_customer=float(years[0]),
        requests=None if facts.requests is None else int(facts.requests[0]),
        complaints=None if facts.complaints is None else int(facts.complaints[0]),
        tenure_points=float(parts.tenure[0]),
        requests_points=None if parts.requests is None else float(parts.requests[0]),
        complaints_points=None if parts.complaints is None else float(parts.complaints[0]),
        weights=config.loyalty,
    )


@transaction.atomic
def scoring_model_activate(*, scoring_model: ScoringModel) -> ScoringModel:
    """Make this points model the one the nightly recompute uses (and no other)."""
    ScoringModel.objects.filter(is_active=True).exclude(pk=scoring_model.pk).update(is_active=False)
    scoring_model.is_active = True
    scoring_model.save()
    return scoring_model
