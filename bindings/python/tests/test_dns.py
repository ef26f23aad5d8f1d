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
