import pytest

from navid.channels.dialer import CallOutcome
from navid.channels.pacing import (
    DialMode,
    PacingStats,
    answer_rate_upper,
    calls_to_place,
    overflow,
    pacing_ratio,
)


def stats_with(
    *, answered: int = 0, abandoned: int = 0, busy: int = 0, no_answer: int = 0, window: int = 1000
) -> PacingStats:
    stats = PacingStats(window=window)
    for outcome, count in (
        (CallOutcome.ANSWERED, answered),
        (CallOutcome.ABANDONED, abandoned),
        (CallOutcome.BUSY, busy),
        (CallOutcome.NO_ANSWER, no_answer),
    ):
        for _ in range(count):
            stats.record(
                outcome, ring_seconds=2.0, talk_seconds=60.0 if outcome == CallOutcome.ANSWERED else None
            )
    return stats


def test_preview_places_no_call_and_progressive_one_per_free_agent_not_already_covered() -> None:
    stats = stats_with(answered=25, busy=75)
    assert calls_to_place(DialMode.PREVIEW, 4, 0, 0, stats) == 0
    assert calls_to_place("progressive", 4, 0, 0, stats) == 4
    assert (
        calls_to_place("progressive", 4, 1, 1, stats) == 2
    )  # one agent goes to the waiting call, one call rings
    assert calls_to_place("progressive", 2, 3, 0, stats) == 0


def test_given_answer_rate_one_in_four_and_no_abandon_then_the_ratio_gives_four_agents_sixteen_calls() -> (
    None
):
    stats = stats_with(answered=25, busy=75)
    assert (stats.answer_rate, stats.abandon_rate) == (0.25, 0.0)
    assert pacing_ratio(stats) == 4.0

    def ratio_only(free: int, ringing: int, waiting: int, line_limit: int | None = None) -> int:
        return calls_to_place(
            DialMode.PREDICTIVE, free, ringing, waiting, stats, binomial_cap=False, line_limit=line_limit
        )

    assert ratio_only(4, 0, 0) == 16
    assert ratio_only(4, 5, 0) == 11  # five already ringing count
    assert ratio_only(4, 0, 2) == 8  # two answered calls take two agents
    assert ratio_only(4, 0, 0, line_limit=10) == 10
    assert ratio_only(0, 3, 0) == 0


def test_the_binomial_cap_keeps_the_expected_answers_without_an_agent_under_the_limit() -> None:
    # With the answer rate itself, 0.25: 9 calls for 4 agents leave 0.0604 answers expected to find no agent,
    # under 3 % of the 2.25 expected answers (0.0675); 10 calls leave 0.1018, over 0.075.
    assert round(overflow(9, 4, 0.25), 4) == 0.0604
    assert round(overflow(10, 4, 0.25), 4) == 0.1018
    # The cap uses the upper end of the 95 % interval instead: 25 answers in 100 attempts -> 0.3430.
    stats = stats_with(answered=25, busy=75)
    assert round(answer_rate_upper(stats), 4) == 0.3430
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats) == 7
    assert calls_to_place(DialMode.PREDICTIVE, 4, 5, 0, stats) == 2
    assert calls_to_place(DialMode.PREDICTIVE, 4, 12, 0, stats) == 0
    assert calls_to_place(DialMode.PREDICTIVE, 1, 0, 0, stats) == 1  # one agent: a second call risks too much
    assert calls_to_place(DialMode.PREDICTIVE, 2, 0, 0, stats) == 2
    assert calls_to_place(DialMode.PREDICTIVE, 50, 0, 0, stats) == 140


def test_given_a_young_window_with_a_low_answer_rate_then_the_cap_dials_cautiously() -> None:
    young = stats_with(answered=2, busy=18)  # 10 %, but the answered calls are the last to be known
    assert round(answer_rate_upper(young), 4) == 0.3010
    assert calls_to_place(DialMode.PREDICTIVE, 12, 0, 0, young, binomial_cap=False) == 60
    assert calls_to_place(DialMode.PREDICTIVE, 12, 0, 0, young) == 32
    assert overflow(2, 1, 0.5) == 0.25
    assert (overflow(5, 3, 1.0), overflow(5, 3, 0.0)) == (2.0, 0.0)


def test_given_the_abandon_rate_at_the_limit_then_the_ratio_is_one() -> None:
    stats = stats_with(answered=97, abandoned=3, busy=300)  # 100 live answers of 400, 3 % abandoned
    assert (stats.answer_rate, stats.abandon_rate) == (0.25, 0.03)
    assert pacing_ratio(stats, max_abandon_rate=0.03) == 1.0
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats, 0.03) == 4
    over = stats_with(answered=90, abandoned=10, busy=300)
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, over, 0.03) == 4


def test_given_the_abandon_rate_between_half_the_limit_and_the_limit_then_the_ratio_falls_linearly() -> None:
    stats = stats_with(
        answered=98, abandoned=2, busy=300
    )  # 2 %: two thirds of the way from 3 % down to 1.5 %
    assert pacing_ratio(stats) == pytest.approx(3.0)
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats, binomial_cap=False) == 12
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats) == 8  # the cap binds first
    low = stats_with(answered=99, abandoned=1, busy=300)  # 1 %, under half the limit: the full ratio
    assert pacing_ratio(low) == 4.0
    assert (
        calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats, 0.06, binomial_cap=False) == 16
    )  # < half of 6 %


def test_given_few_attempts_or_a_low_answer_rate_then_the_ratio_is_bounded() -> None:
    assert (
        calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats_with(answered=1, busy=18)) == 4
    )  # 19 < 20 samples
    assert (
        calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats_with(answered=1, busy=19), binomial_cap=False)
        == 20
    )  # 1/0.05 = 20, capped at 5
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats_with(busy=40), max_ratio=3.0) == 12
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats_with(answered=40)) == 4


def test_the_window_slides_and_keeps_the_averages() -> None:
    stats = PacingStats(window=10)
    for _ in range(10):
        stats.record(CallOutcome.BUSY, ring_seconds=1.0)
    for _ in range(4):
        stats.record(CallOutcome.ANSWERED, ring_seconds=3.0, talk_seconds=30.0)
    stats.record(CallOutcome.ABANDONED, ring_seconds=3.0, talk_seconds=2.0)
    assert stats.attempts == 10
    assert (stats.answer_rate, stats.abandon_rate) == (0.5, 0.2)
    assert stats.average_ring_seconds == 2.0
    assert stats.average_talk_seconds == 30.0
    assert (len(stats._lives), stats._talked) == (5, 4)
    with pytest.raises(ValueError, match="at least one attempt"):
        PacingStats(window=0)
    with pytest.raises(ValueError, match="cannot be negative"):
        calls_to_place(DialMode.PROGRESSIVE, -1, 0, 0, stats)
    with pytest.raises(ValueError, match="is not a valid DialMode"):
        calls_to_place("turbo", 1, 0, 0, stats)


def test_an_answer_recorded_when_it_happens_counts_once() -> None:
    stats = PacingStats(window=100)
    stats.record(CallOutcome.BUSY, ring_seconds=1.0)
    stats.record_answer(ring_seconds=3.0)
    assert (stats.attempts, stats.answer_rate, stats.abandon_rate) == (
        2,
        0.5,
        0.0,
    )  # known before the call ends
    stats.record(CallOutcome.ABANDONED, ring_seconds=3.0, talk_seconds=2.0, answer_counted=True)
    assert (stats.attempts, stats.answer_rate, stats.abandon_rate) == (2, 0.5, 1.0)
    assert stats.average_ring_seconds == 2.0
