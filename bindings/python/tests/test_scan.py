"""Scanning through Engine and Scanner: verdicts, reports, databases and
rules from memory, envelopes, limits, thresholds and errors."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import pytest

import libfilter
from libfilter import Action, DetectionKind, LibfilterError, Status, Verdict

from conftest import CLEAN, ROOT, eicar, gtube, with_attachment, with_body


def cargo_version() -> str:
    cargo = ROOT / "Cargo.toml"
    if not cargo.is_file():
        pytest.skip("not run from the repository (no Cargo.toml)")
    m = re.search(r'^version = "([^"]+)"', cargo.read_text(), re.M)
    assert m, "no version in Cargo.toml"
    return m.group(1)


def test_version_matches_cargo() -> None:
    assert libfilter.version() == cargo_version()


def test_package_version_matches_cargo() -> None:
    assert libfilter.__version__ == cargo_version()


def test_status_names_known_to_the_library() -> None:
    lib = libfilter._ffi.lib()
    for status in Status:
        assert lib.lf_status_str(status.value) != b"unknown status", status
    assert lib.lf_status_str(12345) == b"unknown status"


def test_clean_message(engine: libfilter.Engine) -> None:
    r = engine.scan(CLEAN)
    assert r.verdict is Verdict.CLEAN and r.is_clean
    assert not r.is_virus and not r.is_spam
    assert r.action is Action.ACCEPT
    assert r.detections == () and r.virus_names == ()
    assert r.flags & libfilter.ReportFlags.SPAM_CHECKED
    assert r.score < r.required_score
    # The default rules' required score is 5 (bindings/README.md).
    assert r.required_score == 5.0
    names = [n for n, _ in r.headers]
    assert "X-Virus-Scanned" in names and "X-Spam-Status" in names
    assert "X-Spam-Flag" not in names
    status = r.header("x-spam-status")
    assert status is not None and status.startswith("No, score=")
    assert (r.header("X-Virus-Scanned") or "").startswith("libfilter ")
    # Each symbol's score is part of the total.
    assert math.isclose(sum(s.score for s in r.symbols), r.score, abs_tol=1e-3)


def test_report_is_frozen(engine: libfilter.Engine) -> None:
    r = engine.scan(CLEAN)
    with pytest.raises(AttributeError):
        r.verdict = Verdict.SPAM  # type: ignore[misc]
    assert r == engine.scan(CLEAN)


def test_eicar_attachment_is_a_virus(engine: libfilter.Engine) -> None:
    r = engine.scan(with_attachment(eicar(), "eicar.txt"))
    assert r.verdict is Verdict.VIRUS and r.is_virus
    assert r.action is Action.REJECT
    assert r.virus_names, "no detection name"
    first = r.detections[0]
    assert "eicar" in first.name.lower()
    assert first.kind is DetectionKind.SIGNATURE
    # Found in the second MIME part, the attachment.
    assert first.location == "2"


def test_bare_eicar_file(engine: libfilter.Engine) -> None:
    r = engine.scan(eicar())
    assert r.is_virus
    assert r.detections[0].location == ""
    # Not a message: the spam rules do not run.
    assert not r.flags & libfilter.ReportFlags.SPAM_CHECKED


def test_gtube_is_spam(engine: libfilter.Engine) -> None:
    r = engine.scan(with_body(b"This is the GTUBE\r\n\r\n" + gtube() + b"\r\n"))
    assert r.verdict is Verdict.SPAM and r.is_spam
    assert r.detections == ()
    gt = [s for s in r.symbols if "GTUBE" in s.name]
    assert gt, r.symbol_names
    assert gt[0].score >= 1000 and r.score >= 1000
    assert r.action is Action.REJECT  # past the default reject score, 15
    assert r.header("X-Spam-Flag") == "YES"
    assert r.header("X-Spam-Report")
    assert (r.header("X-Spam-Status") or "").startswith("Yes, score=")


def test_bytes_like_inputs(engine: libfilter.Engine) -> None:
    msg = with_attachment(eicar())
    want = engine.scan(msg)
    assert engine.scan(bytearray(msg)) == want
    assert engine.scan(memoryview(msg)) == want
    assert engine.scan(memoryview(bytearray(msg))) == want
    assert engine.scan(memoryview(b"xx" + msg)[2:]) == want
    assert engine.scan(b"").verdict is Verdict.CLEAN
    assert engine.scan(bytearray()).verdict is Verdict.CLEAN
    with pytest.raises(TypeError):
        engine.scan(msg.decode("latin-1"))  # type: ignore[arg-type]


def test_scanner_reuse(engine: libfilter.Engine) -> None:
    msgs = [CLEAN, with_attachment(eicar()), with_body(gtube())]
    with engine.scanner() as sc:
        for _ in range(3):
            assert [sc.scan(m) for m in msgs] == [engine.scan(m) for m in msgs]
    assert sc.closed


def test_scan_many_gives_the_reports_of_scan(engine: libfilter.Engine) -> None:
    msgs: list[bytes | bytearray] = [
        CLEAN,
        with_attachment(eicar()),
        with_body(gtube()),
        eicar(),
        b"",
        bytearray(CLEAN),
    ]
    batch = msgs * 25
    with engine.scanner() as sc:
        got = sc.scan_many(batch)
        assert got == [sc.scan(m) for m in batch]
        assert sc.scan_many([]) == []
    assert engine.scan_many(iter(batch)) == got
    verdicts = {r.verdict for r in got}
    assert Verdict.SPAM in verdicts and Verdict.VIRUS in verdicts


MARKER = b"libfilter python binding: attachment marker 7f3a\n"
NDB_WORD = b"PY-BINDING-NDB-MARKER"
RULES = r"""
body PY_WORD /\bzanzibar\b/
describe PY_WORD Says zanzibar
score PY_WORD 6.5
header PY_ENV_FROM X-Envelope-From =~ /special\@example\.net/
score PY_ENV_FROM 0.1
header PY_ENV_TO X-Envelope-To =~ /second\@example\.org/
score PY_ENV_TO 0.1
header PY_HELO Received =~ /from helo\.example\.net \(rdns\.example\.net \[192\.0\.2\.7\]\)/
score PY_HELO 0.1
header PY_INJECTED exists:X-Injected
score PY_INJECTED 0.1
"""


@pytest.fixture(scope="module")
def custom() -> libfilter.Engine:
    hdb = f"{hashlib.md5(MARKER).hexdigest()}:{len(MARKER)}:Py.Test.Hdb\n".encode()
    ndb = b"Py.Test.Ndb:0:*:" + NDB_WORD.hex().encode() + b"\n"
    return libfilter.Engine.from_memory(
        {"local.hdb": hdb, "local.ndb": ndb},
        {"py.cf": RULES},
        defaults=False,
        thresholds={"reject": 20.0},
    )


def test_memory_counts(custom: libfilter.Engine) -> None:
    assert custom.signature_count == 2  # no embedded defaults
    assert custom.rule_count == 5
    assert custom.load_error_count == 0
    assert "signatures=2" in repr(custom)


def test_hdb_from_memory(custom: libfilter.Engine) -> None:
    r = custom.scan(with_attachment(MARKER))
    assert r.is_virus
    # Signatures not from a .cvd get .UNOFFICIAL, as in clamscan.
    assert r.virus_names == ("Py.Test.Hdb.UNOFFICIAL",)
    assert r.detections[0].location == "2"
    # One byte more: another hash, nothing found.
    assert custom.scan(with_attachment(MARKER + b"x")).detections == ()


def test_ndb_from_memory(custom: libfilter.Engine) -> None:
    r = custom.scan(with_body(b"before " + NDB_WORD + b" after"))
    assert r.is_virus
    assert r.virus_names[0] == "Py.Test.Ndb.UNOFFICIAL"
    assert all(d.kind is DetectionKind.SIGNATURE for d in r.detections)


def test_defaults_off(custom: libfilter.Engine) -> None:
    # No embedded EICAR signature, no attachment policy.
    r = custom.scan(with_attachment(eicar(), "eicar.com"))
    assert r.detections == ()


def test_rules_from_memory(custom: libfilter.Engine) -> None:
    r = custom.scan(with_body(b"Off to zanzibar tomorrow."))
    assert r.is_spam
    assert r.symbols == (libfilter.Symbol("PY_WORD", 6.5, "Says zanzibar"),)
    assert r.score == pytest.approx(6.5)
    # Our reject threshold is 20: spam, but only headers added.
    assert r.action is Action.ADD_HEADER
    assert custom.scan(with_body(b"Off to zanzibarian places.")).is_clean


def test_threshold_reject(custom: libfilter.Engine) -> None:
    with libfilter.Engine(memory_rules={"py.cf": RULES}, defaults=False,
                          thresholds={Action.REJECT: 6.0}) as e:
        assert e.scan(with_body(b"zanzibar")).action is Action.REJECT
    with libfilter.Engine(memory_rules={"py.cf": RULES}, defaults=False,
                          thresholds={"greylist": 1.0, "add_header": None,
                                      "reject": None}) as e:
        r = e.scan(with_body(b"zanzibar"))
        assert r.is_spam and r.action is Action.ADD_HEADER


def test_envelope(custom: libfilter.Engine) -> None:
    msg = with_body(b"hello")
    assert custom.scan(msg).symbols == ()
    r = custom.scan(
        msg,
        client_ip="192.0.2.7",
        helo="helo.example.net",
        rdns="rdns.example.net",
        mail_from="special@example.net",
        rcpt=["first@example.org", "second@example.org"],
    )
    assert set(r.symbol_names) == {"PY_ENV_FROM", "PY_ENV_TO", "PY_HELO"}
    # One recipient as a plain string (not its characters), bytes accepted.
    r = custom.scan(msg, mail_from=b"special@example.net", rcpt="second@example.org")
    assert set(r.symbol_names) == {"PY_ENV_FROM", "PY_ENV_TO"}
    # The null sender.
    assert custom.scan(msg, mail_from="").symbols == ()


def test_envelope_cannot_inject_headers(custom: libfilter.Engine) -> None:
    # The rule works on a real header field...
    real = with_body(b"hello").replace(b"Subject:", b"X-Injected: yes\r\nSubject:")
    assert custom.scan(real).symbol_names == ("PY_INJECTED",)
    # ...but a CRLF in an envelope value does not make one.
    r = custom.scan(with_body(b"hello"),
                    mail_from="special@example.net\r\nX-Injected: yes")
    assert "PY_INJECTED" not in r.symbol_names
    assert "PY_ENV_FROM" in r.symbol_names
    with pytest.raises(ValueError):
        custom.scan(CLEAN, helo="a\0b")


def test_limits(engine: libfilter.Engine) -> None:
    assert engine.limits[libfilter.Limit.MAX_PARTS] > 0
    with libfilter.Engine(limits={"max_parts": 100, libfilter.Limit.MAX_DEPTH: 3}) as e:
        assert e.limits[libfilter.Limit.MAX_PARTS] == 100
        assert e.limits[libfilter.Limit.MAX_DEPTH] == 3
    with pytest.raises(ValueError, match="unknown limit"):
        libfilter.Engine(limits={"max_bogus": 1})
    with pytest.raises(ValueError):
        libfilter.Engine(limits={"max_parts": -1})


def test_depth_limit_is_reported() -> None:
    # Nested multiparts past max_depth: a LIMIT detection, never clean.
    depth = 6
    msg = b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    for i in range(depth):
        msg += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    msg += b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    for i in reversed(range(depth)):
        msg += b"--b%d--\r\n" % i
    with libfilter.Engine(limits={"max_depth": 2}) as e:
        r = e.scan(msg)
        assert r.is_virus
        assert any(d.kind is DetectionKind.LIMIT for d in r.detections), r.detections
        assert r.flags & libfilter.ReportFlags.LIMIT
    with libfilter.Engine() as e:
        assert not e.scan(msg).is_virus


def test_error_nonexistent_path() -> None:
    with pytest.raises(LibfilterError) as info:
        libfilter.Engine(databases=["/nonexistent/x.ndb"])
    assert info.value.status is Status.ERR_IO
    assert "/nonexistent/x.ndb" in info.value.message
    assert "/nonexistent/x.ndb" in str(info.value)
    with pytest.raises(LibfilterError) as info:
        libfilter.Engine(rules="/nonexistent/rules.cf")
    assert info.value.status is Status.ERR_IO


def test_error_bad_database_strict() -> None:
    bad = {"bad.ndb": b"this is not a signature line\n"}
    with pytest.raises(LibfilterError) as info:
        libfilter.Engine(memory_databases=bad, strict=True)
    assert info.value.status is Status.ERR_LOAD
    assert "bad.ndb" in info.value.message
    # Not strict: skipped and counted.
    with libfilter.Engine(memory_databases=bad) as e:
        assert e.load_error_count == 1


def test_error_unknown_database_extension() -> None:
    with pytest.raises(LibfilterError) as info:
        libfilter.Engine(memory_databases={"local.nbd": b"x"})
    assert info.value.status is Status.ERR_LOAD


def test_error_rules_not_utf8() -> None:
    with pytest.raises(LibfilterError) as info:
        libfilter.Engine(memory_rules={"bad.cf": b"body X /\xff\xfe/\n"})
    assert info.value.status is Status.ERR_UTF8


def test_error_is_per_call() -> None:
    # The message is the failing call's, not a stale one.
    with pytest.raises(LibfilterError) as first:
        libfilter.Engine(databases="/nonexistent/one.ndb")
    with pytest.raises(LibfilterError) as second:
        libfilter.Engine(databases="/nonexistent/two.ndb")
    assert "one.ndb" in first.value.message and "two.ndb" in second.value.message


def test_database_from_path(tmp_path: Path) -> None:
    (tmp_path / "local.ndb").write_bytes(
        b"Py.Test.Path:0:*:" + NDB_WORD.hex().encode() + b"\n"
    )
    (tmp_path / "local.cf").write_text(RULES)
    with libfilter.Engine(tmp_path, tmp_path / "local.cf", defaults=False) as e:
        assert e.signature_count == 1 and e.rule_count == 5
        assert e.scan(with_body(NDB_WORD)).virus_names[0] == "Py.Test.Path.UNOFFICIAL"
        assert e.scan(with_body(b"zanzibar")).symbol_names == ("PY_WORD",)
