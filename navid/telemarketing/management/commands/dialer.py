"""`manage.py dialer` (also `navid dialer`): the telemarketing dialer process of this site."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from navid.channels.dialer import dialer_from_settings
from navid.telemarketing.dialing import TICK_SECONDS, DialerProcess


class Command(BaseCommand):
    help = (
        "Place and follow the calls of running progressive, predictive and preview telemarketing campaigns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tick", type=float, default=TICK_SECONDS, help="seconds between pacing rounds")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.NAVID_AMI_URL:
            raise CommandError(
                "NAVID_AMI_URL is not set: the dialer process needs the Asterisk Manager Interface "
                "(ami://user:secret@host:5038). Without it agents dial by hand from the console."
            )
        process = DialerProcess(
            dialer=dialer_from_settings(), tick_seconds=options["tick"], lines=settings.NAVID_DIALER_LINES
        )

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            self.stdout.write(f"dialer process: {settings.NAVID_AMI_URL.split('@')[-1]}, Ctrl+C stops it")
            await process.run(stop)

        asyncio.run(main())
