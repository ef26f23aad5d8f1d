"""The streaming Session against one-shot scans, reset, state errors and
the size limit."""

from __future__ import annotations

from typing import List, Tuple

import pytest

import libfilter
from libfilter import DetectionKind, LibfilterError, ReportFlags, Status, Verdict

from conftest import CLEAN, eicar, gtube, with_attachment, with_body

SENDER = "sender@example.com"
RCPT = ["rcpt@example.org"]


def scan_with_envelope(engine: libfilter.Engine, msg: bytes) -> libfilter.Report:
    """engine.scan with the envelope the sessions below are given."""
    return engine.scan(msg, client_ip="192.0.2.7", rdns="mail.example.com",
                       helo="mail.example.com", mail_from=SENDER, rcpt=RCPT)

FOLDED = (
    b"From: sender@example.com\r\nTo: rcpt@example.org,\r\n\tother@example.org\r\n"
    b"Subject: test\r\nDate: Mon, 1 Mar 2004 10:00:00 +0000\r\n"
    b"Message-ID: <x@example.com>\r\n\r\nHello there.\r\n"
)


def split_message(msg: bytes) -> Tuple[List[Tuple[bytes, bytes]], bytes]:
    """Header fields as a milter gets them (name, value without the leading
    space, folds as "\\n\\t"), and the body."""
    head, body = msg.split(b"\r\n\r\n", 1)
    fields: List[Tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + b"\n" + line)
        else:
            name, value = line.split(b":", 1)
            fields.append((name, value.lstrip(b" ")))
    return fields, body


def feed(session: libfilter.Session, msg: bytes, chunk: int = 7) -> None:
    session.mail(SENDER)
    for r in RCPT:
        session.rcpt(r)
    fields, body = split_message(msg)
    for name, value in fields:
        session.header(name, value)
    session.eoh()
    for i in range(0, len(body), chunk):
        session.body(body[i : i + chunk])


MESSAGES = [
    (CLEAN, Verdict.CLEAN),
    (with_body(b"GTUBE:\r\n" + gtube()), Verdict.SPAM),
    (with_attachment(eicar(), "eicar.com"), Verdict.VIRUS),
    (FOLDED, Verdict.CLEAN),
]


def test_session_equals_scan(engine: libfilter.Engine) -> None:
    with engine.session(client_ip="192.0.2.7", rdns="mail.example.com",
                        helo="mail.example.com") as s:
        for msg, verdict in MESSAGES:
            feed(s, msg)
            streamed = s.finish()
            one_shot = scan_with_envelope(engine, msg)
            assert streamed.verdict is verdict
            assert streamed == one_shot


def test_session_connect_and_helo_methods(engine: libfilter.Engine) -> None:
    with engine.session() as s:
        s.connect("192.0.2.7", "mail.example.com")
        s.helo("mail.example.com")
        feed(s, FOLDED)
        assert s.finish() == scan_with_envelope(engine, FOLDED)


def test_session_reset(engine: libfilter.Engine) -> None:
    with engine.session(client_ip="192.0.2.7", rdns="mail.example.com",
                        helo="mail.example.com") as s:
        feed(s, with_attachment(eicar()))
        s.reset()  # aborted: the virus is dropped
        feed(s, CLEAN)
        r = s.finish()
        assert r.is_clean
        assert r == scan_with_envelope(engine, CLEAN)


def test_session_header_after_eoh(engine: libfilter.Engine) -> None:
    with engine.session() as s:
        s.mail("a@example.com")
        s.header("Subject", "x")
        s.eoh()
        with pytest.raises(LibfilterError) as info:
            s.header("Subject", "late")
        assert info.value.status is Status.ERR_STATE
        s.reset()
        s.mail("a@example.com")
        s.header("Subject", "fine again")


def test_session_max_size(engine: libfilter.Engine) -> None:
    body = b"line of text\r\n" * 1000
    with engine.session(max_size=2000) as s:
        s.mail("a@example.com")
        s.header("From", "a@example.com")
        s.header("Subject", "big")
        s.body(body)
        r = s.finish()
    assert r.is_virus
    assert r.flags & ReportFlags.TRUNCATED
    assert any(d.kind is DetectionKind.LIMIT for d in r.detections)
    with pytest.raises(ValueError):
        engine.session(max_size=-1)


def test_session_binary_header_value(engine: libfilter.Engine) -> None:
    with engine.session() as s:
        s.mail("a@example.com")
        s.header(b"Subject", b"caf\xe9")  # not UTF-8: accepted
        s.body(b"hi\r\n")
        assert s.finish().verdict in (Verdict.CLEAN, Verdict.SPAM)
        with pytest.raises(ValueError):
            s.header("Subject", "a\0b")
