"""The throttle from Python: limits crossed (delay, tempfail), zombies
escalated, the window sliding, networks, memory fixed whatever arrives,
the configuration round trip, errors, and use from several threads."""

from __future__ import annotations

import dataclasses
import threading

import pytest

import libfilter
from libfilter import Advice, Throttle, ThrottleConfig, ThrottleRates


def limited(connections: int) -> ThrottleConfig:
    return ThrottleConfig.default().with_(
        host=ThrottleRates(connections=connections), net=ThrottleRates()
    )


def test_defaults_round_trip() -> None:
    c = ThrottleConfig.default()
    assert (c.window_ms, c.buckets, c.v4_prefix, c.v6_prefix) == (60_000, 6, 24, 64)
    assert c.host.connections > 0 and c.net.connections > c.host.connections
    with Throttle(c) as t:
        assert t.memory_bytes == c.memory_bytes > 0
    with Throttle() as t:
        assert t.memory_bytes == c.memory_bytes


def test_limits_delay_then_tempfail() -> None:
    with Throttle(limited(2)) as t:
        ip = "192.0.2.1"
        got = [t.connect(ip, now_ms=i) for i in range(4)]
        assert [a.advice for a in got] == [
            Advice.ACCEPT,
            Advice.ACCEPT,
            Advice.DELAY,
            Advice.TEMPFAIL,
        ]
        assert got[2].delay_ms == 1_000 and got[0].delay_ms == 0
        assert got[0].accepted and not got[2].accepted
        host, net = t.counts(ip, now_ms=4)
        assert host == ThrottleRates(connections=4) == net
        # The window (a minute) slides past them.
        assert t.advice(ip, now_ms=61_000).accepted
        assert t.counts(ip, now_ms=61_000)[0] == ThrottleRates()


def test_zombie_escalates_to_reject() -> None:
    with Throttle(limited(2)) as t:
        ip = "198.51.100.66"
        for i in range(4):
            t.connect(ip, now_ms=i)
        t.message(ip, recipients=30, now_ms=5)
        a = t.verdict(ip, spam=True, now_ms=6)
        assert a.advice is Advice.REJECT
        host, _ = t.counts(ip, now_ms=6)
        assert (host.messages, host.recipients, host.spam) == (1, 30, 1)
        # A ham verdict counts nothing.
        t.verdict("203.0.113.9", spam=False, now_ms=6)
        assert t.counts("203.0.113.9", now_ms=6)[0] == ThrottleRates()


def test_networks_and_ipv6() -> None:
    config = ThrottleConfig.default().with_(host=ThrottleRates(), net={"messages": 3})
    with Throttle(config) as t:
        for h in range(3):
            assert t.message(f"2001:db8:1:2::{h + 1}", now_ms=0).accepted
        # Same /64 (written as an SMTP literal): over the network's limit.
        assert t.message("[IPv6:2001:db8:1:2:ffff::1]", now_ms=0).advice is Advice.DELAY
        # The next /64 is another network.
        assert t.message("2001:db8:1:3::1", now_ms=0).accepted
        assert t.counts(b"2001:db8:1:2::99", now_ms=0)[1].messages == 4


def test_memory_is_fixed() -> None:
    config = limited(5).with_(host_slots=64, net_slots=64)
    with Throttle(config) as t:
        before = t.memory_bytes
        for i in range(5_000):
            t.connect(f"10.{i >> 8 & 255}.{i & 255}.{i % 7}", now_ms=(i * 37) % 100_000)
        assert t.memory_bytes == before == config.memory_bytes
    bigger = dataclasses.replace(config, host_slots=6400)
    assert bigger.memory_bytes > config.memory_bytes


def test_errors() -> None:
    with pytest.raises(libfilter.LibfilterError) as e:
        Throttle(ThrottleConfig.default().with_(buckets=0))
    assert e.value.status is libfilter.Status.ERR_INVALID
    assert "buckets" in e.value.message
    t = Throttle()
    with pytest.raises(libfilter.LibfilterError) as e:
        t.connect("not an address", now_ms=0)
    assert e.value.status is libfilter.Status.ERR_INVALID
    with pytest.raises(ValueError):
        t.connect("192.0.2.1\0", now_ms=0)
    with pytest.raises(ValueError):
        t.message("192.0.2.1", recipients=-1)
    # now_ms may be omitted: the binding reads a monotonic clock.
    assert t.connect("192.0.2.1").accepted
    t.close()
    t.close()
    assert t.closed
    with pytest.raises(libfilter.ClosedError):
        t.connect("192.0.2.1", now_ms=0)
    with pytest.raises(libfilter.ClosedError):
        _ = t.memory_bytes


def test_shared_by_threads() -> None:
    with Throttle(limited(0)) as t:
        ip = "192.0.2.50"

        def work() -> None:
            for i in range(500):
                t.connect(ip, now_ms=i)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert t.counts(ip, now_ms=500)[0].connections == 2_000
