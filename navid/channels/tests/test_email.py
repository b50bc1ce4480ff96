import email
import socket
from email.policy import default as default_policy

import pytest

from navid.channels.base import ChannelUnavailable, Outgoing
from navid.channels.email import SmtpAdapter, message_id_for
from navid.channels.hooks import Halt
from navid.channels.tests.servers import SmtpServer, free_port, smtp_server_fixture  # noqa: F401


def _message(n: int, to: str = "") -> Outgoing:
    return Outgoing(
        key=f"7:1:{n}:email",
        to=to or f"customer{n}@example.com",
        language="en",
        subject=f"Offer {n}",
        text=f"Hello {n}\n.line starting with a dot",
        html=f"<p>Hello {n}</p>",
        sender="Navid Bank <offers@bank.example>",
        headers={
            "List-Unsubscribe": "<https://navid.example/r/unsubscribe/t/>, <mailto:offers@bank.example>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def test_given_three_messages_when_sent_then_the_server_has_each_once_with_both_parts_and_rfc8058_headers(
    smtp_server: SmtpServer,
) -> None:
    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port)
    results = adapter.send_many([_message(1), _message(2), _message(3)])
    adapter.close()

    assert [(r.key, r.ok, r.permanent) for r in results] == [
        ("7:1:1:email", True, False),
        ("7:1:2:email", True, False),
        ("7:1:3:email", True, False),
    ]
    assert results[0].provider_id == "<navid.7.1.1.email@bank.example>"
    assert len(smtp_server.messages) == 3
    received = email.message_from_bytes(smtp_server.messages[0].content, policy=default_policy)
    assert received["Message-ID"] == message_id_for(key="7:1:1:email", sender="offers@bank.example")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        received["List-Unsubscribe"]
        == "<https://navid.example/r/unsubscribe/t/>, <mailto:offers@bank.example>"
    )
    assert smtp_server.messages[0].sender == "offers@bank.example"
    assert smtp_server.messages[0].recipients == ["customer1@example.com"]
    assert [part.get_content_type() for part in received.iter_parts()] == ["text/plain", "text/html"]
    assert received.get_body(("plain",)).get_content() == "Hello 1\n.line starting with a dot"


def test_given_refused_recipients_then_550_is_a_hard_bounce_and_451_temporary_and_the_rest_go(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.recorder.refuse = {
        "gone@example.com": "550 5.1.1 no such user",
        "later@example.com": "451 try later",
    }
    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port)
    results = adapter.send_many(
        [_message(1, "gone@example.com"), _message(2, "later@example.com"), _message(3)]
    )
    adapter.close()

    assert [(r.ok, r.permanent) for r in results] == [(False, True), (False, False), (True, False)]
    assert results[0].error == "RCPT TO: 550 5.1.1 no such user"
    assert [m.recipients for m in smtp_server.messages] == [["customer3@example.com"]]


def test_given_a_refusal_at_the_end_of_data_then_the_result_says_so(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.refuse_data = {"full@example.com": "552 mailbox full"}
    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port)
    (result,) = adapter.send_many([_message(1, "full@example.com")])
    adapter.close()

    assert (result.ok, result.permanent, result.error) == (False, True, "end of data: 552 mailbox full")


def test_given_no_server_then_the_channel_is_unavailable() -> None:
    adapter = SmtpAdapter(host="127.0.0.1", port=free_port())
    with pytest.raises(ChannelUnavailable, match="cannot connect to SMTP server"):
        adapter.send_many([_message(1)])


def test_given_the_commit_point_refuses_then_nothing_arrives_and_the_next_message_still_goes(
    smtp_server: SmtpServer,
) -> None:
    adapter = SmtpAdapter(
        host=smtp_server.host, port=smtp_server.port, commit_point=lambda keys: set(keys) - {"7:1:1:email"}
    )
    results = adapter.send_many([_message(1), _message(2)])
    adapter.close()

    assert [(r.ok, r.error) for r in results] == [
        (False, "not sent: no longer held by this sender"),
        (True, ""),
    ]
    assert [m.message_id for m in smtp_server.messages] == ["<navid.7.1.2.email@bank.example>"]


def test_given_the_server_drops_the_connection_between_messages_then_the_adapter_reconnects(
    smtp_server: SmtpServer,
) -> None:
    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port)
    adapter.send_many([_message(1)])
    assert adapter._smtp is not None
    adapter._smtp.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed it
    results = adapter.send_many([_message(2)])
    adapter.close()

    assert [r.ok for r in results] == [True]
    assert [m.message_id for m in smtp_server.messages] == [
        "<navid.7.1.1.email@bank.example>",
        "<navid.7.1.2.email@bank.example>",
    ]


def test_given_a_client_that_dies_before_the_final_dot_then_the_server_keeps_nothing(
    smtp_server: SmtpServer,
) -> None:
    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port)

    def die(keys: object) -> set[str]:
        raise KeyboardInterrupt  # the process stops right at the point of no return

    adapter.commit_point = die
    with pytest.raises(KeyboardInterrupt):
        adapter.send_many([_message(1)])
    assert adapter._smtp is not None
    adapter._smtp.close()
    adapter._smtp = None
    adapter.commit_point = lambda keys: set(keys)
    adapter.send_many([_message(2)])
    adapter.close()

    assert [m.message_id for m in smtp_server.messages] == ["<navid.7.1.2.email@bank.example>"]


def test_given_a_halt_at_the_commit_point_then_that_message_and_the_rest_are_not_sent(
    smtp_server: SmtpServer,
) -> None:
    def halt_at_second(keys: object) -> set[str]:
        if keys == ["7:1:2:email"]:
            raise Halt
        return set(keys)  # type: ignore[call-overload]

    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port, commit_point=halt_at_second)
    results = adapter.send_many([_message(1), _message(2), _message(3)])
    adapter.close()

    assert [(r.ok, r.error) for r in results] == [
        (True, ""),
        (False, "not sent: sending halted"),
        (False, "not sent: sending halted"),
    ]
    assert [m.message_id for m in smtp_server.messages] == ["<navid.7.1.1.email@bank.example>"]


# Several connections: groups of messages with one commit point each --------------------------------------------
def test_given_four_connections_when_ten_messages_are_sent_then_three_groups_pass_one_commit_point_each(
    smtp_server: SmtpServer,
) -> None:
    asked: list[list[str]] = []
    ends: list[int] = []

    def commit(keys: object) -> set[str]:
        asked.append(list(keys))  # type: ignore[call-overload]
        return set(asked[-1])

    adapter = SmtpAdapter(
        host=smtp_server.host,
        port=smtp_server.port,
        connections=4,
        commit_point=commit,
        commit_end=lambda: ends.append(len(smtp_server.messages)),
    )
    results = adapter.send_many([_message(n) for n in range(1, 11)])
    opened = sum(smtp is not None for smtp in adapter._pool)
    adapter.close()

    assert [(r.key, r.ok, r.error) for r in results] == [(f"7:1:{n}:email", True, "") for n in range(1, 11)]
    assert [r.provider_id for r in results][:2] == [
        "<navid.7.1.1.email@bank.example>",
        "<navid.7.1.2.email@bank.example>",
    ]
    assert asked == [
        ["7:1:1:email", "7:1:2:email", "7:1:3:email", "7:1:4:email"],
        ["7:1:5:email", "7:1:6:email", "7:1:7:email", "7:1:8:email"],
        ["7:1:9:email", "7:1:10:email"],
    ]
    assert len(ends) == 3
    assert opened == 4
    assert sorted(m.message_id for m in smtp_server.messages) == sorted(
        f"<navid.7.1.{n}.email@bank.example>" for n in range(1, 11)
    )
    assert smtp_server.recorder.message_ids().most_common(1)[0][1] == 1


def test_given_refusals_inside_a_group_then_they_never_reach_the_commit_point_and_the_rest_go(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.recorder.refuse = {
        "gone@example.com": "550 5.1.1 no such user",
        "later@example.com": "451 try later",
    }
    smtp_server.recorder.refuse_data = {"full@example.com": "552 mailbox full"}
    asked: list[list[str]] = []

    def commit(keys: object) -> set[str]:
        asked.append(list(keys))  # type: ignore[call-overload]
        return set(asked[-1])

    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port, connections=4, commit_point=commit)
    results = adapter.send_many(
        [
            _message(1, "gone@example.com"),
            _message(2),
            _message(3, "later@example.com"),
            _message(4, "full@example.com"),
            _message(5),
        ]
    )
    adapter.close()

    assert [(r.key, r.ok, r.permanent, r.error) for r in results] == [
        ("7:1:1:email", False, True, "RCPT TO: 550 5.1.1 no such user"),
        ("7:1:2:email", True, False, ""),
        ("7:1:3:email", False, False, "RCPT TO: 451 try later"),
        ("7:1:4:email", False, True, "end of data: 552 mailbox full"),
        ("7:1:5:email", True, False, ""),
    ]
    assert asked == [["7:1:2:email", "7:1:4:email"], ["7:1:5:email"]]
    assert sorted(m.message_id for m in smtp_server.messages) == [
        "<navid.7.1.2.email@bank.example>",
        "<navid.7.1.5.email@bank.example>",
    ]


def test_given_a_group_whose_commit_point_refuses_one_message_then_only_that_one_is_missing(
    smtp_server: SmtpServer,
) -> None:
    adapter = SmtpAdapter(
        host=smtp_server.host,
        port=smtp_server.port,
        connections=3,
        commit_point=lambda keys: set(keys) - {"7:1:2:email"},
    )
    results = adapter.send_many([_message(1), _message(2), _message(3), _message(4)])
    adapter.close()

    assert [(r.ok, r.error) for r in results] == [
        (True, ""),
        (False, "not sent: no longer held by this sender"),
        (True, ""),
        (True, ""),
    ]
    assert sorted(m.message_id for m in smtp_server.messages) == [
        "<navid.7.1.1.email@bank.example>",
        "<navid.7.1.3.email@bank.example>",
        "<navid.7.1.4.email@bank.example>",
    ]


def test_given_a_halt_at_the_second_groups_commit_point_then_that_group_and_the_rest_are_not_sent(
    smtp_server: SmtpServer,
) -> None:
    def halt_at_second_group(keys: object) -> set[str]:
        if "7:1:3:email" in keys:  # type: ignore[operator]
            raise Halt
        return set(keys)  # type: ignore[call-overload]

    adapter = SmtpAdapter(
        host=smtp_server.host, port=smtp_server.port, connections=2, commit_point=halt_at_second_group
    )
    results = adapter.send_many([_message(n) for n in range(1, 7)])
    adapter.close()

    assert [(r.ok, r.error) for r in results] == [
        (True, ""),
        (True, ""),
        *[(False, "not sent: sending halted")] * 4,
    ]
    assert sorted(m.message_id for m in smtp_server.messages) == [
        "<navid.7.1.1.email@bank.example>",
        "<navid.7.1.2.email@bank.example>",
    ]


def test_given_a_client_that_dies_at_a_groups_commit_point_then_the_server_keeps_none_of_the_group(
    smtp_server: SmtpServer,
) -> None:
    def die(keys: object) -> set[str]:
        raise KeyboardInterrupt  # the process stops right at the point of no return

    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port, connections=3, commit_point=die)
    with pytest.raises(KeyboardInterrupt):
        adapter.send_many([_message(1), _message(2), _message(3)])
    for index in range(3):
        adapter._drop(index)  # what the end of the process does to its sockets
    adapter.commit_point = lambda keys: set(keys)
    adapter.send_many([_message(4), _message(5)])
    adapter.close()

    assert sorted(m.message_id for m in smtp_server.messages) == [
        "<navid.7.1.4.email@bank.example>",
        "<navid.7.1.5.email@bank.example>",
    ]


def test_given_a_connection_dropped_inside_a_group_then_its_message_goes_again_alone_and_arrives_once(
    smtp_server: SmtpServer,
) -> None:
    adapter = SmtpAdapter(host=smtp_server.host, port=smtp_server.port, connections=2)
    adapter.send_many([_message(1), _message(2)])
    second = adapter._pool[1]
    assert second is not None
    second.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed it
    results = adapter.send_many([_message(3), _message(4)])
    adapter.close()

    assert [(r.key, r.ok) for r in results] == [("7:1:3:email", True), ("7:1:4:email", True)]
    assert smtp_server.recorder.message_ids() == {
        f"<navid.7.1.{n}.email@bank.example>": 1 for n in range(1, 5)
    }


def test_connections_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="SMTP connections must be at least 1, not 0"):
        SmtpAdapter(host="127.0.0.1", port=25, connections=0)


def test_given_a_halt_while_a_dropped_message_goes_again_then_the_groups_sent_messages_stay_sent(
    smtp_server: SmtpServer,
) -> None:
    calls: list[list[str]] = []

    def halt_at_the_retry(keys: object) -> set[str]:
        calls.append(list(keys))  # type: ignore[call-overload]
        if calls[-1] == ["7:1:4:email"]:
            raise Halt
        return set(calls[-1])

    adapter = SmtpAdapter(
        host=smtp_server.host, port=smtp_server.port, connections=2, commit_point=halt_at_the_retry
    )
    adapter.send_many([_message(1), _message(2)])
    second = adapter._pool[1]
    assert second is not None
    second.sock.shutdown(socket.SHUT_RDWR)  # the second message of the next group will go again, alone
    results = adapter.send_many([_message(3), _message(4), _message(5)])
    adapter.close()

    assert [(r.key, r.ok, r.error) for r in results] == [
        ("7:1:3:email", True, ""),
        ("7:1:4:email", False, "not sent: sending halted"),
        ("7:1:5:email", False, "not sent: sending halted"),
    ]
    assert sorted(smtp_server.recorder.message_ids()) == [
        "<navid.7.1.1.email@bank.example>",
        "<navid.7.1.2.email@bank.example>",
        "<navid.7.1.3.email@bank.example>",
    ]
