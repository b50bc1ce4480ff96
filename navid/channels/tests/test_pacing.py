import pytest

from navid.channels.dialer import CallOutcome
from navid.channels.pacing import DialMode, PacingStats, calls_to_place, pacing_ratio


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


def test_given_answer_rate_one_in_four_and_no_abandon_then_four_free_agents_get_sixteen_calls() -> None:
    stats = stats_with(answered=25, busy=75)
    assert (stats.answer_rate, stats.abandon_rate) == (0.25, 0.0)
    assert pacing_ratio(stats) == 4.0
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats) == 16
    assert calls_to_place(DialMode.PREDICTIVE, 4, 5, 0, stats) == 11  # five already ringing count
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 2, stats) == 8  # two answered calls take two agents
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats, line_limit=10) == 10
    assert calls_to_place(DialMode.PREDICTIVE, 0, 3, 0, stats) == 0


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
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats) == 12
    low = stats_with(answered=99, abandoned=1, busy=300)  # 1 %, under half the limit: the full ratio
    assert pacing_ratio(low) == 4.0
    assert calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats, 0.06) == 16  # 2 % is under half of a 6 % limit


def test_given_few_attempts_or_a_low_answer_rate_then_the_ratio_is_bounded() -> None:
    assert (
        calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats_with(answered=1, busy=18)) == 4
    )  # 19 < 20 samples
    assert (
        calls_to_place(DialMode.PREDICTIVE, 4, 0, 0, stats_with(answered=1, busy=19)) == 20
    )  # 1/0.05 = 20 -> 5
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
    with pytest.raises(ValueError, match="at least one attempt"):
        PacingStats(window=0)
    with pytest.raises(ValueError, match="cannot be negative"):
        calls_to_place(DialMode.PROGRESSIVE, -1, 0, 0, stats)
    with pytest.raises(ValueError, match="is not a valid DialMode"):
        calls_to_place("turbo", 1, 0, 0, stats)
