import smtplib
from pathlib import Path

from navid.channels.mailcatcher import mail_catcher_start
from navid.channels.tests.servers import free_port


def test_every_message_is_kept_as_an_eml_file(tmp_path: Path) -> None:
    port = free_port()
    catcher = mail_catcher_start(folder=tmp_path, port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("offers@bank.example", ["a@example.com"], b"Subject: one\r\n\r\nfirst")
            client.sendmail("offers@bank.example", ["b@example.com"], b"Subject: two\r\n\r\nsecond")
    finally:
        catcher.stop()
    files = sorted(tmp_path.glob("*.eml"))
    assert [f.name for f in files] == ["000001.eml", "000002.eml"]
    assert files[1].read_bytes() == b"Subject: two\r\n\r\nsecond\r\n"
