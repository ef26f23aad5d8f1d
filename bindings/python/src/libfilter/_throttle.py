"""Throttle: per-client rate limits and tar-pit advice (``lf_throttle``).

A ``Throttle`` counts connections, messages, recipients and spam verdicts
per client address and per network (/24, /64) over a sliding window, in a
table whose memory is fixed when it is made, and advises: accept, delay so
many milliseconds, tempfail or reject. Time is the caller's: every event
takes ``now_ms`` (milliseconds on any monotonic clock); when it is omitted
this binding reads ``time.monotonic_ns()`` (the C library never reads a
clock).

The C handle is not thread-safe; this class serializes calls with a lock,
so one ``Throttle`` may be shared by every thread of a process.

    >>> t = libfilter.Throttle(libfilter.ThrottleConfig.default())  # doctest: +SKIP
    >>> t.connect("192.0.2.1").advice                                # doctest: +SKIP
    <Advice.ACCEPT: 0>
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
import weakref
from ctypes import byref, c_int, c_uint32, c_void_p
from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple

from ._engine import Text, _check, _cstr
from ._ffi import ThrottleConfigC, ThrottleRatesC, lib
from ._types import ClosedError

__all__ = ["Advice", "Throttle", "ThrottleAdvice", "ThrottleConfig", "ThrottleRates"]


class Advice(enum.Enum):
    """``lf_advice``: what the throttle advises for a client."""

    ACCEPT = 0
    #: Stall the client ``delay_ms`` (a tar pit), then carry on.
    DELAY = 1
    #: Answer with a temporary failure (4xx).
    TEMPFAIL = 2
    #: Refuse (5xx).
    REJECT = 3


class ThrottleAdvice(NamedTuple):
    """The advice after an event: ``delay_ms`` is 0 unless ``DELAY``."""

    advice: Advice
    delay_ms: int

    @property
    def accepted(self) -> bool:
        return self.advice is Advice.ACCEPT


@dataclass(frozen=True)
class ThrottleRates:
    """``lf_throttle_rates``: limits (0: no limit) or counts per window."""

    connections: int = 0
    messages: int = 0
    recipients: int = 0
    spam: int = 0

    def _to_c(self) -> ThrottleRatesC:
        return ThrottleRatesC(self.connections, self.messages, self.recipients, self.spam)

    @classmethod
    def _from_c(cls, c: ThrottleRatesC) -> "ThrottleRates":
        return cls(int(c.connections), int(c.messages), int(c.recipients), int(c.spam))


@dataclass(frozen=True)
class ThrottleConfig:
    """``lf_throttle_config``. Start from ``ThrottleConfig.default()`` (the
    library's defaults) and change fields with ``dataclasses.replace`` or
    ``with_``."""

    window_ms: int
    buckets: int
    host_slots: int
    net_slots: int
    v4_prefix: int
    v6_prefix: int
    host: ThrottleRates
    net: ThrottleRates
    delay_ms: int
    max_delay_ms: int
    tempfail_percent: int
    reject_percent: int
    zombie_percent: int
    seed: int

    @classmethod
    def default(cls) -> "ThrottleConfig":
        """The library's defaults (``lf_throttle_config_default``)."""
        c = ThrottleConfigC()
        _check(lib().lf_throttle_config_default(byref(c)))
        return cls._from_c(c)

    def with_(self, **changes: object) -> "ThrottleConfig":
        """A copy with the given fields changed; ``host`` and ``net`` may be
        dicts of the rates to change."""
        for scope in ("host", "net"):
            v = changes.get(scope)
            if isinstance(v, dict):
                changes[scope] = dataclasses.replace(getattr(self, scope), **v)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def memory_bytes(self) -> int:
        """The bytes a throttle with this configuration holds."""
        c = self._to_c()
        return int(lib().lf_throttle_config_memory(byref(c)))

    def _to_c(self) -> ThrottleConfigC:
        c = ThrottleConfigC()
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            setattr(c, f.name, v._to_c() if isinstance(v, ThrottleRates) else v)
        return c

    @classmethod
    def _from_c(cls, c: ThrottleConfigC) -> "ThrottleConfig":
        values = {}
        for f in dataclasses.fields(cls):
            v = getattr(c, f.name)
            values[f.name] = ThrottleRates._from_c(v) if isinstance(v, ThrottleRatesC) else int(v)
        return cls(**values)  # type: ignore[arg-type]


def _now(now_ms: Optional[int]) -> int:
    return time.monotonic_ns() // 1_000_000 if now_ms is None else int(now_ms)


class Throttle:
    """A per-client throttle (``lf_throttle``). Its memory is allocated once,
    here; ``memory_bytes`` never changes. Thread-safe (calls are serialized).
    Free it with ``close()`` or a ``with`` block (or let it be collected).

    Events return a ``ThrottleAdvice``. ``ip`` is an address as text
    (``"192.0.2.1"``, ``"2001:db8::1"``, optionally bracketed or with an
    ``IPv6:`` prefix); anything else raises ``LibfilterError``
    (``ERR_INVALID``) and counts nothing.
    """

    def __init__(self, config: Optional[ThrottleConfig] = None) -> None:
        L = lib()
        out = c_void_p()
        if config is None:
            _check(L.lf_throttle_new(None, byref(out)))
        else:
            c = config._to_c()
            _check(L.lf_throttle_new(byref(c), byref(out)))
        assert out.value is not None
        self._lock = threading.Lock()
        self._ptr: Optional[int] = out.value
        self._finalizer = weakref.finalize(self, L.lf_throttle_free, out.value)

    def _event(self, fn: str, ip: Text, *args: object) -> ThrottleAdvice:
        raw = _cstr(ip, "ip")
        advice, delay = c_int(), c_uint32()
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Throttle")
            _check(getattr(lib(), fn)(self._ptr, raw, *args, byref(advice), byref(delay)))
        return ThrottleAdvice(Advice(advice.value), int(delay.value))

    def connect(self, ip: Text, now_ms: Optional[int] = None) -> ThrottleAdvice:
        """Counts a connection from ``ip`` and advises."""
        return self._event("lf_throttle_connect", ip, _now(now_ms))

    def message(self, ip: Text, recipients: int = 1, now_ms: Optional[int] = None) -> ThrottleAdvice:
        """Counts a message with ``recipients`` recipients and advises."""
        if not 0 <= recipients < 2**32:
            raise ValueError(f"recipients out of range: {recipients}")
        return self._event("lf_throttle_message", ip, recipients, _now(now_ms))

    def verdict(self, ip: Text, spam: bool, now_ms: Optional[int] = None) -> ThrottleAdvice:
        """Records a verdict (only spam is counted) and advises."""
        return self._event("lf_throttle_verdict", ip, bool(spam), _now(now_ms))

    def advice(self, ip: Text, now_ms: Optional[int] = None) -> ThrottleAdvice:
        """The advice for ``ip`` now, counting nothing."""
        return self._event("lf_throttle_advice", ip, _now(now_ms))

    def counts(self, ip: Text, now_ms: Optional[int] = None) -> Tuple[ThrottleRates, ThrottleRates]:
        """(host counts, network counts) in the window for ``ip``."""
        raw = _cstr(ip, "ip")
        host, net = ThrottleRatesC(), ThrottleRatesC()
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Throttle")
            _check(lib().lf_throttle_counts(self._ptr, raw, _now(now_ms), byref(host), byref(net)))
        return ThrottleRates._from_c(host), ThrottleRates._from_c(net)

    @property
    def memory_bytes(self) -> int:
        """The bytes the throttle holds: fixed when it was made."""
        with self._lock:
            if self._ptr is None:
                raise ClosedError("Throttle")
            return int(lib().lf_throttle_memory(self._ptr))

    def close(self) -> None:
        """Frees the C object. Idempotent; later use raises ClosedError."""
        with self._lock:
            if self._ptr is not None:
                self._ptr = None
                self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Throttle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<libfilter.Throttle{' closed' if self._ptr is None else ''}>"
