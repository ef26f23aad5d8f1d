"""Ownership: close, context managers, garbage collection, use after close
and misuse from two threads raise instead of reaching C with a freed or
busy handle."""

from __future__ import annotations

import gc
import threading
from typing import List

import pytest

import libfilter
from libfilter import ClosedError, LibfilterError, Status

from conftest import CLEAN, eicar, with_attachment


def test_engine_use_after_close() -> None:
    e = libfilter.Engine()
    e.close()
    e.close()  # idempotent
    assert e.closed and "closed" in repr(e)
    with pytest.raises(ClosedError) as info:
        e.scan(CLEAN)
    assert isinstance(info.value, LibfilterError) and isinstance(info.value, ValueError)
    assert info.value.status is Status.ERR_STATE
    for attempt in (lambda: e.signature_count, lambda: e.rule_count,
                    lambda: e.load_error_count, e.scanner, e.session):
        with pytest.raises(ClosedError):
            attempt()


def test_context_manager_closes() -> None:
    with libfilter.Engine() as e:
        assert e.scan(CLEAN).is_clean
    assert e.closed
    with pytest.raises(ClosedError):
        e.scan(CLEAN)


def test_scanner_and_session_outlive_engine() -> None:
    e = libfilter.Engine()
    sc, sess = e.scanner(), e.session()
    want = e.scan(with_attachment(eicar()))
    e.close()
    del e
    gc.collect()
    # Each holds its own C engine reference.
    assert sc.scan(with_attachment(eicar())) == want
    sess.mail("a@example.com")
    sess.header("Subject", "hi")
    sess.body(b"hello\r\n")
    assert sess.finish().is_clean
    sc.close()
    sess.close()


def test_scanner_use_after_close() -> None:
    with libfilter.Engine() as e:
        sc = e.scanner()
        sc.close()
        sc.close()
        with pytest.raises(ClosedError):
            sc.scan(CLEAN)


def test_session_use_after_close() -> None:
    with libfilter.Engine() as e:
        s = e.session()
        s.close()
        for call in (lambda: s.mail("a@example.com"), lambda: s.rcpt("b@example.com"),
                     lambda: s.header("A", "b"), s.eoh, lambda: s.body(b"x"),
                     s.finish, s.reset, lambda: s.helo("x"),
                     lambda: s.connect("192.0.2.1"), lambda: s.set_max_size(10)):
            with pytest.raises(ClosedError):
                call()


def test_not_constructible_directly() -> None:
    with pytest.raises(TypeError):
        libfilter.Scanner()
    with pytest.raises(TypeError):
        libfilter.Session()


def test_scanner_busy_on_another_thread() -> None:
    with libfilter.Engine() as e, e.scanner() as sc:
        # As if another thread were inside sc.scan.
        assert sc._busy.acquire()
        try:
            with pytest.raises(RuntimeError, match="one per thread"):
                sc.scan(CLEAN)
        finally:
            sc._busy.release()
        assert sc.scan(CLEAN).is_clean


def test_garbage_collection_releases() -> None:
    e = libfilter.Engine()
    e.scan(CLEAN)  # fills the scanner pool
    sc, s = e.scanner(), e.session()
    f_engine, f_scanner, f_session = e._finalizer, sc._finalizer, s._finalizer
    assert f_engine.alive and f_scanner.alive and f_session.alive
    del e, sc, s
    gc.collect()
    assert not f_engine.alive and not f_scanner.alive and not f_session.alive


def test_close_while_other_threads_scan() -> None:
    e = libfilter.Engine()
    msgs = [CLEAN, with_attachment(eicar())]
    started = threading.Barrier(5)
    outcomes: List[str] = []
    lock = threading.Lock()

    def worker() -> None:
        started.wait()
        n = 0
        try:
            while True:
                e.scan(msgs[n % 2])
                n += 1
        except ClosedError:
            result = "closed"
        except BaseException as exc:  # noqa: BLE001 - reported below
            result = f"unexpected {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    e.scan(CLEAN)
    e.close()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == ["closed"] * 4
    # Scanners that were checked out during close() were freed on return.
    assert e._pool == []
