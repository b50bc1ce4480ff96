"""Send an email campaign with several worker processes into an SMTP server (aiosmtpd) on 127.0.0.1.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_bench .venv/bin/python bench/send_email.py \
    --messages 20000 --workers 4 [--kill]

Writes a running campaign and its outbox directly (as materialisation would), starts an aiosmtpd server in this
process and `manage.py send_outbox --wait` workers as separate processes, and prints messages per second, the
largest worker's peak resident memory, and how many times the server received each Message-ID. With --kill, one
worker is killed with SIGKILL after a third of the messages and another is started in its place.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--kill", action="store_true", help="kill -9 one worker after a third of the messages"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="send in this process, one worker, under cProfile; print where the time goes",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import OutboxMessage, OutboxState
    from navid.campaigns.progress import campaign_progress
    from navid.campaigns.tests.sending import customers_bulk, outbox_write, running_campaign
    from navid.channels.tests.servers import SmtpServer
    from navid.customers.models import Customer
    from navid.interactions.models import Interaction

    call_command("migrate", interactive=False, verbosity=0)
    UserFactory.reset_sequence(int(time.time()))  # a fresh owner on every run
    campaign = running_campaign()
    start = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    outbox_write(campaign=campaign, customers=customers_bulk(count=args.messages, start=start))
    server = SmtpServer().start()
    # Workers keep their compiled bytecode under /tmp (not in the tree), as an installed deployment has it: with
    # PYTHONDONTWRITEBYTECODE each worker compiled Django from source at start-up (15-60 s on the loaded machine).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"} | {
        "PYTHONPYCACHEPREFIX": "/tmp/navid-bench-pycache",
        "NAVID_SMTP_HOST": server.host,
        "NAVID_SMTP_PORT": str(server.port),
        "NAVID_SEND_BATCH": str(args.batch),
        "NAVID_SEND_LEASE_SECONDS": "5" if args.kill else "120",
    }
    if args.profile:
        _profile(campaign_id=campaign.id, server=server, messages=args.messages, batch=args.batch)
        server.stop()
        return
    command = [
        sys.executable,
        "manage.py",
        "send_outbox",
        "--campaign",
        str(campaign.id),
        "--channel",
        "email",
    ]
    command.append("--wait")
    print(
        f"{connection.vendor}: {args.messages:,} messages, {args.workers} worker processes, batch {args.batch}"
    )

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    workers = [worker() for _ in range(args.workers)]
    sampler = _CpuSampler(server_tid=server.controller._thread.native_id)
    while not server.messages and all(p.poll() is None for p in workers):
        time.sleep(0.01)
    first = time.perf_counter()  # worker processes are up (Django start-up is not sending)
    sampler.start([p.pid for p in workers])
    if args.kill:
        while len(server.messages) < args.messages // 3:
            time.sleep(0.02)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        print(f"killed worker {workers[0].pid} after {len(server.messages):,} messages")
        workers = [*workers[1:], worker()]
        sampler.pids.append(workers[-1].pid)
    for process in workers:
        process.wait()
    seconds = time.perf_counter() - started
    cpu = sampler.stop()
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    received = server.recorder.message_ids()
    server.stop()
    progress = campaign_progress(campaign_id=campaign.id)
    print(f"sent          {progress['states']['sent']:>10,}  in {seconds:,.1f} s")
    print(f"rate          {args.messages / seconds:>10,.0f} messages/s, start-up included")
    print(
        f"rate          {args.messages / (seconds - (first - started)):>10,.0f} messages/s from the first message"
    )
    print(f"peak RSS      {peak_kb / 1024:>10,.0f} MB (largest worker process)")
    print(f"received      {sum(received.values()):>10,}  distinct Message-IDs {len(received):,}")
    print(f"duplicates    {sum(n - 1 for n in received.values() if n > 1):>10,}")
    missing = args.messages - len(received)
    print(f"missing       {missing:>10,}")
    # CPU from the first message to the end (the workers' start-up left out), per message sent.
    total = sum(cpu.values())
    print(f"CPU per message, from the first message ({args.messages:,} messages):")
    for part, value in cpu.items():
        print(f"  {part:<22} {value / args.messages * 1000:>6.2f} ms")
    print(
        f"  {'total':<22} {total / args.messages * 1000:>6.2f} ms: at most {2 * args.messages / total:,.0f} messages/s on 2 cores"
    )
    # Keep the benchmark database small between runs.
    Interaction.objects.filter(campaign_id=campaign.id).delete()
    OutboxMessage.objects.filter(campaign=campaign, state__in=list(OutboxState)).delete()
    Customer.objects.filter(id__gte=start).delete()


class _CpuSampler:
    """CPU time (user + system) of the worker processes, the PostgreSQL backends serving the bench's database and
    the SMTP server's thread, sampled every 0.1 s from /proc: what each used from `start` to `stop`."""

    def __init__(self, *, server_tid: int | None) -> None:
        import threading

        self.server_tid = server_tid
        self.pids: list[int] = []
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def _cpu(self, path: str) -> float | None:
        try:
            with open(path) as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime

    def _backends(self) -> list[int]:
        import psycopg
        from django.db import connection

        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [row[0] for row in rows]

    def _sample(self) -> None:
        seen: list[tuple[str, int, str]] = [("workers", pid, f"/proc/{pid}/stat") for pid in self.pids]
        seen += [("PostgreSQL backends", pid, f"/proc/{pid}/stat") for pid in self._backends()]
        if self.server_tid:
            seen.append(("SMTP server thread", 0, f"/proc/self/task/{self.server_tid}/stat"))
        for part, pid, path in seen:
            value = self._cpu(path)
            if value is not None:
                self.first.setdefault((part, pid), value)
                self.last[(part, pid)] = value

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def start(self, pids: list[int]) -> None:
        self.pids = list(pids)
        self._sample()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        used: dict[str, float] = {"workers": 0.0, "PostgreSQL backends": 0.0, "SMTP server thread": 0.0}
        for key, value in self.last.items():
            used[key[0]] += value - self.first[key]
        return used


def _profile(*, campaign_id: int, server: Any, messages: int, batch: int) -> None:
    """One worker in this process under cProfile; the SMTP server's thread CPU time is measured apart."""
    import cProfile
    import pstats

    from django.test import override_settings

    from navid.campaigns.execution import channel_send

    profiler = cProfile.Profile()
    cpu_before = time.process_time()
    started = time.perf_counter()
    with override_settings(NAVID_SMTP_HOST=server.host, NAVID_SMTP_PORT=server.port):
        profiler.enable()
        report = channel_send(campaign_id=campaign_id, channel="email", batch_size=batch)
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before  # this process: worker and server thread together
    print(f"sent {report.counts} in {seconds:.1f} s: {messages / seconds:,.0f} messages/s, one worker")
    print(f"process CPU {cpu:.1f} s ({cpu / messages * 1000:.2f} ms a message, worker and server thread)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
