"""The reply server: real SMTP on 127.0.0.1, parsing of replies, 451 when a reply cannot be stored, size limit."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from navid.channels.inbound_mail import MAX_BYTES, InboundMail, inbound_mail_start, inbound_parse
from navid.channels.tests.servers import free_port


def _reply(body: str = "Yes, please call me.\n> Dear Maryam, see our deposit") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Maryam <Reader@Example.com>"
    message["To"] = "offers@bank.example"
    message["Subject"] = "Re: An offer for you"
    message["In-Reply-To"] = "<navid.12.1.345.email@bank.example>"
    message["References"] = "<older@bank.example> <navid.12.1.345.email@bank.example>"
    message.set_content(body)
    return message


def test_a_reply_is_parsed_into_sender_subject_text_and_the_messages_it_answers() -> None:
    mail = inbound_parse(bytes(_reply()))
    assert (mail.sender, mail.subject, mail.text) == (
        "reader@example.com",
        "Re: An offer for you",
        "Yes, please call me.",
    )
    assert mail.answers == ("<navid.12.1.345.email@bank.example>", "<older@bank.example>")


def test_an_html_only_reply_keeps_its_words() -> None:
    message = _reply()
    message.set_content("<p>Call me <b>tomorrow</b></p>", subtype="html")
    assert inbound_parse(bytes(message)).text == "Call me  tomorrow"


@pytest.fixture
def server() -> Iterator[tuple[int, list[InboundMail], dict[str, Any]]]:
    received: list[InboundMail] = []
    behaviour: dict[str, Any] = {"fail": False}

    def deliver(mail: InboundMail) -> None:
        if behaviour["fail"]:
            raise RuntimeError("database is down")
        received.append(mail)

    port = free_port()
    controller = inbound_mail_start(deliver=deliver, port=port)
    try:
        yield port, received, behaviour
    finally:
        controller.stop()


def test_the_server_hands_each_reply_over_and_accepts_it(server: Any) -> None:
    port, received, _behaviour = server
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(_reply())
    assert [(m.sender, m.text) for m in received] == [("reader@example.com", "Yes, please call me.")]


def test_a_reply_that_cannot_be_stored_is_refused_for_now_so_it_is_sent_again(server: Any) -> None:
    port, received, behaviour = server
    behaviour["fail"] = True
    with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.send_message(_reply())
    assert refused.value.smtp_code == 451
    behaviour["fail"] = False
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(_reply())
    assert len(received) == 1


def test_a_reply_larger_than_the_limit_is_refused(server: Any) -> None:
    port, received, _behaviour = server
    with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPException):
        client.send_message(_reply("x" * (MAX_BYTES + 10)))
    assert received == []
