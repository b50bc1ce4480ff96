"""Two redemptions at the same moment cannot overdraw: a row lock on PostgreSQL, a serial transaction on SQLite."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from navid.accounts.roles import Role
from navid.core.errors import ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.loyalty import services
from navid.loyalty.models import PointsEntry
from navid.loyalty.selectors import points_balance
from navid.loyalty.tests.factories import T0, PointsEntryFactory


@pytest.mark.django_db(transaction=True)
def test_two_redemptions_at_once_take_the_balance_once(make_user: Any, monkeypatch: Any) -> None:
    clerk = make_user(Role.RELATIONSHIP_MANAGER)
    customer = CustomerFactory()
    PointsEntryFactory(customer=customer, points=100, occurred_at=T0)
    expire = services._expire

    def slow_expire(*args: Any, **kwargs: Any) -> int:
        # Between taking the lock and reading the balance: without the lock both would read 100 here.
        written = expire(*args, **kwargs)
        time.sleep(0.3)
        return written

    monkeypatch.setattr(services, "_expire", slow_expire)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem(key: str) -> None:
        try:
            barrier.wait()
            services.points_redeem(customer=customer, points=80, actor=clerk, idempotency_key=key, now=T0)
            outcomes.append("redeemed")
        except ValidationFailed as exc:
            outcomes.append(exc.errors["points"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(key,)) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["The balance is 20 points: 80 cannot be redeemed.", "redeemed"]
    assert points_balance(customer=customer) == 20
    assert PointsEntry.objects.filter(kind="redemption").count() == 1
