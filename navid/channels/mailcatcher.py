"""The demo's mail catcher: an SMTP server on 127.0.0.1 that keeps every message as an .eml file.

`navid demo` runs it and points its worker at it, so a campaign launched in the demo really goes out over SMTP
and the messages can be opened from `var/demo-mail/` with any mail program. It is not for production.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.counter = itertools.count(len(list(folder.glob("*.eml"))) + 1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            number = next(self.counter)
        (self.folder / f"{number:06d}.eml").write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted"


def mail_catcher_start(*, folder: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the catcher in a thread; messages land in `folder`. Stop it with `.stop()`."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keep(folder), hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller
