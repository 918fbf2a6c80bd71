"""Limits on guessing PINs, passwords and codes, kept in PostgreSQL: race-free under real
concurrency, a delay that grows per (number, address) instead of a lock an attacker could
aim at a member, a coarse ceiling per number, limits per address (successes included),
X-Forwarded-For believed from configured proxies only, and argon2 off the event loop."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from ledger.adapters.attempts import POLICIES, Attempts
from ledger.adapters.directory import ARGON2, Argon2Busy
from ledger.config import Settings
from ledger.entrypoints.app import create_app
from ledger.entrypoints.pages.common import Limited, limited_check
from tests.integration.conftest import Clock, Community, register, serving
from tests.integration.pages.conftest import SECRETS, browser_like, csrf_token

PIN = POLICIES["pin"]


@pytest.fixture
async def behind_proxy(database_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The ledger as deployed behind a reverse proxy on this machine (TRUSTED_PROXIES=
    127.0.0.1): the test plays the proxy, naming each client in X-Forwarded-For."""
    app = create_app(Settings(database_url=database_url, trusted_proxies=("127.0.0.1",)),
                     clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


class Phone:
    """One browser (own cookies and CSRF token) identifying from an address."""

    def __init__(self, client: httpx.AsyncClient, tenant: str) -> None:
        self.client, self.tenant = client, tenant
        self.token = ""

    async def open(self) -> Phone:
        self.token = csrf_token(await self.client.get(f"/t/{self.tenant}/identify"))
        return self

    async def identify(self, number: str, pin: str, address: str | None = None
                       ) -> httpx.Response:
        headers = {"X-Forwarded-For": address} if address else {}
        return await self.client.post(f"/t/{self.tenant}/identify", headers=headers, data={
            "member_number": number, "pin": pin, "_csrf_token": self.token})


async def test_forty_parallel_guesses_on_one_number_verify_no_more_than_five(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    await register(ledger_client, community, "XH-0701")
    async with browser_like(ledger_client) as client:
        phone = await Phone(client, community.tenant).open()
        answers = await asyncio.gather(*(phone.identify("XH-0701", f"{n:04d}")
                                         for n in range(5000, 5040)))
    statuses = Counter(answer.status_code for answer in answers)
    # 422: the PIN was checked (and wrong); 429: refused before any check.
    assert statuses == {422: PIN.free, 429: 40 - PIN.free}


async def test_forty_concurrent_attempts_on_separate_connections_allow_exactly_five(
        pool: asyncpg.Pool, tenant: str, clock: Clock) -> None:
    attempts = Attempts(pool, SECRETS["PAGES_SECRET"].encode())
    started = await asyncio.gather(*(attempts.begin("pin", tenant, "XH-0702", "192.0.2.1",
                                                    clock.now) for _ in range(40)))
    assert sum(a.allowed for a in started) == PIN.free
    assert {a.retry_after for a in started if not a.allowed} == {30}


async def test_the_delay_grows_per_number_and_address_and_a_success_ends_it(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    await register(ledger_client, community, "XH-0703")
    async with browser_like(ledger_client) as client:
        phone = await Phone(client, community.tenant).open()
        for _ in range(PIN.free):
            assert (await phone.identify("XH-0703", "0000")).status_code == 422
        waits = []
        for _ in range(3):
            refused = await phone.identify("XH-0703", "1234")  # right, but not looked at
            assert refused.status_code == 429, refused.text
            waits.append(int(refused.headers["retry-after"]))
            clock.advance(seconds=waits[-1] - 1)
            assert (await phone.identify("XH-0703", "1234")).status_code == 429
            clock.advance(seconds=1)
            assert (await phone.identify("XH-0703", "0000")).status_code == 422
        assert waits == [30, 60, 120]
        assert "请4分钟后再试" in (await phone.identify("XH-0703", "1234")).text
        clock.advance(minutes=4)
        assert (await phone.identify("XH-0703", "1234")).status_code == 303
        # The pair starts afresh after a success.
        for _ in range(PIN.free):
            assert (await phone.identify("XH-0703", "0000")).status_code == 422


async def test_a_guesser_elsewhere_cannot_lock_the_member_out(
        behind_proxy: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    await register(behind_proxy, community, "XH-0704")
    async with browser_like(behind_proxy) as client:
        attacker = await Phone(client, community.tenant).open()
        # Up to the number's ceiling from four addresses using their free tries, then
        # past it from 26 more trying once each, each group at once.
        async def guess(addresses: list[str]) -> set[int]:
            answers = await asyncio.gather(*(attacker.identify("XH-0704", "0000", address)
                                             for address in addresses))
            return {answer.status_code for answer in answers}

        assert await guess([f"198.51.100.{n}" for n in range(4)] * PIN.free) == {422}
        assert await guess([f"198.51.100.{n}" for n in range(4, 30)]) == {422}
        # Over the ceiling every address waits a minute after each try, with no free ones.
        again = await attacker.identify("XH-0704", "0000", "198.51.100.29")
        assert again.status_code == 429 and again.headers["retry-after"] == "60"
        assert (await attacker.identify("XH-0704", "0000", "198.51.100.30")).status_code == 422
        assert (await attacker.identify("XH-0704", "0000", "198.51.100.30")).status_code == 429
    async with browser_like(behind_proxy) as client:
        member = await Phone(client, community.tenant).open()
        # The member, at their own address, gets in at once: nothing was aimed at them.
        assert (await member.identify("XH-0704", "1234", "203.0.113.7")).status_code == 303


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
        ledger_client: httpx.AsyncClient, behind_proxy: httpx.AsyncClient,
        community: Community) -> None:
    await register(ledger_client, community, "XH-0705")
    # Not configured (the default): the header is the client's own words and is ignored,
    # so made-up addresses do not buy more tries.
    async with browser_like(ledger_client) as client:
        phone = await Phone(client, community.tenant).open()
        for n in range(PIN.free):
            assert (await phone.identify("XH-0705", "0000", f"192.0.2.{n}")).status_code == 422
        assert (await phone.identify("XH-0705", "0000", "192.0.2.99")).status_code == 429
    # Behind the trusted proxy only the address it appended counts; a client's own entry
    # further left changes nothing.
    async with browser_like(behind_proxy) as client:
        phone = await Phone(client, community.tenant).open()
        for n in range(PIN.free):
            spoofed = f"10.9.9.{n}, 198.51.100.200"
            assert (await phone.identify("XH-0705", "0000", spoofed)).status_code == 422
        assert (await phone.identify("XH-0705", "0000", "198.51.100.200")).status_code == 429
        assert (await phone.identify("XH-0705", "0000", "198.51.100.201")).status_code == 422


async def test_every_worker_counts_the_same_attempts(
        ledger_client: httpx.AsyncClient, database_url: str, clock: Clock,
        community: Community) -> None:
    await register(ledger_client, community, "XH-0708")
    other_worker = create_app(Settings(database_url=database_url), clock=clock)
    async with serving(other_worker) as url, httpx.AsyncClient(base_url=url) as second:
        first = await Phone(ledger_client, community.tenant).open()
        other = await Phone(second, community.tenant).open()
        for phone in (first, other, first, other, first):
            assert (await phone.identify("XH-0708", "0000")).status_code == 422
        assert (await other.identify("XH-0708", "1234")).status_code == 429


async def test_an_address_is_limited_in_successes_too(pool: asyncpg.Pool, tenant: str,
                                                      clock: Clock) -> None:
    # Through `Attempts` itself: a hundred argon2 checks over HTTP would take a minute.
    attempts = Attempts(pool, SECRETS["PAGES_SECRET"].encode())
    for n in range(PIN.address_attempts or 0):
        attempt = await attempts.begin("pin", tenant, f"XH-{n:04d}", "192.0.2.50", clock.now)
        assert attempt.allowed
        await attempt.succeeded(clock.now)
    clock.advance(minutes=5)
    refused = await attempts.begin("pin", tenant, "XH-9999", "192.0.2.50", clock.now)
    assert not refused.allowed and refused.retry_after == 10 * 60
    assert (await attempts.begin("pin", tenant, "XH-9999", "192.0.2.51", clock.now)).allowed
    clock.advance(minutes=10)
    assert (await attempts.begin("pin", tenant, "XH-9999", "192.0.2.50", clock.now)).allowed


async def test_a_check_that_could_not_run_is_not_counted(pool: asyncpg.Pool, tenant: str,
                                                         clock: Clock) -> None:
    attempts = Attempts(pool, SECRETS["PAGES_SECRET"].encode())

    async def busy() -> None:
        raise Argon2Busy

    for _ in range(10):
        answer = await limited_check(attempts, "pin", tenant, "XH-0706", "192.0.2.60",
                                     clock.now, busy)
        assert answer == Limited(503, 5)

    async def wrong() -> None:
        return None

    answers = [await limited_check(attempts, "pin", tenant, "XH-0706", "192.0.2.60",
                                   clock.now, wrong) for _ in range(PIN.free + 1)]
    assert answers[:PIN.free] == [None] * PIN.free
    assert isinstance(answers[-1], Limited) and answers[-1].status == 429


async def test_an_unknown_tenant_is_answered_as_wrong_without_a_check_or_a_row(
        ledger_client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = f"nowhere-{uuid.uuid4().hex[:8]}"
    async with browser_like(ledger_client) as client:
        phone = await Phone(client, tenant).open()
        answers = [await phone.identify("XH-0001", "0000") for _ in range(PIN.free + 3)]
    assert {answer.status_code for answer in answers} == {422}
    assert "编号或密码不正确" in answers[-1].text
    attempts = Attempts(pool, SECRETS["PAGES_SECRET"].encode())
    keys = [attempts.key("pin", scope, tenant, "XH-0001", "127.0.0.1")
            for scope in ("pair", "subject", "address")]
    assert await pool.fetchval("SELECT count(*) FROM ledger.login_attempts WHERE key = ANY($1)",
                               keys) == 0


async def test_rows_hold_no_number_or_address_and_idle_ones_are_pruned(
        pool: asyncpg.Pool, tenant: str, clock: Clock) -> None:
    attempts = Attempts(pool, SECRETS["PAGES_SECRET"].encode())
    number, address = f"N-{uuid.uuid4().hex[:8]}", "192.0.2.70"
    await attempts.begin("pin", tenant, number, address, clock.now - timedelta(days=3))
    keys = [attempts.key("pin", scope, tenant, number, address)
            for scope in ("pair", "subject", "address")]
    rows = await pool.fetch("SELECT * FROM ledger.login_attempts WHERE key = ANY($1)", keys)
    assert len(rows) == 3
    assert not any(number in str(dict(row)) or address in str(dict(row)) for row in rows)
    assert await attempts.prune(clock.now) >= 3
    assert await pool.fetchval("SELECT count(*) FROM ledger.login_attempts WHERE key = ANY($1)",
                               keys) == 0


async def test_health_answers_while_identifies_are_being_verified(
        behind_proxy: httpx.AsyncClient, community: Community) -> None:
    """argon2 runs in threads: the event loop answers /health while verifications are in
    flight, before any of them has finished."""
    count = 8
    # A number and an address each, so that the attempts' rows do not queue on one another.
    numbers = [f"XH-07{n:02d}" for n in range(10, 10 + count)]
    await asyncio.gather(*(register(behind_proxy, community, number) for number in numbers))
    async with browser_like(behind_proxy) as client:
        phones = [await Phone(client, community.tenant).open() for _ in range(count)]
        identifies = [asyncio.create_task(phone.identify(number, "1234", f"192.0.2.{n}"))
                      for n, (phone, number) in enumerate(zip(phones, numbers, strict=True))]
        while ARGON2.pending < count:
            assert not any(task.done() for task in identifies)
            await asyncio.sleep(0.005)
        health = await behind_proxy.get("/health")
        finished_before_health = sum(task.done() for task in identifies)
        answers = await asyncio.gather(*identifies)
    assert health.status_code == 200
    assert finished_before_health == 0
    assert [answer.status_code for answer in answers] == [303] * count
