"""How many calls a dialer should start now: preview, progressive and predictive pacing.

A pure function of the current counts and of `PacingStats`, a sliding window of recent attempts kept with running
sums, so that one decision costs a few arithmetic operations whatever the window size.

Predictive pacing (see docs/dialer.md for the reasoning):

    p      = answer rate = live answers / attempts in the window (answered + abandoned count as live answers)
    a      = abandon rate = abandoned / live answers in the window
    L      = the abandon limit (default 0.03)
    raw    = min(1 / p, max_ratio)                    (1 / p calls give one expected answer)
    f      = clamp((L - a) / (L - L * backoff_from), 0, 1)
             (1 while a <= backoff_from * L, falling linearly to 0 at a = L)
    ratio  = 1 + (raw - 1) * f                        (ratio 1 at the limit: progressive dialling)
    calls  = max(0, floor(ratio * (free_agents - answered_waiting)) - calls_ringing)

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


@dataclass(frozen=True)
class _Attempt:
    outcome: CallOutcome
    ring_seconds: float
    talk_seconds: float


@dataclass
class PacingStats:
    """The last `window` finished attempts, with running sums for the rates and averages."""

    window: int = 200
    _attempts: deque[_Attempt] = field(default_factory=deque, repr=False)
    _live: int = 0
    _abandoned: int = 0
    _ring_total: float = 0.0
    _talk_total: float = 0.0
    _talked: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("the pacing window must hold at least one attempt")

    def record(
        self, outcome: CallOutcome, *, ring_seconds: float = 0.0, talk_seconds: float | None = None
    ) -> None:
        """Add one finished attempt; the oldest leaves the window when it is full."""
        attempt = _Attempt(CallOutcome(outcome), float(ring_seconds), float(talk_seconds or 0.0))
        self._attempts.append(attempt)
        self._add(attempt, 1)
        if len(self._attempts) > self.window:
            self._add(self._attempts.popleft(), -1)

    def _add(self, attempt: _Attempt, sign: int) -> None:
        if attempt.outcome in LIVE_OUTCOMES:
            self._live += sign
        if attempt.outcome == CallOutcome.ABANDONED:
            self._abandoned += sign
        self._ring_total += sign * attempt.ring_seconds
        if attempt.outcome == CallOutcome.ANSWERED:
            self._talk_total += sign * attempt.talk_seconds
            self._talked += sign

    @property
    def attempts(self) -> int:
        return len(self._attempts)

    @property
    def answer_rate(self) -> float:
        """Live answers (answered or abandoned) per attempt; 0 with no attempts."""
        return self._live / len(self._attempts) if self._attempts else 0.0

    @property
    def abandon_rate(self) -> float:
        """Abandoned calls per live answer; 0 with no live answer."""
        return self._abandoned / self._live if self._live else 0.0

    @property
    def average_ring_seconds(self) -> float:
        return self._ring_total / len(self._attempts) if self._attempts else 0.0

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
        wanted = max(0, math.floor(ratio * agents_for_new_calls + 1e-9) - calls_ringing)
    if line_limit is not None:
        wanted = max(0, min(wanted, line_limit - calls_ringing - answered_waiting))
    return wanted
