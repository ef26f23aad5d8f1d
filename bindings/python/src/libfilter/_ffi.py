"""Loading libfilter's shared library and declaring its C functions.

Every function of ``include/libfilter.h`` is declared here with its
``argtypes`` and ``restype`` (``tests/test_header.py`` checks that none is
missing and that the argument counts match). Handles are opaque pointers,
passed as ``c_void_p`` (Python ints); out-parameters are ``byref`` of a
``c_void_p``, ``c_char_p``, ``c_int``, ``c_double`` or ``c_uint64``.

The library is found, on first use, by:

1. the environment variable ``LIBFILTER_LIBRARY``: the full path of
   ``libfilter.so*`` (nothing else is tried when it is set);
2. ``ctypes.util.find_library("filter")`` (the dynamic linker's cache);
3. the soname ``libfilter.so.0.1``, then ``libfilter.so``, through the
   dynamic linker's search path (``LD_LIBRARY_PATH``, ...).

The library loaded must have the ABI this binding was written for
(``ABI``: major.minor before 1.0, major after), read from ``lf_version()``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_uint8,
    c_void_p,
)
from typing import Any, Optional

__all__ = ["ABI", "ENV_VAR", "LibraryNotFoundError", "ThrottleConfigC", "ThrottleRatesC", "lib"]

#: The environment variable naming the shared library's full path.
ENV_VAR = "LIBFILTER_LIBRARY"

#: The C ABI this binding speaks: libfilter 0.1.x (soname libfilter.so.0.1).
ABI = (0, 1)

_SONAME = "libfilter.so.%d.%d" % ABI


class LibraryNotFoundError(OSError):
    """libfilter's shared library could not be found or loaded, or it is
    not the ABI version this binding was written for."""


class ThrottleRatesC(Structure):
    """``lf_throttle_rates``, field for field."""

    _fields_ = [
        ("connections", c_uint32),
        ("messages", c_uint32),
        ("recipients", c_uint32),
        ("spam", c_uint32),
    ]


class ThrottleConfigC(Structure):
    """``lf_throttle_config``, field for field (ctypes lays it out as the C
    compiler does)."""

    _fields_ = [
        ("window_ms", c_uint64),
        ("buckets", c_uint32),
        ("host_slots", c_size_t),
        ("net_slots", c_size_t),
        ("v4_prefix", c_uint8),
        ("v6_prefix", c_uint8),
        ("host", ThrottleRatesC),
        ("net", ThrottleRatesC),
        ("delay_ms", c_uint32),
        ("max_delay_ms", c_uint32),
        ("tempfail_percent", c_uint32),
        ("reject_percent", c_uint32),
        ("zombie_percent", c_uint32),
        ("seed", c_uint64),
    ]


_cfg = POINTER(ThrottleConfigC)
_rates = POINTER(ThrottleRatesC)

# name: (restype, argtypes). `lf_status` and the other C enums are ints.
_status = c_int
_p = c_void_p
_out_p = POINTER(c_void_p)
_out_str = POINTER(c_char_p)

FUNCTIONS: dict[str, tuple[Any, list[Any]]] = {
    "lf_version": (c_char_p, []),
    "lf_status_str": (c_char_p, [c_int]),
    "lf_last_error": (c_char_p, []),
    # builder
    "lf_engine_builder_new": (_status, [_out_p]),
    "lf_engine_builder_free": (None, [_p]),
    "lf_engine_builder_set_defaults": (_status, [_p, c_bool]),
    "lf_engine_builder_set_net": (_status, [_p, c_bool]),
    "lf_engine_builder_set_strict": (_status, [_p, c_bool]),
    "lf_engine_builder_set_limit": (_status, [_p, c_uint32, c_uint64]),
    "lf_engine_builder_get_limit": (_status, [_p, c_uint32, POINTER(c_uint64)]),
    "lf_engine_builder_set_threshold": (_status, [_p, c_uint32, c_double]),
    "lf_engine_builder_load_path": (_status, [_p, c_char_p]),
    "lf_engine_builder_load_memory": (_status, [_p, c_char_p, c_void_p, c_size_t]),
    "lf_engine_builder_load_rules_path": (_status, [_p, c_char_p]),
    "lf_engine_builder_load_rules_memory": (_status, [_p, c_char_p, c_void_p, c_size_t]),
    "lf_engine_builder_build": (_status, [_p, _out_p]),
    # engine
    "lf_engine_ref": (c_void_p, [_p]),
    "lf_engine_unref": (None, [_p]),
    "lf_engine_signature_count": (c_size_t, [_p]),
    "lf_engine_load_error_count": (c_size_t, [_p]),
    "lf_engine_rule_count": (c_size_t, [_p]),
    "lf_engine_scan": (_status, [_p, c_void_p, c_size_t, _p, _out_p]),
    # envelope
    "lf_envelope_new": (_status, [_out_p]),
    "lf_envelope_free": (None, [_p]),
    "lf_envelope_set_client_ip": (_status, [_p, c_char_p]),
    "lf_envelope_set_helo": (_status, [_p, c_char_p]),
    "lf_envelope_set_rdns": (_status, [_p, c_char_p]),
    "lf_envelope_set_mail_from": (_status, [_p, c_char_p]),
    "lf_envelope_add_rcpt": (_status, [_p, c_char_p]),
    "lf_envelope_clear": (_status, [_p]),
    # scanner
    "lf_scanner_new": (_status, [_p, _out_p]),
    "lf_scanner_free": (None, [_p]),
    "lf_scanner_scan": (_status, [_p, c_void_p, c_size_t, _p, _out_p]),
    "lf_scanner_scan_many": (
        _status,
        [_p, POINTER(c_void_p), POINTER(c_size_t), POINTER(c_void_p), c_size_t, _out_p],
    ),
    # report
    "lf_report_free": (None, [_p]),
    "lf_report_verdict": (_status, [_p, POINTER(c_int)]),
    "lf_report_action": (_status, [_p, POINTER(c_int)]),
    "lf_report_score": (_status, [_p, POINTER(c_double)]),
    "lf_report_required_score": (_status, [_p, POINTER(c_double)]),
    "lf_report_flags": (c_uint32, [_p]),
    "lf_report_detection_count": (c_size_t, [_p]),
    "lf_report_dns_query_count": (c_size_t, [_p]),
    "lf_report_dns_query": (_status, [_p, c_size_t, _out_str]),
    "lf_report_dns_query_type": (_status, [_p, c_size_t, POINTER(c_uint16)]),
    "lf_report_dns_answer": (_status, [_p, c_char_p, c_char_p]),
    "lf_report_dns_answer_txt": (_status, [_p, c_char_p, c_char_p]),
    "lf_report_dns_resolve": (_status, [_p]),
    "lf_report_detection_name": (_status, [_p, c_size_t, _out_str]),
    "lf_report_detection_kind": (_status, [_p, c_size_t, POINTER(c_int)]),
    "lf_report_detection_location": (_status, [_p, c_size_t, _out_str]),
    "lf_report_symbol_count": (c_size_t, [_p]),
    "lf_report_symbol": (_status, [_p, c_size_t, _out_str, POINTER(c_double), _out_str]),
    "lf_report_defect_count": (c_size_t, [_p]),
    "lf_report_defect": (_status, [_p, c_size_t, _out_str]),
    "lf_report_header_count": (c_size_t, [_p]),
    "lf_report_header": (_status, [_p, c_size_t, _out_str, _out_str]),
    # session
    "lf_session_new": (_status, [_p, _out_p]),
    "lf_session_free": (None, [_p]),
    "lf_session_set_max_size": (_status, [_p, c_size_t]),
    "lf_session_connect": (_status, [_p, c_char_p, c_char_p]),
    "lf_session_helo": (_status, [_p, c_char_p]),
    "lf_session_mail": (_status, [_p, c_char_p]),
    "lf_session_rcpt": (_status, [_p, c_char_p]),
    "lf_session_header": (_status, [_p, c_char_p, c_char_p]),
    "lf_session_eoh": (_status, [_p]),
    "lf_session_body": (_status, [_p, c_void_p, c_size_t]),
    "lf_session_finish": (_status, [_p, _out_p]),
    "lf_session_reset": (_status, [_p]),
    # bayes
    "lf_bayes_open": (_status, [c_char_p, c_int, _out_p]),
    "lf_bayes_free": (None, [_p]),
    "lf_bayes_learn": (_status, [_p, c_void_p, c_size_t, c_bool]),
    "lf_bayes_unlearn": (_status, [_p, c_void_p, c_size_t, c_bool]),
    "lf_bayes_publish": (_status, [_p]),
    "lf_bayes_compact": (_status, [_p]),
    "lf_bayes_counts": (_status, [_p, POINTER(c_uint64), POINTER(c_uint64), POINTER(c_uint64)]),
    "lf_engine_builder_set_bayes": (_status, [_p, _p]),
    "lf_engine_builder_load_bayes": (_status, [_p, c_char_p]),
    "lf_report_bayes": (_status, [_p, POINTER(c_double)]),
    # throttle
    "lf_throttle_config_default": (_status, [_cfg]),
    "lf_throttle_config_memory": (c_size_t, [_cfg]),
    "lf_throttle_new": (_status, [_cfg, _out_p]),
    "lf_throttle_free": (None, [_p]),
    "lf_throttle_connect": (_status, [_p, c_char_p, c_uint64, POINTER(c_int), POINTER(c_uint32)]),
    "lf_throttle_message": (
        _status,
        [_p, c_char_p, c_uint32, c_uint64, POINTER(c_int), POINTER(c_uint32)],
    ),
    "lf_throttle_verdict": (
        _status,
        [_p, c_char_p, c_bool, c_uint64, POINTER(c_int), POINTER(c_uint32)],
    ),
    "lf_throttle_advice": (_status, [_p, c_char_p, c_uint64, POINTER(c_int), POINTER(c_uint32)]),
    "lf_throttle_counts": (_status, [_p, c_char_p, c_uint64, _rates, _rates]),
    "lf_throttle_memory": (c_size_t, [_p]),
}

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def _candidates() -> list[str]:
    names: list[str] = []
    found = ctypes.util.find_library("filter")
    if found:
        names.append(found)
    for name in (_SONAME, "libfilter.so"):
        if name not in names:
            names.append(name)
    return names


def _open() -> ctypes.CDLL:
    path = os.environ.get(ENV_VAR)
    if path:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            raise LibraryNotFoundError(
                f"cannot load libfilter from {ENV_VAR}={path!r}: {e}"
            ) from e
    errors: list[str] = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(f"{name}: {e}")
    raise LibraryNotFoundError(
        "libfilter's shared library was not found; set the environment "
        f"variable {ENV_VAR} to the full path of libfilter.so (e.g. "
        f"PREFIX/lib/{_SONAME}), or install it where the dynamic linker "
        "looks (tried: " + "; ".join(errors) + ")"
    )


def _declare(cdll: ctypes.CDLL) -> None:
    where = getattr(cdll, "_name", "?")
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(cdll, name)
        except AttributeError as e:
            raise LibraryNotFoundError(
                f"{where} does not export {name}: not a libfilter {ABI[0]}.{ABI[1]} library"
            ) from e
        fn.restype = restype
        fn.argtypes = argtypes
    raw = cdll.lf_version()
    version = raw.decode("ascii", "replace") if raw else ""
    parts = version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (IndexError, ValueError) as e:
        raise LibraryNotFoundError(f"{where}: unreadable lf_version() {version!r}") from e
    compatible = (major, minor) == ABI if ABI[0] == 0 else major == ABI[0]
    if not compatible:
        raise LibraryNotFoundError(
            f"{where} is libfilter {version}; this binding needs the "
            f"{ABI[0]}.{ABI[1]} ABI ({_SONAME})"
        )


def lib() -> ctypes.CDLL:
    """The loaded, declared library (loaded on the first call)."""
    global _lib
    cdll = _lib
    if cdll is not None:
        return cdll
    with _lock:
        if _lib is None:
            cdll = _open()
            _declare(cdll)
            _lib = cdll
        return _lib
