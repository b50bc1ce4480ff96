"""How many calls a dialer should start now: preview, progressive and predictive pacing.

A pure function of the current counts and of `PacingStats`, a sliding window of recent attempts kept with running
sums, so that one decision costs the same whatever the window size (the binomial cap sums over the free agents).

Predictive pacing (see docs/dialer.md for the reasoning):

    p      = answer rate = live answers / attempts in the window (answered + abandoned count as live answers)
    a      = abandon rate = abandoned / live answers in the window
    L      = the abandon limit (default 0.03)
    raw    = min(1 / p, max_ratio)                    (1 / p calls give one expected answer)
    f      = clamp((L - a) / (L - L * backoff_from), 0, 1)
             (1 while a <= backoff_from * L, falling linearly to 0 at a = L)
    ratio  = 1 + (raw - 1) * f                        (ratio 1 at the limit: progressive dialling)
    A      = free_agents - answered_waiting            (agents for the calls in flight)
    n      = floor(ratio * A)                         (calls in flight wanted: ringing + new)
    n      = the largest n' <= n with overflow(n') <= L * n' * p+   (the binomial cap, below)
    p+     = the upper end of the Wilson 95 % interval of p (cautious while the window is young)
    calls  = max(0, n - calls_ringing)

    overflow(n) = E[max(0, X - A)], X ~ Binomial(n, p+): the answered calls expected to find no free agent
                = n p+ - A + sum_{k < A} (A - k) P(X = k)

The ratio reacts to the abandons seen; the binomial cap keeps the expected share of answers that find no agent
under the limit before any abandon happens (without it a small team dialled at 1/p abandons far more than 3 %). It
counts only the agents free now, so it is cautious: agents who finish a call while the customer's phone rings are
a margin. `binomial_cap=False` leaves the proportional controller alone.

Until the window holds `min_samples` attempts the ratio is 1, so a new campaign starts progressively and speeds up
as the answer rate becomes known.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from navid.channels.dialer import CallOutcome


class DialMode(StrEnum):
    """How calls are started for a campaign."""

    PREVIEW = "preview"  # the agent sees the customer first and clicks to call
    PROGRESSIVE = "progressive"  # one call per free agent
    PREDICTIVE = "predictive"  # calls ahead of free agents, by a ratio that follows the answer rate


LIVE_OUTCOMES = frozenset({CallOutcome.ANSWERED, CallOutcome.ABANDONED})


@dataclass
class PacingStats:
    """Recent attempts in two sliding windows kept with running sums.

    The fate window (the last `window` attempts whose fate is known) gives the answer rate and the average ring
    time; the live window (the last `window` live answers that ended) gives the abandon rate and the average talk
    time. An answered call's fate is known when it is answered, long before it ends: record it then with
    `record_answer`, and `record(..., answer_counted=True)` when it ends. Counting answers only when calls end
    would make the answer rate look low while answered calls are still talking (they end later than busy or
    failed ones), and the pacing would dial too much at the start of a campaign.
    """

    window: int = 200
    _fates: deque[tuple[bool, float]] = field(
        default_factory=deque, repr=False
    )  # (live answer, ring seconds)
    _lives: deque[tuple[bool, float]] = field(default_factory=deque, repr=False)  # (abandoned, talk seconds)
    _live: int = 0
    _abandoned: int = 0
    _ring_total: float = 0.0
    _talk_total: float = 0.0
    _talked: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("the pacing window must hold at least one attempt")

    def record_answer(self, *, ring_seconds: float = 0.0) -> None:
        """A call was answered (its fate is known; how it ends comes later with `record`)."""
        self._add_fate(True, float(ring_seconds))

    def record(
        self,
        outcome: CallOutcome,
        *,
        ring_seconds: float = 0.0,
        talk_seconds: float | None = None,
        answer_counted: bool = False,
    ) -> None:
        """An attempt ended. `answer_counted`: its answer was recorded already with `record_answer`."""
        outcome = CallOutcome(outcome)
        live = outcome in LIVE_OUTCOMES
        if not (live and answer_counted):
            self._add_fate(live, float(ring_seconds))
        if live:
            entry = (outcome == CallOutcome.ABANDONED, float(talk_seconds or 0.0))
            self._lives.append(entry)
            self._add_live(entry, 1)
            if len(self._lives) > self.window:
                self._add_live(self._lives.popleft(), -1)

    def _add_fate(self, live: bool, ring_seconds: float) -> None:
        self._fates.append((live, ring_seconds))
        self._live += live
        self._ring_total += ring_seconds
        if len(self._fates) > self.window:
            old_live, old_ring = self._fates.popleft()
            self._live -= old_live
            self._ring_total -= old_ring

    def _add_live(self, entry: tuple[bool, float], sign: int) -> None:
        abandoned, talk = entry
        if abandoned:
            self._abandoned += sign
        else:
            self._talk_total += sign * talk
            self._talked += sign

    @property
    def attempts(self) -> int:
        """Attempts in the fate window."""
        return len(self._fates)

    @property
    def answer_rate(self) -> float:
        """Live answers (answered or abandoned) per attempt; 0 with no attempts."""
        return self._live / len(self._fates) if self._fates else 0.0

    @property
    def abandon_rate(self) -> float:
        """Abandoned calls per ended live answer; 0 with none."""
        return self._abandoned / len(self._lives) if self._lives else 0.0

    @property
    def average_ring_seconds(self) -> float:
        return self._ring_total / len(self._fates) if self._fates else 0.0

    @property
    def average_talk_seconds(self) -> float:
        """Average talk time of answered (bridged) calls."""
        return self._talk_total / self._talked if self._talked else 0.0


def pacing_ratio(
    stats: PacingStats,
    *,
    max_abandon_rate: float = 0.03,
    max_ratio: float = 5.0,
    backoff_from: float = 0.5,
    min_samples: int = 20,
) -> float:
    """Calls to start per free agent in predictive mode (formula in the module docstring)."""
    if stats.attempts < min_samples:
        return 1.0
    answer_rate = stats.answer_rate
    raw = max_ratio if answer_rate <= 0 else min(1.0 / answer_rate, max_ratio)
    raw = max(raw, 1.0)
    if max_abandon_rate <= 0:
        return 1.0
    soft = max_abandon_rate * backoff_from
    factor = (max_abandon_rate - stats.abandon_rate) / (max_abandon_rate - soft)
    factor = min(1.0, max(0.0, factor))
    return 1.0 + (raw - 1.0) * factor


def calls_to_place(
    mode: DialMode | str,
    free_agents: int,
    calls_ringing: int,
    answered_waiting: int,
    stats: PacingStats,
    max_abandon_rate: float = 0.03,
    *,
    max_ratio: float = 5.0,
    backoff_from: float = 0.5,
    min_samples: int = 20,
    line_limit: int | None = None,
    binomial_cap: bool = True,
) -> int:
    """How many new calls to start now.

    `calls_ringing`: calls started and not answered yet; `answered_waiting`: answered calls waiting for an agent;
    `line_limit`: the trunk's lines for ringing and waiting calls, that is its capacity minus the calls talking
    with agents (None: no limit).
    """
    mode = DialMode(mode)
    if min(free_agents, calls_ringing, answered_waiting) < 0:
        raise ValueError("agent and call counts cannot be negative")
    agents_for_new_calls = max(0, free_agents - answered_waiting)
    if mode == DialMode.PREVIEW:
        wanted = 0
    elif mode == DialMode.PROGRESSIVE:
        wanted = max(0, agents_for_new_calls - calls_ringing)
    else:
        ratio = pacing_ratio(
            stats,
            max_abandon_rate=max_abandon_rate,
            max_ratio=max_ratio,
            backoff_from=backoff_from,
            min_samples=min_samples,
        )
        in_flight = math.floor(ratio * agents_for_new_calls + 1e-9)
        if binomial_cap and in_flight > calls_ringing:
            in_flight = _capped_in_flight(
                in_flight, calls_ringing, agents_for_new_calls, answer_rate_upper(stats), max_abandon_rate
            )
        wanted = max(0, in_flight - calls_ringing)
    if line_limit is not None:
        wanted = max(0, min(wanted, line_limit - calls_ringing - answered_waiting))
    return wanted


def answer_rate_upper(stats: PacingStats, z: float = 1.96) -> float:
    """The upper end of the Wilson 95 % interval of the answer rate: the cap's estimate, cautious while the window
    is young (the first fates known are the quick ones, busy and failed, so early answer rates run low)."""
    n = stats.attempts
    if n == 0:
        return 1.0
    p = stats.answer_rate
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def overflow(calls: int, agents: int, answer_rate: float) -> float:
    """E[max(0, X - agents)] for X ~ Binomial(calls, answer_rate): answers expected to find no free agent."""
    p = answer_rate
    if calls <= 0 or p <= 0:
        return 0.0
    if p >= 1:
        return float(max(0, calls - agents))
    log_p, log_q = math.log(p), math.log1p(-p)
    below = 0.0
    for k in range(min(agents, calls + 1)):
        log_pmf = (
            math.lgamma(calls + 1)
            - math.lgamma(k + 1)
            - math.lgamma(calls - k + 1)
            + k * log_p
            + (calls - k) * log_q
        )
        below += (agents - k) * math.exp(log_pmf)
    return max(0.0, calls * p - agents + below)


def _capped_in_flight(wanted: int, ringing: int, agents: int, answer_rate: float, limit: float) -> int:
    """The most calls in flight, between `ringing` and `wanted`, whose expected overflow stays under the limit
    (a binary search: the overflow share grows with the number of calls)."""

    def fits(calls: int) -> bool:
        return overflow(calls, agents, answer_rate) <= limit * calls * answer_rate + 1e-12

    low, high = ringing, wanted  # `ringing` is kept whatever: those calls are placed already
    if fits(high):
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low
