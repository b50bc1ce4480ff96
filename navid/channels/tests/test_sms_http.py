from navid.channels.base import Outgoing
from navid.channels.sms_http import HttpSmsAdapter
from navid.channels.tests.servers import HttpGateway, free_port, sms_gateway_fixture  # noqa: F401


def _sms(n: int, text: str = "Hello") -> Outgoing:
    return Outgoing(key=f"4:1:{n}:sms", to=f"+98912000{n:04d}", language="fa", text=text, sender="NavidBank")


def test_given_a_gateway_then_each_message_is_posted_once_with_its_reference_and_encoding(
    sms_gateway: HttpGateway,
) -> None:
    adapter = HttpSmsAdapter(url=sms_gateway.url, token="t0ken")
    results = adapter.send_many([_sms(1), _sms(2, "سلام")])

    assert [(r.ok, r.provider_id, r.parts) for r in results] == [(True, "gw-1", 1), (True, "gw-2", 1)]
    assert sms_gateway.received == [
        {
            "to": "+989120000001",
            "from": "NavidBank",
            "text": "Hello",
            "reference": "4:1:1:sms",
            "encoding": "gsm7",
            "parts": 1,
        },
        {
            "to": "+989120000002",
            "from": "NavidBank",
            "text": "سلام",
            "reference": "4:1:2:sms",
            "encoding": "ucs2",
            "parts": 1,
        },
    ]
    assert sms_gateway.headers[0]["Authorization"] == "Bearer t0ken"


def test_given_refusals_then_422_is_permanent_and_503_temporary(sms_gateway: HttpGateway) -> None:
    sms_gateway.refuse = {"+989120000001": 422, "+989120000002": 503}
    results = HttpSmsAdapter(url=sms_gateway.url).send_many([_sms(1), _sms(2), _sms(3)])

    assert [(r.ok, r.permanent) for r in results] == [(False, True), (False, False), (True, False)]
    assert results[0].error == 'gateway answered 422: {"error": "refused"}'


def test_given_no_gateway_then_every_message_is_a_temporary_failure() -> None:
    results = HttpSmsAdapter(url=f"http://127.0.0.1:{free_port()}/send").send_many([_sms(1), _sms(2)])
    assert [(r.ok, r.permanent) for r in results] == [(False, False), (False, False)]
