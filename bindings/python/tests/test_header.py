"""The binding against include/libfilter.h (LIBFILTER_HEADER; skipped when
unset): every constant of the C enums and flags the binding mirrors has
the same value in Python and the other way round, and every C function the
binding declares exists in the header with as many arguments, and the
binding declares every function and mirrors every enum of the header."""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import Dict, List, Tuple, Type

import pytest

import libfilter
from libfilter import _ffi


@pytest.fixture(scope="module")
def header() -> str:
    path = os.environ.get("LIBFILTER_HEADER")
    if not path:
        pytest.skip("LIBFILTER_HEADER is not set")
    text = Path(path).read_text()
    # Comments out (they quote names and numbers).
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def c_enums(text: str) -> Dict[str, Dict[str, int]]:
    enums = {}
    for body, name in re.findall(r"typedef\s+enum\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
        members = dict(re.findall(r"\b(LF_\w+)\s*=\s*(-?\d+)", body))
        assert members, f"enum {name}: no explicit values"
        assert len(members) == body.count(","), f"enum {name}: a member without a value"
        enums[name] = {k: int(v) for k, v in members.items()}
    return enums


def c_defines(text: str) -> Dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"#define\s+(LF_\w+)\s+(\d+)\b", text)}


def c_functions(text: str) -> Dict[str, int]:
    """Function name -> number of parameters."""
    out = {}
    for name, params in re.findall(r"\b(lf_\w+)\s*\(([^()]*)\)\s*;", text):
        params = params.strip()
        out[name] = 0 if params in ("", "void") else params.count(",") + 1
    return out


# C enum name -> (Python enum, prefix of its constants)
ENUMS: Dict[str, Tuple[Type[enum.Enum], str]] = {
    "lf_status": (libfilter.Status, "LF_"),
    "lf_verdict": (libfilter.Verdict, "LF_VERDICT_"),
    "lf_action": (libfilter.Action, "LF_ACTION_"),
    "lf_detection_kind": (libfilter.DetectionKind, "LF_DETECTION_"),
    "lf_limit": (libfilter.Limit, "LF_LIMIT_"),
    "lf_bayes_classifier": (libfilter.BayesClassifier, "LF_BAYES_"),
    "lf_advice": (libfilter.Advice, "LF_ADVICE_"),
}


@pytest.mark.parametrize("c_name", sorted(ENUMS))
def test_enum_matches(header: str, c_name: str) -> None:
    enums = c_enums(header)
    assert c_name in enums, f"{c_name} is no longer in the header"
    py, prefix = ENUMS[c_name]
    want = {k[len(prefix):]: v for k, v in enums[c_name].items()}
    assert all(k.startswith(prefix) for k in enums[c_name]), enums[c_name]
    have = {m.name: m.value for m in py}
    assert have == want


def test_report_flags_match(header: str) -> None:
    want = {k[len("LF_REPORT_"):]: v for k, v in c_defines(header).items()
            if k.startswith("LF_REPORT_")}
    assert want, "no LF_REPORT_ flags in the header"
    have = {m.name: m.value for m in libfilter.ReportFlags if m.value}
    assert have == want


def test_header_version(header: str) -> None:
    d = c_defines(header)
    version = (d["LF_VERSION_MAJOR"], d["LF_VERSION_MINOR"], d["LF_VERSION_PATCH"])
    assert ".".join(map(str, version)) == libfilter.__version__
    assert (version[:2] if version[0] == 0 else version[:1]) == _ffi.ABI[: 2 if version[0] == 0 else 1]


def test_no_unmirrored_enum(header: str) -> None:
    extra = sorted(set(c_enums(header)) - set(ENUMS))
    assert not extra, f"C enums the Python binding does not mirror: {extra}"


def test_declared_functions_exist(header: str) -> None:
    c = c_functions(header)
    assert len(c) >= 50, "the header parser found too few functions"
    wrong: List[str] = []
    for name, (_restype, argtypes) in _ffi.FUNCTIONS.items():
        if name not in c:
            wrong.append(f"{name}: not in the header")
        elif c[name] != len(argtypes):
            wrong.append(f"{name}: {len(argtypes)} argtypes, the header has {c[name]}")
    assert not wrong, wrong
    missing = sorted(set(c) - set(_ffi.FUNCTIONS))
    assert not missing, f"C functions the Python binding does not declare: {missing}"
