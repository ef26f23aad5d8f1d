"""Engine, Scanner and Session: the C handles, owned by Python objects.

Ownership: each Python object owns exactly one C handle (an engine
reference, a scanner, a session) and releases it once, in ``close()``, at
the end of a ``with`` block, or when the object is garbage collected
(``weakref.finalize``, which also runs at interpreter exit). Reports are
copied into a ``Report`` and the C report is freed before a scan returns.
Using a closed object raises ``ClosedError``; it never reaches the C library
with a freed pointer.

Threads: ctypes releases the GIL during every C call, so scans on several
threads run in parallel. An ``Engine`` may be shared by any number of
threads (its scans take a scanner from a pool, see ``Engine.scan``).
``Scanner`` and ``Session`` are for one thread at a time, as in C; a second
thread using one while it is busy gets a ``RuntimeError`` instead of
undefined behaviour.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import threading
import weakref
from ctypes import byref, c_char_p, c_double, c_int, c_uint64, c_void_p
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from ._ffi import lib
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

__all__ = [
    "Bayes",
    "BytesLike",
    "Engine",
    "PathLike",
    "Scanner",
    "Session",
    "Text",
    "version",
]

#: What a scan, a database or a body chunk may be given as.
BytesLike = Union[bytes, bytearray, memoryview]
#: A file or directory name.
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: A string argument passed to C: str (encoded as UTF-8) or bytes.
Text = Union[str, bytes]


def version() -> str:
    """The C library's version at run time (``lf_version()``), e.g. ``"0.1.0"``."""
    raw: bytes = lib().lf_version()
    return raw.decode("ascii", "replace")


# --- conversions -----------------------------------------------------------


def _check(status: int) -> None:
    """Raises LibfilterError for any status but LF_OK, with lf_last_error().

    Must be called right after the failing C call, on the same thread (the
    message is per thread and nothing else is called in between)."""
    if status == 0:
        return
    raw: Optional[bytes] = lib().lf_last_error()
    message = raw.decode("utf-8", "replace") if raw else ""
    try:
        code: Union[Status, int] = Status(status)
    except ValueError:
        code = status
    raise LibfilterError(code, message)


def _str(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _cstr(value: Text, what: str) -> bytes:
    """A NUL-terminated C string's bytes: str as UTF-8, bytes as given."""
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL character")
    return data


def _opt_cstr(value: Optional[Text], what: str) -> Optional[bytes]:
    return None if value is None else _cstr(value, what)


def _path(value: PathLike, what: str) -> bytes:
    data = os.fsencode(value)
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL character")
    return data


def _buffer(data: BytesLike) -> Tuple[Any, int]:
    """(pointer argument, length) for a bytes-like object, without copying
    bytes or a writable contiguous buffer."""
    if isinstance(data, bytes):
        return data, len(data)
    if isinstance(data, str):
        raise TypeError("data must be bytes-like, not str (encode it first)")
    view = memoryview(data)
    n = view.nbytes
    if n == 0:
        return None, 0
    if view.readonly or not view.c_contiguous:
        copy = view.tobytes()
        return copy, len(copy)
    return (ctypes.c_char * n).from_buffer(view.cast("B")), n


def _single_or_many(value: Any) -> List[Any]:
    """A str/bytes/PathLike is one item, not an iterable of characters."""
    if isinstance(value, (str, bytes, os.PathLike)):
        return [value]
    return list(value)


def _read_report(ptr: int) -> Report:
    """Copies a C report into a Report and frees it (always)."""
    L = lib()
    try:
        verdict, action = c_int(), c_int()
        score, required = c_double(), c_double()
        _check(L.lf_report_verdict(ptr, byref(verdict)))
        _check(L.lf_report_action(ptr, byref(action)))
        _check(L.lf_report_score(ptr, byref(score)))
        _check(L.lf_report_required_score(ptr, byref(required)))
        flags = ReportFlags(L.lf_report_flags(ptr))

        detections: List[Detection] = []
        name, value = c_char_p(), c_char_p()
        kind, sym_score = c_int(), c_double()
        for i in range(L.lf_report_detection_count(ptr)):
            _check(L.lf_report_detection_name(ptr, i, byref(name)))
            _check(L.lf_report_detection_kind(ptr, i, byref(kind)))
            _check(L.lf_report_detection_location(ptr, i, byref(value)))
            detections.append(
                Detection(_str(name.value), DetectionKind(kind.value), _str(value.value))
            )
        symbols: List[Symbol] = []
        for i in range(L.lf_report_symbol_count(ptr)):
            _check(L.lf_report_symbol(ptr, i, byref(name), byref(sym_score), byref(value)))
            symbols.append(Symbol(_str(name.value), sym_score.value, _str(value.value)))
        defects: List[str] = []
        for i in range(L.lf_report_defect_count(ptr)):
            _check(L.lf_report_defect(ptr, i, byref(name)))
            defects.append(_str(name.value))
        headers: List[Tuple[str, str]] = []
        for i in range(L.lf_report_header_count(ptr)):
            _check(L.lf_report_header(ptr, i, byref(name), byref(value)))
            headers.append((_str(name.value), _str(value.value)))
        bayes = c_double()
        _check(L.lf_report_bayes(ptr, byref(bayes)))
        return Report(
            bayes=None if math.isnan(bayes.value) else bayes.value,
            verdict=Verdict(verdict.value),
            action=Action(action.value),
            score=score.value,
            required_score=required.value,
            flags=flags,
            detections=tuple(detections),
            symbols=tuple(symbols),
            defects=tuple(defects),
            headers=tuple(headers),
        )
    finally:
        L.lf_report_free(ptr)


def _envelope(
    client_ip: Optional[Text],
    helo: Optional[Text],
    rdns: Optional[Text],
    mail_from: Optional[Text],
    rcpt: Union[Text, Iterable[Text]],
) -> Optional[int]:
    """A new lf_envelope (the caller frees it), or None when no fact is given."""
    recipients = [_cstr(r, "rcpt") for r in _single_or_many(rcpt)]
    facts = [
        ("lf_envelope_set_client_ip", _opt_cstr(client_ip, "client_ip")),
        ("lf_envelope_set_helo", _opt_cstr(helo, "helo")),
        ("lf_envelope_set_rdns", _opt_cstr(rdns, "rdns")),
        ("lf_envelope_set_mail_from", _opt_cstr(mail_from, "mail_from")),
    ]
    if not recipients and all(v is None for _, v in facts):
        return None
    L = lib()
    out = c_void_p()
    _check(L.lf_envelope_new(byref(out)))
    env = out.value
    try:
        for setter, v in facts:
            if v is not None:
                _check(getattr(L, setter)(env, v))
        for r in recipients:
            _check(L.lf_envelope_add_rcpt(env, r))
    except BaseException:
        L.lf_envelope_free(env)
        raise
    return env


def _scan_with(
    scanner: int,
    data: BytesLike,
    client_ip: Optional[Text],
    helo: Optional[Text],
    rdns: Optional[Text],
    mail_from: Optional[Text],
    rcpt: Union[Text, Iterable[Text]],
    resolve: Optional[Callable[[str], Iterable[str]]] = None,
    resolve_txt: Optional[Callable[[str], Iterable[str]]] = None,
) -> Report:
    L = lib()
    buf, n = _buffer(data)
    env = _envelope(client_ip, helo, rdns, mail_from, rcpt)
    try:
        out = c_void_p()
        _check(L.lf_scanner_scan(scanner, buf, n, env, byref(out)))
    finally:
        L.lf_envelope_free(env)
    assert out.value is not None
    if resolve is not None or resolve_txt is not None:
        try:
            _resolve_dns(out.value, resolve, resolve_txt)
        except BaseException:
            L.lf_report_free(out.value)
            raise
    return _read_report(out.value)


def _scan_many_with(scanner: int, datas: Iterable[BytesLike]) -> List[Report]:
    bufs = [_buffer(d) for d in datas]
    n = len(bufs)
    if n == 0:
        return []
    # The buffers stay referenced by ``bufs`` for the call.
    addrs = [ctypes.cast(b, c_void_p).value if b is not None else None for b, _ in bufs]
    ptrs = (c_void_p * n)(*addrs)
    lens = (ctypes.c_size_t * n)(*[m for _, m in bufs])
    out = (c_void_p * n)()
    _check(lib().lf_scanner_scan_many(scanner, ptrs, lens, None, n, out))
    # On success every slot holds a report.
    return [_read_report(r) for r in out if r is not None]


#: ``lf_report_dns_query_type``: DNS's type numbers.
_DNS_A = 1
_DNS_TXT = 16


def _resolve_dns(
    ptr: int,
    resolve: Optional[Callable[[str], Iterable[str]]],
    resolve_txt: Optional[Callable[[str], Iterable[str]]],
) -> None:
    """Asks ``resolve`` for the A records and ``resolve_txt`` for the TXT
    records of the DNS names the report lists (``Engine(net=True)``), and
    finishes the verdict with them. A name whose type has no callable is
    not asked (it counts as not listed)."""
    L = lib()
    name = c_char_p()
    qtype = ctypes.c_uint16()
    names: List[Tuple[str, int]] = []
    for i in range(L.lf_report_dns_query_count(ptr)):
        _check(L.lf_report_dns_query(ptr, i, byref(name)))
        _check(L.lf_report_dns_query_type(ptr, i, byref(qtype)))
        names.append((_str(name.value), qtype.value))
    for n, t in names:
        if t == _DNS_A and resolve is not None:
            for addr in resolve(n):
                _check(L.lf_report_dns_answer(ptr, _cstr(n, "name"), _cstr(addr, "address")))
        elif t == _DNS_TXT and resolve_txt is not None:
            for text in resolve_txt(n):
                _check(L.lf_report_dns_answer_txt(ptr, _cstr(n, "name"), _cstr(text, "text")))
    _check(L.lf_report_dns_resolve(ptr))


# --- Engine ----------------------------------------------------------------

_THRESHOLD_NAMES = {
    "greylist": Action.GREYLIST,
    "add_header": Action.ADD_HEADER,
    "reject": Action.REJECT,
}


def _limit_key(key: Union[str, Limit]) -> Limit:
    if isinstance(key, Limit):
        return key
    try:
        return Limit[key.upper()]
    except KeyError:
        names = ", ".join(m.name.lower() for m in Limit)
        raise ValueError(f"unknown limit {key!r} (one of: {names})") from None


def _action_key(key: Union[str, Action]) -> Action:
    if isinstance(key, Action):
        return key
    try:
        return _THRESHOLD_NAMES[key.lower()]
    except KeyError:
        raise ValueError(
            f"unknown threshold {key!r} (one of: greylist, add_header, reject)"
        ) from None


def _release_engine(free_scanner: Callable[[int], None], unref: Callable[[int], None],
                    ptr: int, pool: List[int]) -> None:
    while pool:
        free_scanner(pool.pop())
    unref(ptr)


class Engine:
    """A compiled engine: signature databases, spam rules, limits and
    thresholds. Immutable and thread-safe: build one, share it.

    ``databases`` and ``rules`` are paths (a file or a directory; a single
    path may be given as is). ``memory_databases`` maps a file name, whose
    extension gives the format (``"local.ndb"``), to its bytes;
    ``memory_rules`` a label to SpamAssassin ``.cf`` text. ``defaults``
    keeps the embedded EICAR signature, attachment-policy heuristics and
    default spam rules (the latter used only when no rules are loaded).
    ``strict`` makes a bad database line an error (``Status.ERR_LOAD``)
    instead of a skipped, counted one (``load_error_count``). ``limits``
    maps a ``Limit`` (or its lower-case name) to a bound; ``thresholds``
    maps ``"greylist"``, ``"add_header"`` or ``"reject"`` (or the
    ``Action``) to a score, None switching the step off (for add_header:
    back to the rules' required_score).

    Building compiles everything and can take a while (large databases, many
    rules). Raises ``LibfilterError`` on any failure (``ERR_IO`` for a path
    that cannot be read, ``ERR_LOAD``, ``ERR_UTF8``, ``ERR_INVALID``).
    """

    _ptr: Optional[int] = None

    def __init__(
        self,
        databases: Union[PathLike, Iterable[PathLike]] = (),
        rules: Union[PathLike, Iterable[PathLike]] = (),
        *,
        defaults: bool = True,
        strict: bool = False,
        limits: Optional[Mapping[Union[str, Limit], int]] = None,
        thresholds: Optional[Mapping[Union[str, Action], Optional[float]]] = None,
        memory_databases: Optional[Mapping[str, BytesLike]] = None,
        memory_rules: Optional[Mapping[str, Text]] = None,
        bayes: Union["Bayes", PathLike, None] = None,
        net: bool = False,
    ) -> None:
        L = lib()
        self._lock = threading.Lock()
        self._pool: List[int] = []
        out = c_void_p()
        _check(L.lf_engine_builder_new(byref(out)))
        builder = out.value
        try:
            _check(L.lf_engine_builder_set_defaults(builder, bool(defaults)))
            _check(L.lf_engine_builder_set_strict(builder, bool(strict)))
            _check(L.lf_engine_builder_set_net(builder, bool(net)))
            for limit_key, value in (limits or {}).items():
                limit = _limit_key(limit_key)
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
                    raise ValueError(f"limit {limit.name.lower()} must be an int in [0, 2**64)")
                _check(L.lf_engine_builder_set_limit(builder, limit.value, value))
            for action_key, score in (thresholds or {}).items():
                action = _action_key(action_key)
                s = math.nan if score is None else float(score)
                _check(L.lf_engine_builder_set_threshold(builder, action.value, s))
            for path in _single_or_many(databases):
                _check(L.lf_engine_builder_load_path(builder, _path(path, "database path")))
            for name, data in (memory_databases or {}).items():
                buf, n = _buffer(data)
                _check(L.lf_engine_builder_load_memory(builder, _cstr(name, "database name"), buf, n))
            for path in _single_or_many(rules):
                _check(L.lf_engine_builder_load_rules_path(builder, _path(path, "rules path")))
            for name, text in (memory_rules or {}).items():
                raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
                _check(L.lf_engine_builder_load_rules_memory(builder, _cstr(name, "rules name"), raw, len(raw)))
            if isinstance(bayes, Bayes):
                with bayes._use() as b:
                    _check(L.lf_engine_builder_set_bayes(builder, b))
            elif bayes is not None:
                _check(L.lf_engine_builder_load_bayes(builder, _path(bayes, "bayes store path")))
            got: Dict[Limit, int] = {}
            value64 = c_uint64()
            for limit in Limit:
                _check(L.lf_engine_builder_get_limit(builder, limit.value, byref(value64)))
                got[limit] = value64.value
            _check(L.lf_engine_builder_build(builder, byref(out)))
        finally:
            L.lf_engine_builder_free(builder)
        assert out.value is not None
        self._limits = got
        self._ptr = out.value
        self._finalizer = weakref.finalize(
            self, _release_engine, L.lf_scanner_free, L.lf_engine_unref, out.value, self._pool
        )

    @classmethod
    def from_memory(
        cls,
        databases: Optional[Mapping[str, BytesLike]] = None,
        rules: Optional[Mapping[str, Text]] = None,
        **kwargs: Any,
    ) -> "Engine":
        """An engine from in-memory databases (file name -> bytes, the
        extension giving the format) and rules (label -> .cf text); other
        keyword arguments as for ``Engine()``."""
        return cls(memory_databases=databases, memory_rules=rules, **kwargs)

    # -- lifetime --

    def close(self) -> None:
        """Releases this object's engine reference. Scanners and sessions
        made from it keep their own and go on working; scans running on
        other threads finish first. Idempotent."""
        with self._lock:
            if self._ptr is None:
                return
            self._ptr = None
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<libfilter.Engine closed>"
        return (
            f"<libfilter.Engine signatures={self.signature_count} "
            f"rules={self.rule_count} load_errors={self.load_error_count}>"
        )

    def _count(self, fn: str) -> int:
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Engine")
            n: int = getattr(lib(), fn)(self._ptr)
            return n

    # -- facts --

    @property
    def signature_count(self) -> int:
        """Signatures loaded, embedded defaults included."""
        return self._count("lf_engine_signature_count")

    @property
    def rule_count(self) -> int:
        """Spam rules the engine runs (0 without rules)."""
        return self._count("lf_engine_rule_count")

    @property
    def load_error_count(self) -> int:
        """Database lines that failed to load and were skipped."""
        return self._count("lf_engine_load_error_count")

    @property
    def limits(self) -> Dict[Limit, int]:
        """The scan limits the engine was built with (a copy)."""
        return dict(self._limits)

    # -- scanning --

    def _checkout(self) -> int:
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Engine")
            if self._pool:
                return self._pool.pop()
            out = c_void_p()
            _check(lib().lf_scanner_new(self._ptr, byref(out)))
            assert out.value is not None
            return out.value

    def _checkin(self, scanner: int) -> None:
        with self._lock:
            if self._ptr is not None:
                self._pool.append(scanner)
                return
        lib().lf_scanner_free(scanner)

    def scan(
        self,
        data: BytesLike,
        *,
        client_ip: Optional[Text] = None,
        helo: Optional[Text] = None,
        rdns: Optional[Text] = None,
        mail_from: Optional[Text] = None,
        rcpt: Union[Text, Iterable[Text]] = (),
        resolve: Optional[Callable[[str], Iterable[str]]] = None,
        resolve_txt: Optional[Callable[[str], Iterable[str]]] = None,
    ) -> Report:
        """Scans one message (or, when it does not look like one, a file).

        Thread-safe. Each call borrows an ``lf_scanner`` from the engine's
        pool (made on demand, so the pool grows to the number of threads
        scanning at once, and kept until ``close()``) and returns it after
        the scan: the speed of a scanner per thread without its bookkeeping.

        The envelope facts, when any is given, are written in front of the
        message as the C library does (a ``Received`` line,
        ``X-Envelope-From``, ``X-Envelope-To``); ``mail_from=""`` is the
        null sender; ``rcpt`` is one address or several.

        With ``Engine(net=True)``, the rules' DNS names are handed to the
        callables; the library itself never resolves anything. ``resolve``
        gets the names asked for A records (blocklists: a DNS name in, its
        IPv4 addresses out as dotted strings, empty when not listed) and
        ``resolve_txt`` those asked for TXT records (``check_rbl_txt`` and
        askdns rules: a name in, one string per TXT record out, its
        character-strings joined). A name whose callable is not given is
        not asked and counts as not listed.
        """
        scanner = self._checkout()
        try:
            return _scan_with(
                scanner, data, client_ip, helo, rdns, mail_from, rcpt, resolve, resolve_txt
            )
        finally:
            self._checkin(scanner)

    def scan_many(self, datas: Iterable[BytesLike]) -> List[Report]:
        """Scans several messages (or files), each as ``scan`` without an
        envelope would, and returns their reports in order
        (``lf_scanner_scan_many``). The spam rules run on the messages
        together, rule by rule: with large rule sets (the stock
        SpamAssassin rules) about a quarter less CPU time per message.
        Thread-safe, with a pooled scanner as ``scan``."""
        scanner = self._checkout()
        try:
            return _scan_many_with(scanner, datas)
        finally:
            self._checkin(scanner)

    def scanner(self) -> "Scanner":
        """A new Scanner: for one thread at a time, reusable. It holds its
        own engine reference, so it outlives ``close()``."""
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Engine")
            out = c_void_p()
            _check(lib().lf_scanner_new(self._ptr, byref(out)))
        assert out.value is not None
        return Scanner._wrap(out.value)

    def session(
        self,
        *,
        client_ip: Optional[Text] = None,
        rdns: Optional[Text] = None,
        helo: Optional[Text] = None,
        max_size: Optional[int] = None,
    ) -> "Session":
        """A new streaming Session for one SMTP connection (for one thread
        at a time). ``client_ip``/``rdns`` and ``helo``, when given, are
        passed to ``connect`` and ``helo``; ``max_size`` to
        ``set_max_size``. It holds its own engine reference."""
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Engine")
            out = c_void_p()
            _check(lib().lf_session_new(self._ptr, byref(out)))
        assert out.value is not None
        session = Session._wrap(out.value)
        try:
            if client_ip is not None or rdns is not None:
                session.connect(client_ip, rdns)
            if helo is not None:
                session.helo(helo)
            if max_size is not None:
                session.set_max_size(max_size)
        except BaseException:
            session.close()
            raise
        return session


# --- Scanner and Session ---------------------------------------------------


class _Owned:
    """One C handle, used by one thread at a time and freed once."""

    _what = "object"
    _ptr: Optional[int] = None

    def __init__(self) -> None:
        raise TypeError(f"{type(self).__name__} objects are made by an Engine")

    def _init(self, ptr: int, free: Callable[[int], None]) -> None:
        self._busy = threading.Lock()
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, free, ptr)

    @contextlib.contextmanager
    def _use(self) -> Iterator[int]:
        if not self._busy.acquire(blocking=False):
            raise RuntimeError(
                f"{self._what} is in use by another thread: it is not thread-safe, "
                "make one per thread"
            )
        try:
            ptr = self._ptr
            if ptr is None:
                raise ClosedError(self._what)
            yield ptr
        finally:
            self._busy.release()

    def close(self) -> None:
        """Frees the C object (waiting for a call running on another thread).
        Idempotent; any later use raises ClosedError."""
        with self._busy:
            if self._ptr is not None:
                self._ptr = None
                self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __repr__(self) -> str:
        return f"<libfilter.{self._what}{' closed' if self._ptr is None else ''}>"


class Scanner(_Owned):
    """A scanner (``lf_scanner``): one thread's scratch space, reused from
    scan to scan. Not thread-safe: one per thread (a second thread using it
    while it scans gets RuntimeError). Made by ``Engine.scanner()``."""

    _what = "Scanner"

    @classmethod
    def _wrap(cls, ptr: int) -> "Scanner":
        self = cls.__new__(cls)
        self._init(ptr, lib().lf_scanner_free)
        return self

    def scan(
        self,
        data: BytesLike,
        *,
        client_ip: Optional[Text] = None,
        helo: Optional[Text] = None,
        rdns: Optional[Text] = None,
        mail_from: Optional[Text] = None,
        rcpt: Union[Text, Iterable[Text]] = (),
    ) -> Report:
        """As ``Engine.scan``, on this scanner."""
        with self._use() as ptr:
            return _scan_with(ptr, data, client_ip, helo, rdns, mail_from, rcpt)

    def scan_many(self, datas: Iterable[BytesLike]) -> List[Report]:
        """As ``Engine.scan_many``, on this scanner."""
        with self._use() as ptr:
            return _scan_many_with(ptr, datas)

    def __enter__(self) -> "Scanner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Session(_Owned):
    """A streaming scan of the messages of one SMTP connection
    (``lf_session``), fed as a milter is: ``connect``, ``helo``, then per
    message ``mail``, ``rcpt``..., ``header``..., ``eoh``, ``body``... and
    ``finish`` (or ``reset`` to drop it). ``finish`` gives the same report
    as ``Engine.scan`` of the rebuilt message with the same envelope. Not
    thread-safe: one thread at a time. Made by ``Engine.session()``."""

    _what = "Session"

    @classmethod
    def _wrap(cls, ptr: int) -> "Session":
        self = cls.__new__(cls)
        self._init(ptr, lib().lf_session_free)
        return self

    def set_max_size(self, max_size: int) -> None:
        """The most message bytes buffered (default: the engine's
        ``Limit.MAX_DECODED_TOTAL``); past it the message is scanned
        truncated and reported with a ``DetectionKind.LIMIT`` detection."""
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ValueError("max_size must be a non-negative int")
        with self._use() as ptr:
            _check(lib().lf_session_set_max_size(ptr, max_size))

    def connect(self, client_ip: Optional[Text], rdns: Optional[Text] = None) -> None:
        """The connection: client IP address as text and reverse DNS name
        (None when unknown). Kept for every message of the connection."""
        ip, name = _opt_cstr(client_ip, "client_ip"), _opt_cstr(rdns, "rdns")
        with self._use() as ptr:
            _check(lib().lf_session_connect(ptr, ip, name))

    def helo(self, name: Text) -> None:
        """The HELO/EHLO name, kept until the next HELO."""
        raw = _cstr(name, "helo")
        with self._use() as ptr:
            _check(lib().lf_session_helo(ptr, raw))

    def mail(self, sender: Text) -> None:
        """MAIL FROM, without angle brackets (``""``: the null sender).
        Starts a new message, dropping whatever was buffered."""
        raw = _cstr(sender, "sender")
        with self._use() as ptr:
            _check(lib().lf_session_mail(ptr, raw))

    def rcpt(self, recipient: Text) -> None:
        """One RCPT TO, without angle brackets."""
        raw = _cstr(recipient, "recipient")
        with self._use() as ptr:
            _check(lib().lf_session_rcpt(ptr, raw))

    def header(self, name: Text, value: Text) -> None:
        """One header field as a milter gets it: the name and the value
        (folded lines separated by ``"\\n"`` or ``"\\r\\n"``). Raises
        ``LibfilterError`` (``ERR_STATE``) after ``eoh`` or a body chunk."""
        n, v = _cstr(name, "header name"), _cstr(value, "header value")
        with self._use() as ptr:
            _check(lib().lf_session_header(ptr, n, v))

    def eoh(self) -> None:
        """The end of the header fields (optional: implied by ``body``/``finish``)."""
        with self._use() as ptr:
            _check(lib().lf_session_eoh(ptr))

    def body(self, chunk: BytesLike) -> None:
        """One chunk of the body, in order, line ends as the MTA sends them."""
        buf, n = _buffer(chunk)
        with self._use() as ptr:
            _check(lib().lf_session_body(ptr, buf, n))

    def finish(self) -> Report:
        """Scans the buffered message and readies the session for the next
        one. On failure the message may still be buffered: call ``reset``."""
        out = c_void_p()
        with self._use() as ptr:
            _check(lib().lf_session_finish(ptr, byref(out)))
        assert out.value is not None
        return _read_report(out.value)

    def reset(self) -> None:
        """Drops the current message (sender, recipients, text), keeping the
        connection facts: for an aborted message or RSET."""
        with self._use() as ptr:
            _check(lib().lf_session_reset(ptr))

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bayes(_Owned):
    """A Bayes store opened for learning (``lf_bayes``): thread-safe.

    ``Bayes(path)`` opens the store at ``path``, creating one with
    ``classifier`` when there is none (an existing store keeps its own).
    Engines built with ``Engine(bayes=store)`` classify with what was
    published last (the store's state when opened, then each
    ``publish()``); ``Engine(bayes=path)`` reads a store once, read-only.
    Every ``learn`` is in the store's crash-safe journal before it returns.
    Engines built with the store keep its last published snapshot after
    ``close()``.

        >>> with libfilter.Bayes("bayes.db") as store:      # doctest: +SKIP
        ...     store.learn(open("spam.eml", "rb").read(), spam=True)
        ...     store.publish()
    """

    _what = "Bayes"

    def __init__(
        self,
        path: PathLike,
        classifier: Union[str, BayesClassifier] = BayesClassifier.LOGISTIC,
    ) -> None:
        L = lib()
        kind = (
            classifier
            if isinstance(classifier, BayesClassifier)
            else BayesClassifier[str(classifier).upper().replace("-", "_")]
        )
        out = c_void_p()
        _check(L.lf_bayes_open(_path(path, "bayes store path"), kind.value, byref(out)))
        assert out.value is not None
        self._init(out.value, L.lf_bayes_free)

    @contextlib.contextmanager
    def _use(self) -> Iterator[int]:
        # The C handle is thread-safe: other threads wait instead of being
        # refused; the lock only orders use and close.
        with self._busy:
            if self._ptr is None:
                raise ClosedError(self._what)
            yield self._ptr

    def learn(self, message: BytesLike, spam: bool) -> None:
        """Learns one whole message as spam (``spam=True``) or ham."""
        buf, n = _buffer(message)
        with self._use() as b:
            _check(lib().lf_bayes_learn(b, buf, n, bool(spam)))

    def unlearn(self, message: BytesLike, spam: bool) -> None:
        """Forgets a message learned earlier with the same label."""
        buf, n = _buffer(message)
        with self._use() as b:
            _check(lib().lf_bayes_unlearn(b, buf, n, bool(spam)))

    def publish(self) -> None:
        """Makes what was learned visible to engines built with this store.
        It copies the model (8 MiB for the logistic classifier)."""
        with self._use() as b:
            _check(lib().lf_bayes_publish(b))

    def compact(self) -> None:
        """Folds the journal into a new snapshot file."""
        with self._use() as b:
            _check(lib().lf_bayes_compact(b))

    @property
    def counts(self) -> Tuple[int, int, int]:
        """(spam messages, ham messages, tokens) learned."""
        spam, ham, tokens = c_uint64(), c_uint64(), c_uint64()
        with self._use() as b:
            _check(lib().lf_bayes_counts(b, byref(spam), byref(ham), byref(tokens)))
        return spam.value, ham.value, tokens.value

    def __enter__(self) -> "Bayes":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
