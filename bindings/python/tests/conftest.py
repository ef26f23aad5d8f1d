"""Shared fixtures: the test strings (built from pieces at run time: no file
holds the EICAR or GTUBE string whole), sample messages, and one default
engine for the tests that do not need their own.

Environment: LIBFILTER_LIBRARY (the shared library, see the package),
LIBFILTER_HEADER (include/libfilter.h, for test_header.py) and CORPUS (a
directory with labels.tsv, for test_threads.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

import libfilter

#: The repository's root (bindings/python/tests/../../..).
ROOT = Path(__file__).resolve().parents[3]


def eicar() -> bytes:
    """The EICAR test file, from two pieces."""
    return b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def gtube() -> bytes:
    """The GTUBE test string, from two pieces."""
    return b"XJS*C4JDBQADN1.NSBN3*2IDNEN*" + b"GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


HEAD = (
    b"From: alice@example.com\r\nTo: bob@example.org\r\n"
    b"Date: Mon, 1 Mar 2004 10:00:00 +0000\r\n"
)

CLEAN = (
    HEAD + b"Subject: lunch\r\nMessage-ID: <lunch@example.com>\r\n\r\nSee you at noon?\r\n"
)


def with_attachment(payload: bytes, filename: str = "file.bin") -> bytes:
    """A multipart message: a text part, then `payload` as an attachment
    (raw 8bit bytes, no transfer encoding)."""
    return (
        HEAD
        + b"Subject: file\r\nMessage-ID: <file@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="' + filename.encode() + b'"\r\n\r\n'
        + payload
        + b"\r\n--b--\r\n"
    )


def with_body(body: bytes, subject: bytes = b"test") -> bytes:
    return (
        HEAD + b"Subject: " + subject + b"\r\nMessage-ID: <body@example.com>\r\n\r\n" + body + b"\r\n"
    )


@pytest.fixture(scope="session")
def engine() -> Iterator[libfilter.Engine]:
    """The default engine (embedded database and rules), shared."""
    with libfilter.Engine() as e:
        yield e


def corpus_dir() -> Optional[Path]:
    value = os.environ.get("CORPUS")
    if not value:
        return None
    path = Path(value)
    return path if (path / "labels.tsv").is_file() else None


def corpus_messages(limit: int) -> List[Tuple[str, bytes]]:
    """About `limit` corpus messages spread over labels.tsv (label TAB path;
    a path may end in "#1"), as (label, bytes); skips the test without one."""
    root = corpus_dir()
    if root is None:
        pytest.skip("CORPUS is not set to a directory with labels.tsv")
    lines = [
        line.split("\t", 1)
        for line in (root / "labels.tsv").read_text().splitlines()
        if "\t" in line
    ]
    step = max(1, len(lines) // limit)
    out = []
    for label, rel in lines[::step][:limit]:
        rel = rel.strip()
        if rel.endswith("#1"):
            rel = rel[:-2]
        out.append((label, (root / rel).read_bytes()))
    return out
