"""Write a feed of N interaction lines (CSV) for the customers of the demo generator, for the ingest benchmark.

python bench/make_interactions_feed.py --lines 200000 --customers 1000000 --out var/bench/feed.csv
DATABASE_URL=... .venv/bin/navid import interactions var/bench/feed.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from pathlib import Path

# (kind, channel, direction, outcomes)
LINES = (
    ("call", "", "outbound", ("completed", "no_answer", "busy", "interested", "not_interested", "callback")),
    ("call", "", "inbound", ("completed", "resolved")),
    ("sms", "", "outbound", ("completed", "failed")),
    ("email", "", "outbound", ("completed",)),
    ("branch_visit", "", "", ("completed", "resolved")),
    ("complaint", "phone", "", ("open", "resolved")),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument(
        "--customers", type=int, default=1_000_000, help="external IDs DEMO-0000001 ... up to this"
    )
    parser.add_argument(
        "--bad-every", type=int, default=100, help="every n-th line names an unknown customer"
    )
    parser.add_argument("--out", type=Path, default=Path("var/bench/feed.csv"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = dt.datetime(2025, 1, 1, 8, 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["external_id", "kind", "channel", "direction", "occurred_at", "outcome", "duration_seconds", "cost",
             "rating", "notes"]
        )  # fmt: skip
        for n in range(1, args.lines + 1):
            customer = args.customers + 1 if n % args.bad_every == 0 else rng.randint(1, args.customers)
            kind, channel, direction, outcomes = rng.choice(LINES)
            when = start + dt.timedelta(seconds=rng.randint(0, 30 * 86400))
            writer.writerow(
                [
                    f"DEMO-{customer:07d}",
                    kind,
                    channel,
                    direction,
                    when.strftime("%Y-%m-%d %H:%M:%S"),
                    rng.choice(outcomes),
                    rng.randint(5, 600) if kind == "call" else "",
                    f"{rng.randint(0, 5000)}.00" if direction == "outbound" else "",
                    rng.choice(("", "", "", "4", "5")),
                    "",
                ]
            )


if __name__ == "__main__":
    main()
