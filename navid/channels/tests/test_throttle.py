import pytest

from navid.channels.models import SendRate
from navid.channels.throttle import send_rate_reserve

pytestmark = pytest.mark.django_db


def test_given_10_per_second_then_batches_of_5_start_half_a_second_apart() -> None:
    waits = [send_rate_reserve(key="c:1:sms", count=5, per_second=10, now=1000.0) for _ in range(3)]
    assert waits == [0.0, 0.5, 1.0]
    assert SendRate.objects.get(key="c:1:sms").next_at == 1001.5


def test_given_an_idle_sender_then_the_allowance_does_not_pile_up() -> None:
    send_rate_reserve(key="c:2:sms", count=5, per_second=10, now=1000.0)
    assert send_rate_reserve(key="c:2:sms", count=5, per_second=10, now=2000.0) == 0.0
    assert send_rate_reserve(key="c:2:sms", count=5, per_second=10, now=2000.0) == 0.5


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="a send rate must be positive"):
        send_rate_reserve(key="c:3:sms", count=1, per_second=0)
