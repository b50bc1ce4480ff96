import time
from datetime import UTC, datetime

import pytest

from navid.channels.base import ChannelUnavailable, Outgoing
from navid.channels.hooks import Inbound, Receipt
from navid.channels.sms import (
    DATA_CODING_GSM7,
    DATA_CODING_UCS2,
    SmppAdapter,
    gsm7_decode,
    gsm7_encode,
    receipt_parse,
    short_message_text,
    sms_parts,
)
from navid.channels.tests.servers import SmppServer, free_port, smpp_server_fixture  # noqa: F401

PERSIAN = "مشتری گرامی، سپرده جدید بانک نوید با سود ویژه برای شما آماده است."


def test_latin_text_is_gsm7_in_one_part_up_to_160_septets() -> None:
    parts = sms_parts("a" * 160)
    assert (parts.data_coding, parts.esm_class, len(parts.parts), len(parts.parts[0])) == (0, 0, 1, 160)


def test_gsm7_extension_characters_take_two_septets_and_are_never_split() -> None:
    text = "a" * 152 + "€" + "b" * 10  # the euro sign would straddle parts 1 and 2 if split by octets
    parts = sms_parts(text, reference=9)
    assert [len(part) for part in parts.parts] == [6 + 152, 6 + 12]
    assert parts.parts[0][:6] == bytes((0x05, 0x00, 0x03, 9, 2, 1))
    assert parts.parts[1][:6] == bytes((0x05, 0x00, 0x03, 9, 2, 2))
    assert gsm7_decode(parts.parts[1][6:]) == "€" + "b" * 10
    assert gsm7_encode("{x}") == bytes((0x1B, 0x28, 0x78, 0x1B, 0x29))


def test_persian_is_ucs2_and_long_text_is_concatenated_in_67_character_parts() -> None:
    assert sms_parts(PERSIAN).data_coding == DATA_CODING_UCS2
    assert len(PERSIAN) == 65
    assert len(sms_parts(PERSIAN).parts) == 1
    long_text = PERSIAN * 3  # 195 characters: 67 + 67 + 61
    parts = sms_parts(long_text, reference=200)
    assert [len(part) for part in parts.parts] == [6 + 134, 6 + 134, 6 + 122]
    assert parts.esm_class == 0x40
    assert (
        "".join(
            short_message_text(short_message=part, data_coding=DATA_CODING_UCS2, esm_class=0x40)
            for part in parts.parts
        )
        == long_text
    )


def test_russian_is_ucs2() -> None:
    assert sms_parts("Новый вклад для вас").data_coding == DATA_CODING_UCS2
    assert sms_parts("New deposit for you").data_coding == DATA_CODING_GSM7


def test_receipt_text_is_parsed() -> None:
    at = datetime(2026, 11, 22, tzinfo=UTC)
    text = "id:00000000A1 sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:000 text:"
    assert receipt_parse(text=text, at=at) == Receipt(
        provider_id="00000000A1", delivered=True, at=at, status="DELIVRD"
    )
    assert receipt_parse(text="id:7 stat:UNDELIV", at=at) == Receipt(
        provider_id="7", delivered=False, at=at, status="UNDELIV"
    )
    assert receipt_parse(text="hello", at=at) is None


def _sms(n: int, text: str = "Hello", to: str = "") -> Outgoing:
    return Outgoing(
        key=f"3:1:{n}:sms", to=to or f"+98912000{n:04d}", language="en", text=text, sender="NavidBank"
    )


def _adapter(server: SmppServer, **kwargs: object) -> SmppAdapter:
    return SmppAdapter(host=server.host, port=server.port, system_id="navid", password="secret", **kwargs)  # type: ignore[arg-type]


def test_given_a_window_when_messages_are_sent_then_each_part_is_submitted_once_with_its_coding(
    smpp_server: SmppServer,
) -> None:
    adapter = _adapter(smpp_server, window=8)
    messages = [_sms(n) for n in range(20)] + [_sms(20, PERSIAN * 3)]
    results = adapter.send_many(messages)
    adapter.close()

    assert [r.ok for r in results] == [True] * 21
    assert [r.parts for r in results] == [1] * 20 + [3]
    assert len(smpp_server.submitted) == 23
    assert len({r.provider_id for r in results}) == 21
    assert smpp_server.binds == [(0x09, "navid")]
    first, long_first = smpp_server.submitted[0], smpp_server.submitted[20]
    assert (first.destination, first.source, first.data_coding, first.short_message) == (
        "989120000000",
        "NavidBank",
        0,
        b"Hello",
    )
    assert (long_first.data_coding, long_first.esm_class, long_first.registered_delivery) == (8, 0x40, 1)
    assert results[20].provider_id == long_first.message_id


def test_given_refused_numbers_then_an_invalid_number_is_permanent_and_throttling_temporary(
    smpp_server: SmppServer,
) -> None:
    smpp_server.refuse = {"989120000001": 0x0B, "989120000002": 0x58}
    adapter = _adapter(smpp_server)
    results = adapter.send_many([_sms(0), _sms(1), _sms(2)])
    adapter.close()

    assert [(r.ok, r.permanent) for r in results] == [(True, False), (False, True), (False, False)]
    assert results[1].error == "submit_sm: Invalid Destination Address (0x0000000B)"


def test_given_a_wrong_password_or_no_server_then_the_channel_is_unavailable(smpp_server: SmppServer) -> None:
    wrong = SmppAdapter(host=smpp_server.host, port=smpp_server.port, system_id="navid", password="wrong")
    with pytest.raises(ChannelUnavailable, match="cannot bind"):
        wrong.send_many([_sms(0)])
    nobody = SmppAdapter(host="127.0.0.1", port=free_port(), system_id="navid", password="secret")
    with pytest.raises(ChannelUnavailable, match="cannot bind"):
        nobody.send_many([_sms(0)])


def test_given_the_commit_point_refuses_a_message_then_it_is_not_submitted(smpp_server: SmppServer) -> None:
    adapter = _adapter(smpp_server, commit_point=lambda keys: set(keys) - {"3:1:1:sms"})
    results = adapter.send_many([_sms(0), _sms(1), _sms(2)])
    adapter.close()

    assert [r.ok for r in results] == [True, False, True]
    assert [s.destination for s in smpp_server.submitted] == ["989120000000", "989120000002"]


def test_receipts_and_replies_reach_on_deliver_and_are_answered(smpp_server: SmppServer) -> None:
    events: list[Receipt | Inbound] = []
    adapter = _adapter(smpp_server, on_deliver=events.append)
    (result,) = adapter.send_many([_sms(0)])
    smpp_server.push_receipt(message_id=result.provider_id, destination="NavidBank", source="989120000000")
    smpp_server.push_inbound(sender="989120000000", text="لغو")
    deadline = time.monotonic() + 5
    while len(events) < 2 and time.monotonic() < deadline:
        adapter.poll(0.2)
    adapter.close()

    receipt, inbound = events
    assert isinstance(receipt, Receipt) and isinstance(inbound, Inbound)
    assert (receipt.provider_id, receipt.delivered, receipt.status) == (result.provider_id, True, "DELIVRD")
    assert (inbound.sender, inbound.text) == ("989120000000", "لغو")
    assert len(smpp_server.deliver_responses) == 2
