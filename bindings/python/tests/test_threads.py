"""One Engine shared by several threads scanning corpus messages gives the
same reports as a single-threaded run (CORPUS, skipped when unset)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List

import libfilter
from libfilter import Verdict

from conftest import corpus_messages

N_MESSAGES = int(os.environ.get("CORPUS_MAX", "200"))
THREADS = 4


def test_threads_match_single_thread() -> None:
    messages = corpus_messages(N_MESSAGES)
    assert len(messages) >= min(N_MESSAGES, 50)
    with libfilter.Engine() as engine:
        single = [engine.scan(m) for _, m in messages]

        # The corpus exercised both outcomes (not a binding that says
        # "clean" to everything).
        verdicts = {r.verdict for r in single}
        assert Verdict.CLEAN in verdicts and Verdict.SPAM in verdicts
        spam_hits = sum(
            1 for (label, _), r in zip(messages, single) if label == "spam" and r.is_spam
        )
        assert spam_hits > 0

        # Engine.scan from several threads, each message scanned by several.
        order = list(range(len(messages))) * 3
        with ThreadPoolExecutor(THREADS) as pool:
            threaded = list(pool.map(lambda i: (i, engine.scan(messages[i][1])), order))
        for i, report in threaded:
            assert report == single[i], messages[i][0]

        # A Scanner per thread, all threads released at once.
        results: Dict[int, List[libfilter.Report]] = {}
        go = threading.Barrier(THREADS)
        errors: List[BaseException] = []

        def worker(k: int) -> None:
            try:
                with engine.scanner() as sc:
                    go.wait()
                    results[k] = [sc.scan(m) for _, m in messages[k:] + messages[:k]]
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for k, reports in results.items():
            assert reports == single[k:] + single[:k]


def test_threads_with_envelopes() -> None:
    messages = corpus_messages(min(N_MESSAGES, 60))
    with libfilter.Engine() as engine:
        def scan(i: int) -> libfilter.Report:
            return engine.scan(messages[i][1], client_ip=f"192.0.2.{i % 250 + 1}",
                               helo="mx.example.net", mail_from=f"u{i}@example.net",
                               rcpt=["a@example.org", "b@example.org"])

        single = [scan(i) for i in range(len(messages))]
        with ThreadPoolExecutor(THREADS) as pool:
            assert list(pool.map(scan, range(len(messages)))) == single
