"""Customer value models: published CDNOW estimates, closed forms checked by direct formulas, bad input."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy import optimize

from navid.segments import clv
from navid.segments.clv import BgNbdParams, GammaGammaParams

# The repository checkout sits next to the workspace's shared data: <workspace>/<checkout>/navid/segments/tests.
# A copy of the files of the workspace's shared/data/cdnow (see data/SOURCE.md), so that the check runs from
# any checkout.
CDNOW_DIR = Path(__file__).resolve().parent / "data"

# Fader, Hardie & Lee (2005) on the CDNOW 1/10 sample, and as printed by the lifetimes Quickstart.
PUBLISHED_BG_NBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PRINTED_BG_NBD = BgNbdParams(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752)
# Fader & Hardie, note 025, on the 946 CDNOW customers with repeat purchases.
PUBLISHED_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def _cdnow_path(name: str) -> Path:
    """Return the path of a CDNOW file, failing loudly (never skipping) if it is missing."""
    path = CDNOW_DIR / name
    if not path.is_file():
        pytest.fail(
            f"CDNOW reference data not found at {path.resolve()} (see navid/segments/tests/data/SOURCE.md)",
            pytrace=False,
        )
    return path


def _cdnow(name: str) -> Any:
    """Return a CDNOW CSV as a structured array with named columns."""
    return np.genfromtxt(_cdnow_path(name), delimiter=",", names=True)


def _three_significant(value: float) -> float:
    """Return value rounded to three significant digits."""
    return float(f"{value:.3g}")


@pytest.fixture(scope="module")
def cdnow_summary() -> Any:
    return _cdnow("cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_repeat_buyers() -> Any:
    data = _cdnow("cdnow_customers_summary_with_transactions.csv")
    return data[data["x"] > 0]


@pytest.fixture(scope="module")
def fitted_bg(cdnow_summary: Any) -> BgNbdParams:
    return clv.bg_nbd_fit(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])


@pytest.fixture(scope="module")
def fitted_gg(cdnow_repeat_buyers: Any) -> GammaGammaParams:
    return clv.gamma_gamma_fit(cdnow_repeat_buyers["x"], cdnow_repeat_buyers["zbar"])


# --- independent straightforward formulas, written as in the papers ---


def _hyp2f1_series(a: Decimal, b: Decimal, c: Decimal, z: Decimal) -> Decimal:
    """Return the Gauss hypergeometric function by summing its power series (0 <= z < 1) in decimals."""
    total, term, n = Decimal(1), Decimal(1), 0
    while n < 10 or term > total * Decimal("1e-40"):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
    return total


def _direct_expected_purchases(p: BgNbdParams, t: float, x: int, t_x: float, T: float) -> float:
    """Return E[Y(t) | x, t_x, T] by equation (10) of Fader, Hardie & Lee (2005), as printed.

    Evaluated in 60-digit decimals: for heavy buyers the series exceeds any float, which is why the module
    uses a transformed form; this checks that form against the printed one.
    """
    with localcontext() as context:
        context.prec = 60
        r, alpha, a, b = (Decimal(value) for value in (p.r, p.alpha, p.a, p.b))
        t_, t_x_, T_, x_ = Decimal(t), Decimal(t_x), Decimal(T), Decimal(x)
        hyp = _hyp2f1_series(r + x_, b + x_, a + b + x_ - 1, t_ / (alpha + T_ + t_))
        numerator = (a + b + x_ - 1) / (a - 1) * (1 - ((alpha + T_) / (alpha + T_ + t_)) ** (r + x_) * hyp)
        odds_dead = a / (b + x_ - 1) * ((alpha + T_) / (alpha + t_x_)) ** (r + x_) if x > 0 else Decimal(0)
        return float(numerator / (1 + odds_dead))


def _direct_probability_alive(p: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """Return P(alive | x, t_x, T) by its closed form, without logarithms."""
    if x == 0:
        return 1.0
    return 1 / (1 + p.a / (p.b + x - 1) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x))


def _direct_likelihood(p: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """Return one customer's BG/NBD likelihood, equation (6) of the paper, without logarithms."""

    def beta(u: float, v: float) -> float:
        return math.gamma(u) * math.gamma(v) / math.gamma(u + v)

    counting = math.gamma(p.r + x) * p.alpha**p.r / math.gamma(p.r)
    alive = beta(p.a, p.b + x) / beta(p.a, p.b) * counting / (p.alpha + T) ** (p.r + x)
    dropped = (
        beta(p.a + 1, p.b + x - 1) / beta(p.a, p.b) * counting / (p.alpha + t_x) ** (p.r + x) if x else 0.0
    )
    return alive + dropped


# --- CDNOW: the published estimates ---


def test_bg_nbd_fit_on_cdnow_gives_the_published_estimates(cdnow_summary: Any) -> None:
    # given the 2,357 CDNOW customers' 39-week calibration histories
    # when the BG/NBD model is fitted
    fitted = clv.bg_nbd_fit(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    # then the estimates are the published ones to three significant digits, and printed ones to 1e-4
    for name in ("r", "alpha", "a", "b"):
        assert _three_significant(getattr(fitted, name)) == _three_significant(
            getattr(PUBLISHED_BG_NBD, name)
        )
        assert getattr(fitted, name) == pytest.approx(getattr(PRINTED_BG_NBD, name), rel=1e-4)


def test_gamma_gamma_fit_on_cdnow_repeat_buyers_gives_the_published_estimates(
    cdnow_repeat_buyers: Any,
) -> None:
    # given the 946 CDNOW customers with repeat purchases and their mean repeat spend (zbar)
    assert cdnow_repeat_buyers.size == 946
    # when the Gamma-Gamma model is fitted
    fitted = clv.gamma_gamma_fit(cdnow_repeat_buyers["x"], cdnow_repeat_buyers["zbar"])
    # then the estimates are the published ones to three significant digits
    for name in ("p", "q", "gamma"):
        assert _three_significant(getattr(fitted, name)) == _three_significant(
            getattr(PUBLISHED_GAMMA_GAMMA, name)
        )


def test_bg_nbd_fit_reaches_the_same_optimum_from_a_distant_start(
    cdnow_summary: Any, fitted_bg: BgNbdParams
) -> None:
    refitted = clv.bg_nbd_fit(
        cdnow_summary["frequency"],
        cdnow_summary["recency"],
        cdnow_summary["T"],
        initial=BgNbdParams(r=5.0, alpha=0.5, a=3.0, b=0.2),
    )
    for name in ("r", "alpha", "a", "b"):
        assert getattr(refitted, name) == pytest.approx(getattr(fitted_bg, name), rel=1e-4)


def test_expected_purchases_of_the_published_cdnow_customer(fitted_bg: BgNbdParams) -> None:
    # given the customer with 2 repeat purchases, the last at week 30.43, observed for 38.86 weeks
    # when we ask for the purchases expected in the next 39 weeks
    expected = clv.bg_nbd_expected_purchases(fitted_bg, 39, 2, 30.43, 38.86)
    # then it is the paper's 1.226
    assert float(expected) == pytest.approx(1.226, abs=1e-3)


def test_new_customer_expected_purchases_follow_the_published_cdnow_curve(fitted_bg: BgNbdParams) -> None:
    weeks = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    expected = clv.bg_nbd_expected_purchases_new_customer(fitted_bg, weeks)
    np.testing.assert_allclose(expected, published, atol=1e-3)


# --- closed forms against direct formulas ---

HISTORIES = [
    (0, 0.0, 38.86),
    (1, 1.71, 38.86),
    (2, 30.43, 38.86),
    (5, 12.0, 20.0),
    (10, 35.0, 36.0),
    (7, 0.5, 52.0),
]


def test_expected_purchases_match_the_direct_formula(fitted_bg: BgNbdParams) -> None:
    x, t_x, T = (np.array(column) for column in zip(*HISTORIES, strict=True))
    for t in (1.0, 13.0, 39.0, 78.0):
        vectorised = clv.bg_nbd_expected_purchases(fitted_bg, t, x, t_x, T)
        direct = [_direct_expected_purchases(fitted_bg, t, *history) for history in HISTORIES]
        np.testing.assert_allclose(vectorised, direct, rtol=1e-9)


def test_expected_purchases_grow_with_the_horizon_and_are_zero_at_zero(fitted_bg: BgNbdParams) -> None:
    horizons = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    expected = clv.bg_nbd_expected_purchases(fitted_bg, horizons, 3, 20.0, 38.86)
    assert expected[0] == 0.0
    assert np.all(np.diff(expected) > 0)


def test_expected_purchases_are_continuous_where_a_equals_one() -> None:
    # given a = 1, where the closed form divides 0 by 0
    def expected(a: float) -> float:
        params = BgNbdParams(r=0.25, alpha=4.4, a=a, b=2.4)
        return float(clv.bg_nbd_expected_purchases(params, 39, 2, 30.43, 38.86))

    # then the value lies between its neighbours on either side
    below, at, above = expected(1 - 1e-4), expected(1.0), expected(1 + 1e-4)
    assert min(below, above) <= at <= max(below, above)
    assert at == pytest.approx((below + above) / 2, rel=1e-6)


def test_expected_purchases_of_heavy_buyers_match_the_direct_formula(fitted_bg: BgNbdParams) -> None:
    # given card holders with hundreds or thousands of purchases, where the printed series overflows floats
    heavy = [(2000, 38.8, 38.86), (5000, 38.86, 38.86), (300, 38.5, 38.86)]
    x, t_x, T = (np.array(column) for column in zip(*heavy, strict=True))
    # when the 52-week expectation is computed
    expected = clv.bg_nbd_expected_purchases(fitted_bg, 52, x, t_x, T)
    # then it equals the printed formula evaluated in high precision
    direct = [_direct_expected_purchases(fitted_bg, 52, *history) for history in heavy]
    np.testing.assert_allclose(expected, direct, rtol=1e-9)


def test_probability_alive_matches_the_direct_formula(fitted_bg: BgNbdParams) -> None:
    x, t_x, T = (np.array(column) for column in zip(*HISTORIES, strict=True))
    alive = clv.bg_nbd_probability_alive(fitted_bg, x, t_x, T)
    direct = [_direct_probability_alive(fitted_bg, *history) for history in HISTORIES]
    np.testing.assert_allclose(alive, direct, rtol=1e-12)
    assert alive[0] == 1.0


def test_log_likelihood_matches_the_direct_product(fitted_bg: BgNbdParams) -> None:
    x, t_x, T = (np.array(column) for column in zip(*HISTORIES, strict=True))
    direct = sum(math.log(_direct_likelihood(fitted_bg, *history)) for history in HISTORIES)
    assert clv.bg_nbd_log_likelihood(fitted_bg, x, t_x, T) == pytest.approx(direct, rel=1e-12)


def _central_differences(function: Any, point: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Return the gradient of function at point by central differences."""
    gradient = np.zeros_like(point)
    for i in range(point.size):
        shift = np.zeros_like(point)
        shift[i] = step
        gradient[i] = (function(point + shift) - function(point - shift)) / (2 * step)
    return gradient


@pytest.mark.parametrize("start", [(0.0, 1.0, 0.0, 0.0), (-1.4, 1.5, -0.2, 0.9), (1.0, -1.0, 1.5, -1.0)])
def test_bg_nbd_gradient_matches_central_differences(cdnow_summary: Any, start: tuple[float, ...]) -> None:
    x, t_x, T = cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    weights = np.ones_like(x)
    point = np.array(start)
    _, analytic = clv._bg_nbd_objective(point, x, t_x, T, weights)
    numeric = _central_differences(lambda p: clv._bg_nbd_objective(p, x, t_x, T, weights)[0], point)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("start", [(0.0, 0.0, 3.5), (1.8, 1.3, 2.7), (-1.0, 2.0, 0.0)])
def test_gamma_gamma_gradient_matches_central_differences(
    cdnow_repeat_buyers: Any, start: tuple[float, ...]
) -> None:
    x, m = cdnow_repeat_buyers["x"], cdnow_repeat_buyers["zbar"]
    point = np.array(start)
    _, analytic = clv._gamma_gamma_objective(point, x, m)
    numeric = _central_differences(lambda p: clv._gamma_gamma_objective(p, x, m)[0], point)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_gamma_gamma_expected_value_shrinks_own_mean_towards_population_mean() -> None:
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population_mean = 6.25 * 15.44 / (3.74 - 1)
    own_weight = 6.25 * 2 / (6.25 * 2 + 3.74 - 1)
    values = clv.gamma_gamma_expected_average_value(params, [0, 2], [0.0, 22.35])
    np.testing.assert_allclose(
        values, [population_mean, own_weight * 22.35 + (1 - own_weight) * population_mean], rtol=1e-12
    )


# --- customer lifetime value ---


def test_undiscounted_value_is_expected_purchases_times_expected_spend(
    fitted_bg: BgNbdParams, fitted_gg: GammaGammaParams
) -> None:
    x, t_x, T, m = (
        np.array([0, 2, 6]),
        np.array([0.0, 30.43, 37.0]),
        np.array([38.86] * 3),
        np.array([0, 22.35, 47]),
    )
    value = clv.customer_lifetime_value(
        fitted_bg, fitted_gg, x, t_x, T, m, horizon_periods=52, discount_rate_per_period=0.0
    )
    purchases = clv.bg_nbd_expected_purchases(fitted_bg, 52, x, t_x, T)
    spend = clv.gamma_gamma_expected_average_value(fitted_gg, x, m)
    np.testing.assert_allclose(value, purchases * spend, rtol=1e-12)


def test_discounted_value_sums_each_period_purchases_at_its_discount(
    fitted_bg: BgNbdParams, fitted_gg: GammaGammaParams
) -> None:
    # given a customer and a 1% rate per period over three periods
    history = (2, 30.43, 38.86)
    value = clv.customer_lifetime_value(
        fitted_bg, fitted_gg, *history, 22.35, horizon_periods=3, discount_rate_per_period=0.01
    )
    # then the value is sum_k (E[Y(k)] - E[Y(k-1)]) / 1.01^k times the expected spend
    cumulative = [0.0] + [_direct_expected_purchases(fitted_bg, k, *history) for k in (1, 2, 3)]
    spend = fitted_gg.p * (fitted_gg.gamma + 22.35 * 2) / (fitted_gg.p * 2 + fitted_gg.q - 1)
    by_hand = sum((cumulative[k] - cumulative[k - 1]) / 1.01**k for k in (1, 2, 3)) * spend
    assert float(value) == pytest.approx(by_hand, rel=1e-9)


def test_value_of_many_customers_equals_value_of_each(
    cdnow_repeat_buyers: Any, fitted_bg: BgNbdParams, fitted_gg: GammaGammaParams
) -> None:
    some = cdnow_repeat_buyers[:20]
    together = clv.customer_lifetime_value(
        fitted_bg,
        fitted_gg,
        some["x"],
        some["t_x"],
        some["T"],
        some["zbar"],
        horizon_periods=26,
        discount_rate_per_period=0.002,
    )
    alone = [
        float(
            clv.customer_lifetime_value(
                fitted_bg, fitted_gg, *row, horizon_periods=26, discount_rate_per_period=0.002
            )
        )
        for row in zip(some["x"], some["t_x"], some["T"], some["zbar"], strict=True)
    ]
    np.testing.assert_allclose(together, alone, rtol=1e-12)


# --- transaction summary ---


def test_summary_counts_purchase_days_and_averages_repeat_spend() -> None:
    # given transactions in no particular order, two on A's first day and some after the observation end
    rows = [
        ("A", "2024-01-22", 60.0),
        ("C", "2024-01-10", 10.0),
        ("A", "2024-01-01", 100.0),
        ("B", "2024-01-15", 20.0),
        ("A", "2024-01-08", 30.0),
        ("D", "2024-02-02", 5.0),
        ("A", "2024-01-01", 50.0),
        ("C", "2024-02-05", 99.0),
    ]
    ids, dates, amounts = zip(*rows, strict=True)
    # when summarised in weeks up to 2024-01-29
    summary = clv.summary_from_transactions(ids, dates, amounts, observation_end="2024-01-29")
    # then A bought on days 0, 7 and 21 (two repeats worth 30 and 60); B and C once; D after the end
    assert summary.customer_ids.tolist() == ["A", "B", "C"]
    assert summary.frequency.tolist() == [2, 0, 0]
    assert summary.recency.tolist() == [3.0, 0.0, 0.0]
    assert summary.T.tolist() == [4.0, 2.0, 19 / 7]
    assert summary.monetary_value.tolist() == [45.0, 0.0, 0.0]


def test_summary_of_the_cdnow_sample_reproduces_the_published_calibration_summary() -> None:
    # given the 6,919 transactions of the CDNOW 1/10 sample (master id, sample id, YYYYMMDD, CDs, dollars)
    rows = np.loadtxt(_cdnow_path("CDNOW_sample.txt"), dtype=str)
    dates = [f"{day[:4]}-{day[4:6]}-{day[6:]}" for day in rows[:, 2]]
    # when summarised in weeks over the 39-week calibration period ending 1997-09-30
    summary = clv.summary_from_transactions(
        rows[:, 1].astype(int), dates, rows[:, 4].astype(float), observation_end="1997-09-30"
    )
    # then it is the published summary (x, t_x, T, zbar), which is rounded to cents and hundredths of weeks
    published = _cdnow("cdnow_customers_summary_with_transactions.csv")
    assert summary.customer_ids.tolist() == published["ID"].astype(int).tolist()
    assert summary.frequency.tolist() == published["x"].astype(int).tolist()
    np.testing.assert_allclose(summary.recency, published["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary.T, published["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary.monetary_value, published["zbar"], atol=0.005 + 1e-9)


def test_summary_in_days_and_with_date_objects() -> None:
    from datetime import date

    summary = clv.summary_from_transactions(
        [7, 7, 3],
        [date(2024, 3, 1), date(2024, 3, 11), date(2024, 3, 5)],
        [10, 30, 5],
        observation_end=date(2024, 3, 31),
        period_days=1,
    )
    assert summary.customer_ids.tolist() == [3, 7]
    assert summary.frequency.tolist() == [0, 1]
    assert summary.recency.tolist() == [0.0, 10.0]
    assert summary.T.tolist() == [26.0, 30.0]
    assert summary.monetary_value.tolist() == [0.0, 30.0]


def test_summary_of_no_transactions_is_empty() -> None:
    summary = clv.summary_from_transactions([], [], [], observation_end="2024-01-01")
    assert summary.customer_ids.size == summary.frequency.size == summary.T.size == 0


# --- RFM scores ---


def test_rfm_scores_are_quintiles_with_recent_high_and_ties_sharing_a_score() -> None:
    recency_days = [5, 40, 5, 200, 90, 12, 0, 365, 30, 60]
    frequency = [0, 0, 0, 1, 3, 2, 10, 0, 1, 5]
    monetary = [120.5, 80, 80, 15, 300, 42, 999, 5, 60, 250]
    scores = clv.rfm_scores(recency_days, frequency, monetary)
    assert scores.recency.tolist() == [4, 3, 4, 1, 2, 4, 5, 1, 3, 2]
    assert scores.frequency.tolist() == [1, 1, 1, 3, 4, 4, 5, 1, 3, 5]
    assert scores.monetary.tolist() == [4, 3, 3, 1, 5, 2, 5, 1, 2, 4]


def test_rfm_scores_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(7)
    recency_days = rng.integers(0, 30, size=200)
    frequency = rng.integers(0, 4, size=200)
    monetary = rng.integers(1, 10, size=200) * 10.0
    order = rng.permutation(200)
    scores = clv.rfm_scores(recency_days, frequency, monetary, bins=4)
    shuffled = clv.rfm_scores(recency_days[order], frequency[order], monetary[order], bins=4)
    for name in ("recency", "frequency", "monetary"):
        assert getattr(shuffled, name).tolist() == getattr(scores, name)[order].tolist()
        assert set(getattr(scores, name).tolist()) <= {1, 2, 3, 4}


# --- bad input ---


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([], [], [], "frequency is empty"),
        ([1, -1], [1, 1], [2, 2], "frequency must not be negative"),
        ([1, 1.5], [1, 1], [2, 2], "frequency must be whole numbers"),
        ([1, 1], [1, -0.5], [2, 2], "recency must not be negative"),
        ([1, 1], [1, 3], [2, 2], "recency must not exceed T"),
        ([1, 1], [1, 1], [2, float("nan")], "T must be finite numbers"),
        ([1, 1], [1, 1], [2, 2, 2], "columns differ in length"),
        ([1, "x"], [1, 1], [2, 2], "frequency must be numbers"),
    ],
)
def test_bg_nbd_fit_refuses_bad_histories(frequency: Any, recency: Any, T: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clv.bg_nbd_fit(frequency, recency, T)


def test_bg_nbd_fit_refuses_data_without_repeat_purchases() -> None:
    # given customers of whom none ever bought again, the drop-out process cannot be estimated
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        clv.bg_nbd_fit([0, 0, 0, 0], [0, 0, 0, 0], [5, 6, 7, 8])


def test_fits_report_an_optimiser_that_did_not_converge(monkeypatch: pytest.MonkeyPatch) -> None:
    def gave_up(*args: Any, **kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(
            success=False, fun=1.0, x=np.zeros(4), jac=np.ones(4), message="Maximum number of iterations"
        )

    monkeypatch.setattr(optimize, "minimize", gave_up)
    with pytest.raises(ValueError, match="BG/NBD fit did not converge: Maximum number of iterations"):
        clv.bg_nbd_fit([1, 2, 0], [3, 4, 0], [5, 6, 7])
    with pytest.raises(ValueError, match="Gamma-Gamma fit did not converge"):
        clv.gamma_gamma_fit([1, 2], [10.0, 20.0])


def test_fits_accept_a_stalled_line_search_at_a_zero_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    def stalled(*args: Any, **kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(
            success=False,
            fun=1.0,
            x=np.log([0.5, 2.0, 0.7, 3.0]),
            jac=np.full(4, 1e-8),
            message="ABNORMAL_TERMINATION_IN_LNSRCH",
        )

    monkeypatch.setattr(optimize, "minimize", stalled)
    fitted = clv.bg_nbd_fit([1, 2, 0], [3, 4, 0], [5, 6, 7])
    assert (fitted.r, fitted.alpha, fitted.a, fitted.b) == pytest.approx((0.5, 2.0, 0.7, 3.0))


def test_fits_refuse_parameters_at_the_search_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    def ran_off(*args: Any, **kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(
            success=True, fun=1.0, x=np.log([1e8, 2.0, 0.7]), jac=np.zeros(3), message="CONVERGENCE"
        )

    monkeypatch.setattr(optimize, "minimize", ran_off)
    with pytest.raises(ValueError, match="Gamma-Gamma fit did not converge: parameters ran off"):
        clv.gamma_gamma_fit([1, 2], [10.0, 20.0])


def test_bg_nbd_fit_refuses_a_non_positive_start() -> None:
    with pytest.raises(ValueError, match="initial parameters must be positive"):
        clv.bg_nbd_fit([1], [1], [2], initial=BgNbdParams(r=0.0, alpha=1.0, a=1.0, b=1.0))


@pytest.mark.parametrize(
    ("frequency", "monetary_value", "message"),
    [
        ([], [], "frequency is empty"),
        ([1, 0], [10.0, 0.0], "repeat buyers only: every frequency must be > 0"),
        ([1, 2], [10.0, 0.0], "monetary_value must be > 0"),
        ([1, 2], [10.0], "columns differ in length"),
    ],
)
def test_gamma_gamma_fit_refuses_bad_input(frequency: Any, monetary_value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clv.gamma_gamma_fit(frequency, monetary_value)


def test_predictions_refuse_bad_input(fitted_bg: BgNbdParams, fitted_gg: GammaGammaParams) -> None:
    with pytest.raises(ValueError, match="t must not be negative"):
        clv.bg_nbd_expected_purchases(fitted_bg, -1, 1, 1, 2)
    with pytest.raises(ValueError, match="recency must not exceed T"):
        clv.bg_nbd_probability_alive(fitted_bg, 1, 3, 2)
    with pytest.raises(ValueError, match="shapes that do not match"):
        clv.bg_nbd_probability_alive(fitted_bg, [1, 2], [1, 1, 1], 2)
    with pytest.raises(ValueError, match="the model's mean spend is infinite"):
        clv.gamma_gamma_expected_average_value(GammaGammaParams(p=1.0, q=0.9, gamma=1.0), 1, 10.0)
    with pytest.raises(ValueError, match="horizon_periods must be at least 1"):
        clv.customer_lifetime_value(
            fitted_bg, fitted_gg, 1, 1, 2, 10.0, horizon_periods=0, discount_rate_per_period=0
        )
    half_period: Any = 2.5
    with pytest.raises(ValueError, match="horizon_periods must be a whole number"):
        clv.customer_lifetime_value(
            fitted_bg, fitted_gg, 1, 1, 2, 10.0, horizon_periods=half_period, discount_rate_per_period=0
        )
    with pytest.raises(ValueError, match="discount_rate_per_period must be a finite rate above -1"):
        clv.customer_lifetime_value(
            fitted_bg, fitted_gg, 1, 1, 2, 10.0, horizon_periods=4, discount_rate_per_period=-1
        )


def test_summary_and_scores_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="columns differ in length"):
        clv.summary_from_transactions(
            ["A"], ["2024-01-01", "2024-01-02"], [1.0], observation_end="2024-02-01"
        )
    with pytest.raises(ValueError, match="must be dates"):
        clv.summary_from_transactions(["A"], ["not a date"], [1.0], observation_end="2024-02-01")
    with pytest.raises(ValueError, match="period_days must be a positive"):
        clv.summary_from_transactions(
            ["A"], ["2024-01-01"], [1.0], observation_end="2024-02-01", period_days=0
        )
    with pytest.raises(ValueError, match="amounts must be finite"):
        clv.summary_from_transactions(["A"], ["2024-01-01"], [float("inf")], observation_end="2024-02-01")
    with pytest.raises(ValueError, match="recency_days must not be negative"):
        clv.rfm_scores([-1, 2], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="bins must be a whole number"):
        clv.rfm_scores([1, 2], [1, 1], [1, 1], bins=0)
