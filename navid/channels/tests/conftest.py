"""The AMI server the dialer tests run against: the simulator on a free port, or a real Asterisk.

Set NAVID_TEST_AMI_URL=ami://user:secret@host:5038?trunk=Local/navid-test&agent=Local/agent@navid-test-agents to
run the same tests against a real Asterisk whose dialplan is the one in docs/dialer.md; tests that need to steer
the simulator (cut its connections, read what it received) are skipped then.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from navid.channels.amisim import AmiSimulator, last_digit_rule
from navid.channels.dialer import AsteriskDialer


@dataclass
class AmiTarget:
    """Where the tests' dialer connects, and the simulator when it is one."""

    url: str
    trunk: str
    agent: str
    context: str
    simulator: AmiSimulator | None

    def dialer(self, **options: Any) -> AsteriskDialer:
        options.setdefault("context", self.context)
        options.setdefault("reconnect_delays_s", (0.05, 0.2))
        return AsteriskDialer.from_url(self.url, **options)

    def need_simulator(self) -> AmiSimulator:
        if self.simulator is None:
            pytest.skip("needs the AMI simulator (NAVID_TEST_AMI_URL points at a real Asterisk)")
        return self.simulator


@pytest.fixture(name="ami")
def ami_fixture() -> Iterator[AmiTarget]:
    url = os.environ.get("NAVID_TEST_AMI_URL", "")
    if url:
        query = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
        yield AmiTarget(
            url=url,
            trunk=query.get("trunk", "Local/navid-test"),
            agent=query.get("agent", "Local/agent@navid-test-agents"),
            context=query.get("context", "navid-dialer"),
            simulator=None,
        )
        return
    simulator = AmiSimulator(rule=last_digit_rule(ring_s=0.02, talk_s=0.05, patience_s=5.0)).start()
    yield AmiTarget(
        url=f"ami://navid:secret@127.0.0.1:{simulator.port}",
        trunk="PJSIP/operator",
        agent="PJSIP/1001",
        context="navid-dialer",
        simulator=simulator,
    )
    simulator.stop()
