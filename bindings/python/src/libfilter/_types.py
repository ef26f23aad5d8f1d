"""The C enums, the error type and the report, as plain Python values.

Each enum's values are the C header's (``tests/test_header.py`` parses
``include/libfilter.h`` and checks every constant against these).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional, Tuple

__all__ = [
    "Action",
    "ClosedError",
    "Detection",
    "DetectionKind",
    "LibfilterError",
    "Limit",
    "Report",
    "ReportFlags",
    "Status",
    "Symbol",
    "Verdict",
]


class Status(enum.IntEnum):
    """``lf_status``: the result of every C function that can fail."""

    OK = 0
    ERR_NULL = 1
    ERR_INVALID = 2
    ERR_UTF8 = 3
    ERR_IO = 4
    ERR_LOAD = 5
    ERR_STATE = 6
    PANIC = 99


class Verdict(enum.Enum):
    """``lf_verdict``: the overall verdict of a scan."""

    CLEAN = 0
    #: Any detection: a signature, an attachment-policy heuristic, or a
    #: scan limit reached (what could not be scanned in full is never clean).
    VIRUS = 1
    SPAM = 2


class Action(enum.Enum):
    """``lf_action``: what the MTA should do with the message."""

    ACCEPT = 0
    GREYLIST = 1
    ADD_HEADER = 2
    REJECT = 3


class BayesClassifier(enum.Enum):
    """``lf_bayes_classifier``: the classifier of a new Bayes store."""

    #: Online logistic regression on hashed features (the default).
    LOGISTIC = 0
    #: Robinson/Fisher chi-square combining, as SpamAssassin and bogofilter.
    CHI_SQUARE = 1


class DetectionKind(enum.Enum):
    """``lf_detection_kind``: what made a detection."""

    SIGNATURE = 0
    HEURISTIC = 1
    LIMIT = 2


class Limit(enum.IntEnum):
    """``lf_limit``: the scan limits an engine is built with.

    ``Engine(limits=...)`` takes these or their lower-case names
    (``{"max_parts": 100}``).
    """

    MAX_DEPTH = 0
    MAX_PARTS = 1
    MAX_HEADERS = 2
    MAX_HEADER_BYTES = 3
    MAX_LINE_LEN = 4
    MAX_DECODED_PART = 5
    MAX_DECODED_TOTAL = 6
    MAX_MEMBERS = 7
    MAX_RATIO = 8


class ReportFlags(enum.IntFlag):
    """The ``LF_REPORT_*`` flags of ``lf_report_flags``."""

    NONE = 0
    #: The spam rules ran (the input was a message and the engine has rules).
    SPAM_CHECKED = 1
    #: Some rule could not run for lack of budget; the score may be low.
    SPAM_INCOMPLETE = 2
    #: A scan limit was reached (there is a ``DetectionKind.LIMIT`` detection).
    LIMIT = 4
    #: A session stopped buffering at its size limit; only the start was scanned.
    TRUNCATED = 8


class LibfilterError(Exception):
    """A libfilter call failed.

    ``status`` is the C status (a ``Status``, or a plain int for a code this
    binding does not know) and ``message`` the library's ``lf_last_error()``
    text for it.
    """

    def __init__(self, status: Status | int, message: str) -> None:
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(status)
        super().__init__(f"{message} [{name}]" if message else name)


class ClosedError(LibfilterError, ValueError):
    """An engine, scanner or session was used after ``close()``.

    Its status is ``Status.ERR_STATE``; it is also a ``ValueError``, as
    Python's closed files raise.
    """

    def __init__(self, what: str) -> None:
        super().__init__(Status.ERR_STATE, f"{what} is closed")


@dataclass(frozen=True)
class Detection:
    """One virus name: what found it and where (``"2/invoice.zip/a.exe"``;
    empty for the whole input)."""

    name: str
    kind: DetectionKind
    location: str


@dataclass(frozen=True)
class Symbol:
    """One spam rule that hit, the score it added and its description."""

    name: str
    score: float
    description: str


@dataclass(frozen=True)
class Report:
    """What one scan found, copied out of the C report (which is freed at
    once, so a ``Report`` has no lifetime of its own to manage).

    Sequences are tuples so that the report is immutable. ``headers`` are
    the fields to add to the message (name, value), values folded with
    ``"\\n\\t"`` as ``smfi_addheader`` takes them.
    """

    verdict: Verdict
    action: Action
    score: float
    required_score: float
    flags: ReportFlags
    detections: Tuple[Detection, ...]
    symbols: Tuple[Symbol, ...]
    defects: Tuple[str, ...]
    headers: Tuple[Tuple[str, str], ...]
    #: The Bayes probability that the message is spam (0 to 1), or None
    #: when the engine has no Bayes model or no rules ran.
    bayes: Optional[float] = None

    @property
    def is_clean(self) -> bool:
        return self.verdict is Verdict.CLEAN

    @property
    def is_virus(self) -> bool:
        """Any detection (signature, heuristic or scan limit)."""
        return self.verdict is Verdict.VIRUS

    @property
    def is_spam(self) -> bool:
        return self.verdict is Verdict.SPAM

    @property
    def virus_names(self) -> Tuple[str, ...]:
        """The detections' names; the first is what clamscan would print."""
        return tuple(d.name for d in self.detections)

    @property
    def symbol_names(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.symbols)

    def header(self, name: str) -> Optional[str]:
        """The value of the first header field to add called ``name``
        (case-insensitive), or None."""
        folded = name.lower()
        for n, v in self.headers:
            if n.lower() == folded:
                return v
        return None
