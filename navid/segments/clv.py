"""Customer value models: BG/NBD (repeat purchases and drop-out), Gamma-Gamma (spend), CLV and RFM scores.

Pure numerical code on numpy arrays, with no Django: the nightly value job reads the transactions, calls
these functions and stores what they return. Time is counted in *periods* (weeks unless the caller chose
otherwise in `summary_from_transactions`); every argument named `t`, `recency`, `T` or `horizon_periods`
uses the same period. The maths and how to read the results are in `docs/clv.md`.

References: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2); Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary
Value" (note 025).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# SciPy is imported by the functions that use it, not here: the services reach this module at every start of a
# process (through the admin), and importing SciPy's optimiser takes most of a second.

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Fits run L-BFGS-B on log-parameters (positivity for free) with analytic gradients of the mean
# log-likelihood: a few dozen evaluations instead of the thousand a derivative-free search needs.
_OPTIMISER_OPTIONS = {"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2_000}
# A line search that stalls this close to a zero gradient has found the optimum all the same.
_GRADIENT_TOLERANCE = 1e-6
# Parameters are searched between these bounds; an estimate at a bound means the data does not identify
# the model (for example no customer ever bought twice), not a usable estimate.
_SMALLEST_PARAMETER = 1e-8
_LARGEST_PARAMETER = 1e8

Objective = Callable[[FloatArray], tuple[float, FloatArray]]


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: purchase rate ~ Gamma(shape r, rate alpha); drop-out chance ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: spend per purchase ~ Gamma(p, nu), and nu ~ Gamma(shape q, rate gamma)."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class RfmSummary:
    """Per-customer repeat-purchase summary; arrays are aligned and ordered by sorted customer id."""

    customer_ids: npt.NDArray[Any]
    frequency: IntArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray


@dataclass(frozen=True)
class RfmScores:
    """Recency, frequency and monetary scores, each 1 (lowest) .. bins (highest), aligned with the input."""

    recency: IntArray
    frequency: IntArray
    monetary: IntArray


# --- input checks ---------------------------------------------------------------------------------------


def _float_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """Return values as a float array, refusing non-numeric, NaN and infinite entries."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers") from error
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers (no NaN or infinity)")
    return array


def _fit_column(values: npt.ArrayLike, name: str) -> FloatArray:
    """Return one non-empty, one-dimensional, finite column of per-customer data."""
    array = _float_array(values, name)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size == 0:
        raise ValueError(f"{name} is empty: at least one customer is needed")
    return array


def _same_length(**columns: FloatArray) -> None:
    """Refuse fitting columns of different lengths."""
    lengths = {name: column.size for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"columns differ in length: {described}")


def _check_history(frequency: FloatArray, recency: FloatArray, T: FloatArray) -> None:
    """Refuse repeat-purchase histories that cannot happen."""
    if np.any(frequency < 0):
        raise ValueError("frequency must not be negative")
    if np.any(frequency != np.floor(frequency)):
        raise ValueError("frequency must be whole numbers (a count of repeat purchases)")
    if np.any(recency < 0):
        raise ValueError("recency must not be negative")
    if np.any(T < 0):
        raise ValueError("T must not be negative")
    if np.any(recency > T):
        raise ValueError("recency must not exceed T (the last purchase cannot come after the end)")


def _history(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return checked frequency, recency and T broadcast to one shape, for predictions."""
    x = _float_array(frequency, "frequency")
    t_x = _float_array(recency, "recency")
    age = _float_array(T, "T")
    try:
        x, t_x, age = np.broadcast_arrays(x, t_x, age)
    except ValueError as error:
        raise ValueError("frequency, recency and T have shapes that do not match") from error
    _check_history(x, t_x, age)
    return x, t_x, age


def _minimise(objective: Objective, start: FloatArray, model: str) -> FloatArray:
    """Minimise objective over log-parameters and return the parameters, or raise ValueError if that failed."""
    from scipy import optimize

    low, high = np.log(_SMALLEST_PARAMETER), np.log(_LARGEST_PARAMETER)
    result = optimize.minimize(
        objective,
        np.clip(start, low, high),
        jac=True,
        method="L-BFGS-B",
        bounds=[(low, high)] * start.size,
        options=_OPTIMISER_OPTIONS,
    )
    flat = np.isfinite(result.fun) and bool(np.all(np.abs(result.jac) < _GRADIENT_TOLERANCE))
    if not (result.success and np.isfinite(result.fun)) and not flat:
        raise ValueError(f"{model} fit did not converge: {result.message}")
    log_parameters = np.asarray(result.x, dtype=np.float64)
    if np.any((log_parameters <= low + 1e-6) | (log_parameters >= high - 1e-6)):
        raise ValueError(
            f"{model} fit did not converge: parameters ran off to {np.exp(log_parameters).tolist()}; "
            "the data does not identify the model (too few repeat purchases?)"
        )
    parameters: FloatArray = np.exp(log_parameters)
    return parameters


# --- BG/NBD ---------------------------------------------------------------------------------------------


def _bg_nbd_terms(
    params: BgNbdParams, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return the three log-terms of each customer's BG/NBD likelihood: common, alive, dropped out."""
    from scipy import special

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # L = B(a,b+x)/B(a,b) * G(r+x) alpha^r / G(r) * [ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
    # The bracket is "still alive at T" plus "dropped out right after the last purchase"; it is summed in
    # log space (log-sum-exp) so that large x or T cannot underflow either term.
    common = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    alive_at_end = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped_out = np.full_like(x, -np.inf)
    dropped_out[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return common, alive_at_end, dropped_out


def _bg_nbd_log_likelihood(
    params: BgNbdParams, x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray
) -> float:
    """Return the BG/NBD log-likelihood of the histories, each counted `weights` times."""
    common, alive_at_end, dropped_out = _bg_nbd_terms(params, x, t_x, T)
    return float(np.sum(weights * (common + np.logaddexp(alive_at_end, dropped_out))))


def _bg_nbd_objective(
    log_params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray
) -> tuple[float, FloatArray]:
    """Return minus the mean BG/NBD log-likelihood at exp(log_params) and its gradient in log_params."""
    from scipy import special

    r, alpha, a, b = np.exp(log_params)
    with np.errstate(all="ignore"):
        common, alive_at_end, dropped_out = _bg_nbd_terms(BgNbdParams(r, alpha, a, b), x, t_x, T)
        both = np.logaddexp(alive_at_end, dropped_out)
        # Shares of the two likelihood terms: the derivative of log-sum-exp weighs each term's derivative.
        alive_share = np.exp(alive_at_end - both)
        dropped_share = np.exp(dropped_out - both)
        psi = special.digamma
        d_r = (
            psi(r + x)
            - psi(r)
            + np.log(alpha)
            - alive_share * np.log(alpha + T)
            - dropped_share * np.log(alpha + t_x)
        )
        d_alpha = r / alpha - (r + x) * (alive_share / (alpha + T) + dropped_share / (alpha + t_x))
        d_a = psi(a + b) - psi(a + b + x) + dropped_share / a
        d_b = (
            psi(b + x)
            - psi(a + b + x)
            - psi(b)
            + psi(a + b)
            - dropped_share / np.where(x > 0, b + x - 1, 1.0)
        )
        total = weights.sum()
        value = -float(np.sum(weights * (common + both))) / total
        gradient = (
            -np.array(
                [
                    r * np.sum(weights * d_r),
                    alpha * np.sum(weights * d_alpha),
                    a * np.sum(weights * d_a),
                    b * np.sum(weights * d_b),
                ]
            )
            / total
        )
    if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
        return np.inf, np.zeros(4)
    return value, gradient


def bg_nbd_fit(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike, *, initial: BgNbdParams | None = None
) -> BgNbdParams:
    """Fit the BG/NBD model by maximum likelihood to per-customer frequency, recency and age T."""
    x = _fit_column(frequency, "frequency")
    t_x = _fit_column(recency, "recency")
    age = _fit_column(T, "T")
    _same_length(frequency=x, recency=t_x, T=age)
    _check_history(x, t_x, age)
    if not np.any(x > 0):
        raise ValueError("no customer has a repeat purchase (frequency > 0): the BG/NBD cannot be fitted")
    # Customers with the same history add the same term: fit on the distinct histories, weighted.
    histories, counts = np.unique(np.column_stack([x, t_x, age]), axis=0, return_counts=True)
    ux, ut_x, uage = histories[:, 0], histories[:, 1], histories[:, 2]
    weights = counts.astype(np.float64)

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        """Return minus the mean log-likelihood of the distinct histories and its gradient."""
        return _bg_nbd_objective(log_params, ux, ut_x, uage, weights)

    if initial is None:
        # alpha is a time scale: start it at the mean age so the start suits weeks, days or months alike.
        initial = BgNbdParams(r=1.0, alpha=max(float(np.mean(age)), 1.0), a=1.0, b=1.0)
    first_guess = np.array([initial.r, initial.alpha, initial.a, initial.b], dtype=np.float64)
    if not np.all(np.isfinite(first_guess) & (first_guess > 0)):
        raise ValueError("initial parameters must be positive and finite")
    start = np.log(first_guess)
    r, alpha, a, b = _minimise(objective, start, "BG/NBD")
    return BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def bg_nbd_log_likelihood(
    params: BgNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> float:
    """Return the BG/NBD log-likelihood of the customers' histories under params."""
    x, t_x, age = (column.ravel() for column in _history(frequency, recency, T))
    return _bg_nbd_log_likelihood(params, x, t_x, age, np.ones_like(x))


def _away_from_one(a: float) -> float:
    """Return a, moved off a == 1 where the expectation formula has a removable 0/0."""
    # The error this makes is of the order of the nudge, far below what the data can tell.
    nudge = 1e-7
    return a if abs(a - 1.0) >= nudge else 1.0 + nudge


def bg_nbd_expected_purchases(
    params: BgNbdParams, t: npt.ArrayLike, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Return each customer's expected number of purchases in the next t periods, given their history."""
    x, t_x, age = _history(frequency, recency, T)
    horizon = _float_array(t, "t")
    if np.any(horizon < 0):
        raise ValueError("t must not be negative")
    return _expected_purchases(params, horizon, x, age, _probability_alive(params, x, t_x, age))


def _expected_purchases(
    params: BgNbdParams, horizon: FloatArray, x: FloatArray, T: FloatArray, alive: FloatArray
) -> FloatArray:
    """Return E[purchases in the next `horizon` periods] for checked arrays and their P(alive)."""
    from scipy import special

    r, alpha, b = params.r, params.alpha, params.b
    a = _away_from_one(params.a)
    # E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]
    #                       / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)),   z = t/(alpha+T+t);
    # the denominator's reciprocal is P(alive). Euler's transformation turns the bracket into
    # 1 - (1-z)^(a-1) 2F1(a-1, a+b-1-r; a+b+x-1; z), whose upper parameters do not grow with x, so heavy
    # buyers stay accurate.
    z = horizon / (alpha + T + horizon)
    c = a + b + x - 1
    bracket = 1.0 - np.power(1.0 - z, a - 1.0) * special.hyp2f1(a - 1.0, a + b - 1.0 - r, c, z)
    result: FloatArray = (c / (a - 1.0)) * bracket * alive
    return result


def bg_nbd_expected_purchases_new_customer(params: BgNbdParams, t: npt.ArrayLike) -> FloatArray:
    """Return the expected number of repeat purchases in the first t periods of a newly acquired customer."""
    # A customer just acquired has bought once (x = 0 repeats) at age T = 0 and is surely alive.
    return bg_nbd_expected_purchases(params, t, 0.0, 0.0, 0.0)


def _probability_alive(params: BgNbdParams, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """Return P(alive at T | x, t_x, T) for checked arrays."""
    from scipy import special

    # P = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)); the odds are formed in log space.
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds_dead = np.full(x.shape, -np.inf)
    log_odds_dead[repeat] = (
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + (r + x[repeat]) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )
    alive: FloatArray = special.expit(-log_odds_dead)
    return alive


def bg_nbd_probability_alive(
    params: BgNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Return the probability that each customer is still active at the end of their observation."""
    x, t_x, age = _history(frequency, recency, T)
    return _probability_alive(params, x, t_x, age)


# --- Gamma-Gamma ----------------------------------------------------------------------------------------


def _gamma_gamma_log_likelihood(params: GammaGammaParams, x: FloatArray, m: FloatArray) -> float:
    """Return the Gamma-Gamma log-likelihood of mean repeat spends m over x purchases."""
    from scipy import special

    p, q, gamma = params.p, params.q, params.gamma
    px = p * x
    # f(m | x) = G(px+q) / (G(px) G(q)) * gamma^q * m^(px-1) * x^px / (gamma + m x)^(px+q)
    terms = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )
    return float(np.sum(terms))


def _gamma_gamma_objective(log_params: FloatArray, x: FloatArray, m: FloatArray) -> tuple[float, FloatArray]:
    """Return minus the mean Gamma-Gamma log-likelihood at exp(log_params) and its gradient in log_params."""
    from scipy import special

    p, q, gamma = np.exp(log_params)
    with np.errstate(all="ignore"):
        value = -_gamma_gamma_log_likelihood(GammaGammaParams(p, q, gamma), x, m) / x.size
        px = p * x
        psi = special.digamma
        log_total = np.log(gamma + m * x)
        d_p = x * (psi(px + q) - psi(px) + np.log(m) + np.log(x) - log_total)
        d_q = psi(px + q) - psi(q) + np.log(gamma) - log_total
        d_gamma = q / gamma - (px + q) / (gamma + m * x)
        gradient = -np.array([p * np.sum(d_p), q * np.sum(d_q), gamma * np.sum(d_gamma)]) / x.size
    if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
        return np.inf, np.zeros(3)
    return value, gradient


def gamma_gamma_fit(frequency: npt.ArrayLike, monetary_value: npt.ArrayLike) -> GammaGammaParams:
    """Fit the Gamma-Gamma spend model by maximum likelihood to repeat buyers (frequency > 0)."""
    x = _fit_column(frequency, "frequency")
    m = _fit_column(monetary_value, "monetary_value")
    _same_length(frequency=x, monetary_value=m)
    if np.any(x <= 0):
        raise ValueError(
            "gamma_gamma_fit takes repeat buyers only: every frequency must be > 0 "
            "(leave out customers without repeat purchases)"
        )
    if np.any(x != np.floor(x)):
        raise ValueError("frequency must be whole numbers (a count of repeat purchases)")
    if np.any(m <= 0):
        raise ValueError("monetary_value must be > 0 for every repeat buyer")

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        """Return minus the mean log-likelihood of the repeat buyers and its gradient."""
        return _gamma_gamma_objective(log_params, x, m)

    # The spend scale sits in gamma: starting it at the mean spend suits any currency unit.
    start = np.log(np.array([1.0, 1.0, float(np.mean(m))], dtype=np.float64))
    p, q, gamma = _minimise(objective, start, "Gamma-Gamma")
    return GammaGammaParams(p=float(p), q=float(q), gamma=float(gamma))


def gamma_gamma_expected_average_value(
    params: GammaGammaParams, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
) -> FloatArray:
    """Return each customer's expected spend per future purchase; frequency 0 gives the population mean."""
    x = _float_array(frequency, "frequency")
    m = _float_array(monetary_value, "monetary_value")
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError as error:
        raise ValueError("frequency and monetary_value have shapes that do not match") from error
    if np.any(x < 0):
        raise ValueError("frequency must not be negative")
    if np.any((x > 0) & (m <= 0)):
        raise ValueError("monetary_value must be > 0 for customers with frequency > 0")
    p, q, gamma = params.p, params.q, params.gamma
    if q <= 1:
        raise ValueError(f"q = {q} <= 1: the model's mean spend is infinite, so no expected value exists")
    # E[Z | x, m] = p (gamma + m x) / (p x + q - 1): a weighted average of the population mean
    # p gamma / (q - 1) and the customer's own mean m, the weight on m growing with x.
    observed = np.where(x > 0, m, 0.0)
    result: FloatArray = p * (gamma + observed * x) / (p * x + q - 1)
    return result


# --- customer lifetime value ----------------------------------------------------------------------------


def customer_lifetime_value(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    horizon_periods: int,
    discount_rate_per_period: float,
) -> FloatArray:
    """Return each customer's discounted expected spend over the next horizon_periods periods."""
    if isinstance(horizon_periods, bool) or not isinstance(horizon_periods, int | np.integer):
        raise ValueError("horizon_periods must be a whole number of periods")
    if horizon_periods < 1:
        raise ValueError("horizon_periods must be at least 1")
    if not np.isfinite(discount_rate_per_period) or discount_rate_per_period <= -1:
        raise ValueError("discount_rate_per_period must be a finite rate above -1 (for example 0.002)")
    x, t_x, age = _history(frequency, recency, T)
    average_value = gamma_gamma_expected_average_value(gg, x, monetary_value)
    alive = _probability_alive(bg, x, t_x, age)
    # Purchases expected in period k, (E[Y(k)] - E[Y(k-1)]), are valued at the end of that period.
    total = np.zeros(np.broadcast_shapes(x.shape, average_value.shape), dtype=np.float64)
    previous = np.zeros_like(total)
    for period in range(1, int(horizon_periods) + 1):
        cumulative = _expected_purchases(bg, np.asarray(float(period), dtype=np.float64), x, age, alive)
        total += (cumulative - previous) / (1.0 + discount_rate_per_period) ** period
        previous = cumulative
    result: FloatArray = total * average_value
    return result


# --- summaries and scores -------------------------------------------------------------------------------


def summary_from_transactions(
    customer_ids: npt.ArrayLike,
    dates: Sequence[dt.date] | npt.ArrayLike,
    amounts: npt.ArrayLike,
    *,
    observation_end: dt.date | np.datetime64 | str,
    period_days: float = 7,
) -> RfmSummary:
    """Build each customer's frequency, recency, age T and mean repeat spend from transaction rows."""
    # Purchases are counted per day: several transactions of one customer on one day are one purchase whose
    # amount is their sum. The first purchase day starts the customer's clock and is not a repeat purchase:
    #   frequency      = purchase days - 1
    #   recency        = (last purchase day - first purchase day) / period_days
    #   T              = (observation_end - first purchase day) / period_days
    #   monetary_value = mean amount of the repeat purchase days (0 when frequency is 0)
    # Rows after observation_end are left out, so a history can be cut at a calibration date.
    ids = np.asarray(customer_ids)
    try:
        days = np.asarray(dates, dtype="datetime64[D]")
        end = np.asarray(observation_end, dtype="datetime64[D]")
    except (TypeError, ValueError) as error:
        raise ValueError("dates and observation_end must be dates") from error
    spend = _float_array(amounts, "amounts")
    if end.ndim != 0:
        raise ValueError("observation_end must be a single date")
    if ids.ndim != 1 or days.ndim != 1 or spend.ndim != 1:
        raise ValueError("customer_ids, dates and amounts must be one-dimensional")
    if not ids.size == days.size == spend.size:
        raise ValueError(
            f"columns differ in length: customer_ids={ids.size}, dates={days.size}, amounts={spend.size}"
        )
    if np.any(np.isnat(days)) or np.isnat(end):
        raise ValueError("dates and observation_end must not be empty (NaT)")
    if not np.isfinite(period_days) or period_days <= 0:
        raise ValueError("period_days must be a positive number of days")

    observed = days <= end
    ids, days, spend = ids[observed], days[observed], spend[observed]
    if ids.size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return RfmSummary(ids, np.zeros(0, dtype=np.int64), empty, empty.copy(), empty.copy())

    customers, customer_index = np.unique(ids, return_inverse=True)
    origin = days.min()
    day_number = (days - origin).astype(np.int64)
    span = int(day_number.max()) + 1
    # One key per (customer, day); sorted keys group each customer's purchase days in date order.
    keys, key_index = np.unique(customer_index.astype(np.int64) * span + day_number, return_inverse=True)
    day_amount = np.bincount(key_index.ravel(), weights=spend, minlength=keys.size)
    day_customer = keys // span
    day_of_purchase = keys % span
    n = customers.size
    first = np.searchsorted(day_customer, np.arange(n), side="left")
    last = np.searchsorted(day_customer, np.arange(n), side="right") - 1

    frequency = (last - first).astype(np.int64)
    recency = (day_of_purchase[last] - day_of_purchase[first]) / period_days
    end_day = int((end - origin).astype(np.int64))
    age = (end_day - day_of_purchase[first]) / period_days
    repeat_day = np.ones(keys.size, dtype=bool)
    repeat_day[first] = False
    repeat_spend = np.bincount(day_customer[repeat_day], weights=day_amount[repeat_day], minlength=n)
    monetary = np.zeros(n, dtype=np.float64)
    np.divide(repeat_spend, frequency, out=monetary, where=frequency > 0)
    return RfmSummary(
        customer_ids=customers,
        frequency=frequency,
        recency=recency.astype(np.float64),
        T=age.astype(np.float64),
        monetary_value=monetary,
    )


def _quantile_scores(values: FloatArray, bins: int) -> IntArray:
    """Return 1 + floor(bins * share of values strictly below each value): equal values share a score."""
    below = np.searchsorted(np.sort(values), values, side="left").astype(np.int64)
    scores: IntArray = 1 + (below * bins) // values.size
    return scores


def rfm_scores(
    recency_days: npt.ArrayLike, frequency: npt.ArrayLike, monetary: npt.ArrayLike, *, bins: int = 5
) -> RfmScores:
    """Score recency (recent = high), frequency and monetary value into quantile bins 1..bins each."""
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError("bins must be a whole number >= 1")
    recency = _fit_column(recency_days, "recency_days")
    count = _fit_column(frequency, "frequency")
    value = _fit_column(monetary, "monetary")
    _same_length(recency_days=recency, frequency=count, monetary=value)
    if np.any(recency < 0):
        raise ValueError("recency_days must not be negative")
    if np.any(count < 0):
        raise ValueError("frequency must not be negative")
    return RfmScores(
        recency=_quantile_scores(-recency, int(bins)),
        frequency=_quantile_scores(count, int(bins)),
        monetary=_quantile_scores(value, int(bins)),
    )
