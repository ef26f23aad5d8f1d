"""DNS blocklists through the binding: the engine lists names, a Python
callable answers them, and the verdict is finished with the answers."""

from __future__ import annotations

from typing import Dict, List

import libfilter
from libfilter import Verdict

RULES = (
    "header __PY_ZEN eval:check_rbl('py', 'zen.example.')\n"
    "header PY_SBL eval:check_rbl_sub('py', '127.0.0.2')\n"
    "tflags PY_SBL net\n"
    "score PY_SBL 0 6 0 6\n"
)
MSG = (
    b"Received: from x (unknown [203.0.113.9]) by mx.example.com; "
    b"Mon, 3 Jun 2024 10:00:00 +0000\r\nSubject: hi\r\n\r\nhello\r\n"
)


def test_listed_relay_makes_spam() -> None:
    asked: List[str] = []
    zone: Dict[str, List[str]] = {"9.113.0.203.zen.example": ["127.0.0.2"]}

    def resolve(name: str) -> List[str]:
        asked.append(name)
        return zone.get(name, [])

    with libfilter.Engine(memory_rules={"dns.cf": RULES}, net=True) as engine:
        report = engine.scan(MSG, resolve=resolve)
        assert asked == ["9.113.0.203.zen.example"]
        assert report.verdict == Verdict.SPAM
        assert "PY_SBL" in [s.name for s in report.symbols]
        # Not listed: the same message is clean.
        zone.clear()
        assert engine.scan(MSG, resolve=resolve).verdict == Verdict.CLEAN
        # Without a resolver nothing is asked and nothing is listed.
        assert engine.scan(MSG).verdict == Verdict.CLEAN


def test_without_net_nothing_is_asked() -> None:
    asked: List[str] = []

    def resolve(name: str) -> List[str]:
        asked.append(name)
        return ["127.0.0.2"]

    with libfilter.Engine(memory_rules={"dns.cf": RULES}) as engine:
        report = engine.scan(MSG, resolve=resolve)
        assert asked == []
        assert report.verdict == Verdict.CLEAN


TXT_RULES = (
    "loadplugin Mail::SpamAssassin::Plugin::AskDNS\n"
    "header PY_TXT eval:check_rbl_txt('pytxt', 'txt.example.', '(?i)spam')\n"
    "tflags PY_TXT net\n"
    "score PY_TXT 0 6 0 6\n"
    "askdns PY_ASK _LASTEXTERNALREVIP_.ask.example A 127.0.0.4\n"
    "score PY_ASK 0.5\n"
)


def test_txt_records_through_resolve_txt() -> None:
    asked_a: List[str] = []
    asked_txt: List[str] = []

    def resolve(name: str) -> List[str]:
        asked_a.append(name)
        return ["127.0.0.4"]

    def resolve_txt(name: str) -> List[str]:
        asked_txt.append(name)
        return ["Listed for SPAM: see https://txt.example/"]

    with libfilter.Engine(memory_rules={"txt.cf": TXT_RULES}, net=True) as engine:
        report = engine.scan(MSG, resolve=resolve, resolve_txt=resolve_txt)
        assert asked_a == ["9.113.0.203.ask.example"]
        assert asked_txt == ["9.113.0.203.txt.example"]
        assert sorted(s.name for s in report.symbols) == ["PY_ASK", "PY_TXT"]
        assert report.verdict == Verdict.SPAM
        # An old caller with an A resolver only: the TXT name is not asked.
        asked_a.clear()
        asked_txt.clear()
        report = engine.scan(MSG, resolve=resolve)
        assert asked_a == ["9.113.0.203.ask.example"] and asked_txt == []
        assert [s.name for s in report.symbols] == ["PY_ASK"]
        # A TXT resolver only: the A name is not asked.
        asked_a.clear()
        report = engine.scan(MSG, resolve_txt=resolve_txt)
        assert asked_a == [] and asked_txt == ["9.113.0.203.txt.example"]
        assert [s.name for s in report.symbols] == ["PY_TXT"]
