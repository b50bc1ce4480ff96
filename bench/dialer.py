"""One dialer process drives 50 simultaneous calls against the AMI simulator; how long each pacing decision takes.

    .venv/bin/python bench/dialer.py --seconds 60 --runs 3

The AMI simulator runs as its own process (`python -m navid.channels.amisim`) with a seeded mix: 30 % answered
(ring 1-3 s, talk 2-5 s), 20 % busy, 30 % no answer (ring 2-6 s), 20 % failed. This process runs one asyncio loop:
`AsteriskDialer` over AMI, 50 simulated agents (free -> on call -> wrap-up `--wrap-up` s -> free) and predictive
pacing (`calls_to_place`, the trunk limited to `--lines` calls in flight). Every `--tick` seconds, and after every
call event, it reads the dialer's calls in progress and the agents' states and decides how many calls to start:
that read-and-decide step is the "pacing decision" timed here (p50 / p95 / max), separately from the time it then
takes to send the Originates. Answered calls go to a free agent with `bridge`; with none free within 2 s the dialer
hangs up and the call counts as abandoned.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


@dataclass
class Run:
    decisions_ms: list[float] = field(default_factory=list)
    cycles_ms: list[float] = field(default_factory=list)  # decision + sending the Originates
    placed: int = 0
    peak_calls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    unavailable: int = 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def drive(args: argparse.Namespace, port: int) -> Run:
    from navid.channels.dialer import (
        AsteriskDialer,
        CallEvent,
        CallNotInProgress,
        CallOutcome,
        CallRequest,
        DialerUnavailable,
    )
    from navid.channels.pacing import DialMode, PacingStats, calls_to_place

    dialer = AsteriskDialer("127.0.0.1", port, "navid", "secret", abandon_after_s=2.0, ping_interval_s=5.0)
    await dialer.start()
    events = dialer.events()
    loop = asyncio.get_running_loop()
    stats = PacingStats(window=300)
    run = Run()
    free_agents = [f"PJSIP/agent{n:02d}" for n in range(args.agents)]
    agent_of: dict[str, str] = {}
    waiting: list[str] = []  # answered, no agent yet, oldest first
    started_at: dict[str, float] = {}
    answered_at: dict[str, float] = {}
    numbers = iter(range(10**9))
    wake = asyncio.Event()
    stop_at = loop.time() + args.seconds
    placing = True

    def release(agent: str) -> None:
        free_agents.append(agent)
        wake.set()

    async def on_event(event: CallEvent) -> None:
        attempt = event.attempt_id
        if event.state == "answered":
            answered_at[attempt] = loop.time()
            waiting.append(attempt)
        elif event.state == "ended":
            ended = loop.time()
            ring_end = answered_at.get(attempt, ended)
            outcome = event.outcome or CallOutcome.FAILED
            stats.record(
                outcome,
                ring_seconds=ring_end - started_at.pop(attempt, ended),
                talk_seconds=event.talk_seconds,
            )
            run.outcomes[outcome.value] = run.outcomes.get(outcome.value, 0) + 1
            answered_at.pop(attempt, None)
            if attempt in waiting:
                waiting.remove(attempt)
            agent = agent_of.pop(attempt, None)
            if agent is not None:
                loop.call_later(args.wrap_up, release, agent)
        while waiting and free_agents:
            attempt = waiting.pop(0)
            agent = free_agents.pop()
            agent_of[attempt] = agent
            try:
                await dialer.bridge(attempt, agent)
            except (
                CallNotInProgress,
                DialerUnavailable,
            ):  # the customer hung up meanwhile: the agent is free again
                agent_of.pop(attempt, None)
                free_agents.append(agent)
        wake.set()

    async def read_events() -> None:
        async for event in events:
            await on_event(event)

    reader = asyncio.create_task(read_events())
    while placing or dialer.calls_in_progress():
        if loop.time() >= stop_at:
            placing = False
        begin = time.perf_counter()
        in_progress = dialer.calls_in_progress()
        ringing = sum(1 for e in in_progress.values() if e.state in ("dialing", "ringing"))
        answered_waiting = sum(1 for e in in_progress.values() if e.state == "answered")
        talking = len(in_progress) - ringing - answered_waiting
        run.peak_calls = max(run.peak_calls, len(in_progress))
        wanted = calls_to_place(
            DialMode.PREDICTIVE,
            len(free_agents),
            ringing,
            answered_waiting,
            stats,
            line_limit=args.lines - talking,
        )
        decided = time.perf_counter()
        run.decisions_ms.append((decided - begin) * 1000)
        if placing:
            for _ in range(wanted):
                attempt = f"b{next(numbers)}"
                started_at[attempt] = loop.time()
                try:
                    await dialer.originate(
                        CallRequest(
                            attempt_id=attempt,
                            phone=f"+98912{next(numbers) % 10**7:07d}",
                            trunk="PJSIP/operator",
                            caller_id="02188776655",
                            agent_endpoint=None,
                        )
                    )
                except DialerUnavailable:
                    run.unavailable += 1
                    started_at.pop(attempt, None)
                    break
                run.placed += 1
            run.cycles_ms.append((time.perf_counter() - begin) * 1000)
        if not placing and loop.time() > stop_at + 30:
            break
        wake.clear()
        with contextlib.suppress(TimeoutError):  # the tick: decide again even without an event
            await asyncio.wait_for(wake.wait(), args.tick)
    run.seconds = args.seconds
    await dialer.stop()
    reader.cancel()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--wrap-up", type=float, default=1.0)
    parser.add_argument("--tick", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=15038)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    print(f"load average before: {os.getloadavg()}")
    results: list[Run] = []
    for number in range(1, args.runs + 1):
        simulator = subprocess.Popen(
            [sys.executable, "-m", "navid.channels.amisim", "--port", str(args.port), "--seed", str(number)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert simulator.stdout is not None
            simulator.stdout.readline()
            run = asyncio.run(drive(args, args.port))
        finally:
            simulator.terminate()
            simulator.wait(10)
        results.append(run)
        live = run.outcomes.get("answered", 0) + run.outcomes.get("abandoned", 0)
        print(
            f"run {number}: decisions {len(run.decisions_ms)}, decision p50 {percentile(run.decisions_ms, 0.5):.3f} ms"
            f" p95 {percentile(run.decisions_ms, 0.95):.3f} ms max {max(run.decisions_ms):.3f} ms;"
            f" decision + originates p95 {percentile(run.cycles_ms, 0.95):.2f} ms max {max(run.cycles_ms):.2f} ms;"
            f" placed {run.placed} ({run.placed / run.seconds * 60:.0f}/min); peak simultaneous calls {run.peak_calls};"
            f" outcomes {dict(sorted(run.outcomes.items()))};"
            f" abandon rate {run.outcomes.get('abandoned', 0) / live if live else 0:.4f};"
            f" unavailable {run.unavailable}; load {os.getloadavg()}",
            flush=True,
        )

    def median(values: list[float]) -> float:
        return statistics.median(values)

    print(
        "median of runs: "
        f"decision p50 {median([percentile(r.decisions_ms, 0.5) for r in results]):.3f} ms, "
        f"p95 {median([percentile(r.decisions_ms, 0.95) for r in results]):.3f} ms, "
        f"max {median([max(r.decisions_ms) for r in results]):.3f} ms; "
        f"decision + originates p95 {median([percentile(r.cycles_ms, 0.95) for r in results]):.2f} ms, "
        f"max {median([max(r.cycles_ms) for r in results]):.2f} ms; "
        f"calls/min {median([r.placed / r.seconds * 60 for r in results]):.0f}; "
        f"peak calls {median([r.peak_calls for r in results]):.0f}; "
        f"abandon rate {median([r.outcomes.get('abandoned', 0) / max(1, r.outcomes.get('answered', 0) + r.outcomes.get('abandoned', 0)) for r in results]):.4f}"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
