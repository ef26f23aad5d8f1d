"""libfilter: embeddable e-mail scanning (viruses and spam), from Python.

A ctypes binding of libfilter's C library (``libfilter.so.0.1``), found
through the ``LIBFILTER_LIBRARY`` environment variable (the full path of the
shared library) or the dynamic linker's search path, on first use.

    >>> import libfilter
    >>> with libfilter.Engine() as engine:              # doctest: +SKIP
    ...     report = engine.scan(open("message.eml", "rb").read())
    ...     print(report.verdict, report.score, report.virus_names)
"""

from ._engine import Bayes, BytesLike, Engine, PathLike, Scanner, Session, Text, version
from ._ffi import ABI, ENV_VAR, LibraryNotFoundError
from ._throttle import Advice, Throttle, ThrottleAdvice, ThrottleConfig, ThrottleRates
from ._types import (
    Action,
    BayesClassifier,
    ClosedError,
    Detection,
    DetectionKind,
    LibfilterError,
    Limit,
    Report,
    ReportFlags,
    Status,
    Symbol,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "ABI",
    "ENV_VAR",
    "Action",
    "Advice",
    "Bayes",
    "BayesClassifier",
    "BytesLike",
    "ClosedError",
    "Detection",
    "DetectionKind",
    "Engine",
    "LibfilterError",
    "LibraryNotFoundError",
    "Limit",
    "PathLike",
    "Report",
    "ReportFlags",
    "Scanner",
    "Session",
    "Status",
    "Symbol",
    "Text",
    "Throttle",
    "ThrottleAdvice",
    "ThrottleConfig",
    "ThrottleRates",
    "Verdict",
    "__version__",
    "version",
]
