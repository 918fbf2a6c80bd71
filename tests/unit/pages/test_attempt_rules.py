"""The attempt rules without a database: the growing delay, the ceiling, the address
window, IPv6 by /64; which X-Forwarded-For entry is believed; argon2's bounded queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Request

from ledger.adapters.attempts import POLICIES, Counter, address_key, decide
from ledger.adapters.directory import Argon2Busy, Argon2Threads, hash_secret
from ledger.config import proxies
from ledger.entrypoints.pages.common import PageServices
from ledger.page_secrets import PageSecrets

PIN = POLICIES["pin"]
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def fresh() -> dict[str, Counter]:
    return {scope: Counter(0, 0, NOW, NOW, NOW) for scope in ("pair", "subject", "address")}


def test_the_pairs_delay_doubles_after_the_free_tries_up_to_its_cap() -> None:
    delays = [PIN.delay(n).total_seconds() for n in range(1, 13)]
    assert delays == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]
    assert PIN.delay(10**9) == PIN.max_delay


def test_an_allowed_attempt_is_counted_as_a_failure_everywhere() -> None:
    decision = decide(PIN, NOW, fresh())
    assert decision.allowed
    assert {scope: c.failures for scope, c in decision.counters.items()} == {
        "pair": 1, "subject": 1, "address": 1}
    assert decision.counters["pair"].next_at == NOW


def test_a_waiting_pair_is_refused_with_the_time_left() -> None:
    counters = fresh()
    counters["pair"] = Counter(5, 5, NOW, NOW, NOW + timedelta(seconds=29, milliseconds=1))
    decision = decide(PIN, NOW, counters)
    assert not decision.allowed and decision.retry_after == 30 and decision.counters == {}


def test_over_the_ceiling_a_new_pair_tries_once_then_waits() -> None:
    counters = fresh()
    counters["subject"] = Counter(PIN.ceiling, PIN.ceiling, NOW, NOW, NOW)
    decision = decide(PIN, NOW, counters)
    assert decision.allowed
    assert decision.counters["pair"].next_at == NOW + PIN.ceiling_delay


def test_windows_and_old_failures_are_forgotten() -> None:
    counters = fresh()
    long_ago = NOW - PIN.forget
    counters["pair"] = Counter(9, 9, long_ago, long_ago, long_ago + PIN.max_delay)
    counters["subject"] = Counter(999, 999, NOW - PIN.window, NOW, NOW)
    counters["address"] = Counter(999, 999, NOW - PIN.window, NOW, NOW)
    decision = decide(PIN, NOW, counters)
    assert decision.allowed
    assert [decision.counters[s].failures for s in ("pair", "subject", "address")] == [1, 1, 1]


def test_an_address_over_its_limits_waits_for_its_window() -> None:
    for failures, attempts in ((PIN.address_failures, PIN.address_failures),
                               (0, PIN.address_attempts)):
        counters = fresh()
        counters["address"] = Counter(failures, attempts, NOW - timedelta(minutes=5), NOW, NOW)
        decision = decide(PIN, NOW, counters)
        assert not decision.allowed and decision.retry_after == 600
    # Codes cost no argon2: their successes are not limited.
    counters = fresh()
    counters["address"] = Counter(0, 10_000, NOW, NOW, NOW)
    assert decide(POLICIES["code"], NOW, counters).allowed


def test_ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("testclient") == "testclient"


def request(peer: str, *forwarded: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "query_string": b"",
                    "client": (peer, 5000),
                    "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]})


def services(*trusted: str) -> PageServices:
    return PageServices(PageSecrets(b"c" * 32, b"p" * 32), trusted_proxies=trusted)


def test_x_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    assert services().client_address(request("127.0.0.1", "192.0.2.9")) == "127.0.0.1"
    assert services("10.0.0.0/8").client_address(request("127.0.0.1", "192.0.2.9")) \
        == "127.0.0.1"


def test_behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() -> None:
    chain = services("10.0.0.0/8", "127.0.0.1")
    assert chain.client_address(request("127.0.0.1", "6.6.6.6, 192.0.2.9, 10.1.2.3")) \
        == "192.0.2.9"
    # Several headers read as one list, in order.
    assert chain.client_address(request("127.0.0.1", "6.6.6.6", "192.0.2.9")) == "192.0.2.9"
    # No header: the proxy itself; only proxies in it: the farthest one.
    assert chain.client_address(request("10.0.0.1")) == "10.0.0.1"
    assert chain.client_address(request("127.0.0.1", "10.0.0.7, 10.0.0.8")) == "10.0.0.7"
    # Something no proxy writes: the last address a trusted proxy vouched for.
    assert chain.client_address(request("127.0.0.1", "192.0.2.9, junk, 10.0.0.5")) \
        == "10.0.0.5"


def test_trusted_proxies_are_checked_at_start() -> None:
    assert proxies("10.0.0.1, 10.1.0.0/16 ::1") == ("10.0.0.1", "10.1.0.0/16", "::1")
    assert proxies("") == ()
    with pytest.raises(ValueError, match=r"proxy\.example"):
        proxies("10.0.0.1,proxy.example")


async def test_argon2_refuses_verifications_past_its_queue_but_hashing_waits() -> None:
    argon2 = Argon2Threads(threads=1, max_pending=1)
    hashed = hash_secret("246810")
    first = asyncio.create_task(argon2.verify(hashed, "246810"))
    await asyncio.sleep(0)
    assert argon2.pending == 1
    with pytest.raises(Argon2Busy):
        await argon2.verify(hashed, "246810")
    second_hash = asyncio.create_task(argon2.hash("135790"))
    assert await first
    assert (await second_hash).startswith("$argon2")
    assert argon2.pending == 0
    assert await argon2.verify(hashed, "246810")
