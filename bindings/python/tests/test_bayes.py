"""The Bayes store from Python: learning, publishing to an engine built
with the store, the probability in the report, a read-only engine from the
store's path, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import libfilter

SPAM = b"From: deals@pills.example\r\nSubject: cheap pills\r\n\r\nbuy cheap pills online now\r\n"
HAM = b"From: alice@work.example\r\nSubject: meeting notes\r\n\r\nnotes from the monday meeting\r\n"


def test_learn_publish_and_report(tmp_path: Path) -> None:
    path = tmp_path / "bayes.db"
    with libfilter.Bayes(path, "chi-square") as store:
        with libfilter.Engine(bayes=store) as engine:
            assert engine.scan(SPAM).bayes == 0.5
            for _ in range(10):
                store.learn(SPAM, spam=True)
                store.learn(HAM, spam=False)
            # Learned, not yet published.
            assert engine.scan(SPAM).bayes == 0.5
            store.publish()
            spam = engine.scan(SPAM)
            ham = engine.scan(HAM)
            assert spam.bayes is not None and spam.bayes > 0.99
            assert ham.bayes is not None and ham.bayes < 0.01
            assert "LF_BAYES_99" in spam.symbol_names
            assert "LF_BAYES_00" in ham.symbol_names
            s, h, tokens = store.counts
            assert (s, h) == (10, 10) and tokens > 0
            store.unlearn(SPAM, spam=True)
            assert store.counts[0] == 9
            store.compact()
    # A scanning-only engine reads the store as it is on disk.
    with libfilter.Engine(bayes=path) as engine:
        p = engine.scan(SPAM).bayes
        assert p is not None and p > 0.99


def test_no_model_no_probability() -> None:
    with libfilter.Engine() as engine:
        assert engine.scan(SPAM).bayes is None


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(libfilter.LibfilterError) as e:
        libfilter.Engine(bayes=tmp_path / "missing.db")
    assert e.value.status is libfilter.Status.ERR_IO
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a store")
    with pytest.raises(libfilter.LibfilterError) as e:
        libfilter.Bayes(bad)
    assert e.value.status is libfilter.Status.ERR_LOAD
    store = libfilter.Bayes(tmp_path / "ok.db")
    store.close()
    with pytest.raises(libfilter.ClosedError):
        store.learn(SPAM, spam=True)
    with pytest.raises(KeyError):
        libfilter.Bayes(tmp_path / "x.db", "naive")
