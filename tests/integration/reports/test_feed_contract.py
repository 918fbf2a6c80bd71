"""The feed port's contract, checked on both adapters against real PostgreSQL: the ledger's
functions in the same database, and the ledger's HTTP feed served by the real ledger app.

Never skipped (a late commit is read, after nothing that committed after it), exactly once
across a crash (resume from the checkpoint), and the same read models whichever adapter
the events came through.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date

import asyncpg
import httpx
import pytest

from contract.cursor import START, Cursor
from contract.events import UnitEstablished, encode_data
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger_app
from reports.adapters import checkpoints, schema
from reports.adapters.database_feed import DatabaseFeed
from reports.adapters.http_feed import HttpFeed
from reports.config import RemoteFeed, Settings
from reports.entrypoints.app import create_app
from reports.service.ports import Feed
from reports.service.projections import NAMES, PROJECTIONS
from reports.service.runner import apply_next_batch, catch_up
from tests.integration.conftest import serving

from .conftest import History, shanghai

# Every projection table; checkpoints without their wall-clock `updated_at`.
TABLES = ("units", "unit_parents", "unit_parent_changes", "members", "memberships",
          "membership_changes", "activities", "participations", "participation_log",
          "honor_rolls", "honor_roll_objections", "checkpoints")


@pytest.fixture(params=["database", "http"])
async def feed(request, pool: asyncpg.Pool, tenant: str,
               database_url: str) -> AsyncIterator[Feed]:
    if request.param == "database":
        yield DatabaseFeed(pool)
        return
    minted = await TokenStore(pool).mint(tenant, label="reports feed", role="client",
                                         can_write=False)
    async with serving(create_ledger_app(LedgerSettings(database_url=database_url))) as url:
        # Small pages: a batch spans several requests.
        remote = HttpFeed(url, {tenant: minted.token}, page_limit=3)
        try:
            yield remote
        finally:
            await remote.close()


async def _history(history: History) -> None:
    """A little of everything the projections take: moves, transfers, a cancellation,
    corrections and revocations, back-dated and imported recordings."""
    history.recorded_at = shanghai(2025, 1, 1)
    district = await history.unit("district", None)
    street = await history.unit("street", district)
    branch = await history.unit("branch", street)
    history.recorded_at = None
    other = await history.unit("branch", street, name="二支部")
    members = [await history.member(branch) for _ in range(3)]
    history.source = "import"
    await history.transfer(members[0], branch, other, date(2025, 3, 1))
    history.source = "api"
    await history.move(other, district, date(2025, 3, 15))
    for day, member in enumerate(members, start=3):
        activity, participation = await history.served(branch, member,
                                                       shanghai(2025, 3, day), 90)
        await history.correct(activity, member, participation, 45, 90)
    activity = await history.activity(other, shanghai(2025, 3, 20))
    participation = await history.check_in(activity, members[1], shanghai(2025, 3, 20))
    await history.revoke(activity, members[1], participation)
    await history.cancel(await history.activity(branch, shanghai(2025, 3, 28)))
    await history.leave(members[2], date(2025, 3, 31))


async def _read_until(feed: Feed, tenant_id: str, after: Cursor, target: Cursor,
                      limit: int) -> list[Cursor]:
    """Every cursor the feed hands out after `after` up to `target`, in small batches (the
    horizon is cluster-wide: a transaction open elsewhere may hold the target back)."""
    seen: list[Cursor] = []
    for _ in range(1000):
        raws = await feed.read_batch(tenant_id, after, limit)
        seen += [(raw[0], raw[1]) for raw in raws]
        if raws:
            after = seen[-1]
        if after >= target:
            return seen
        if not raws:
            await asyncio.sleep(0.02)
    raise AssertionError(f"the feed did not reach {target} within 20 s")


async def _project(connection: asyncpg.Connection, feed: Feed, tenant_id: str,
                   target: Cursor, *, schema_name: str = schema.LIVE) -> None:
    for _ in range(1000):
        await catch_up(connection, feed, tenant_id, schema=schema_name, limit=4)
        if await checkpoints.reflected(connection, schema_name, tenant_id) >= target:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the projections did not reach {target} within 20 s")


async def _tables(connection: asyncpg.Connection, schema_name: str,
                  tenant_id: str) -> dict[str, list[tuple]]:
    dump = {}
    for table in TABLES:
        rows = await connection.fetch(
            f"SELECT * FROM {schema_name}.{table} WHERE tenant_id = $1", tenant_id)
        dump[table] = sorted(tuple(str(v) for k, v in row.items() if k != "updated_at")
                             for row in rows)
    return dump


async def _reprojected(connection: asyncpg.Connection, tenant_id: str, feed: Feed,
                       target: Cursor) -> dict[str, list[tuple]]:
    """The tenant projected afresh through `feed` into a scratch copy of the tables."""
    await schema.create_next(connection)
    try:
        await _project(connection, feed, tenant_id, target, schema_name=schema.NEXT)
        return await _tables(connection, schema.NEXT, tenant_id)
    finally:
        await connection.execute(f"DROP SCHEMA {schema.NEXT} CASCADE")


async def _insert_open(connection: asyncpg.Connection, tenant_id: str) -> int:
    """Append an event the way the store does, inside the caller's (open) transaction."""
    event = UnitEstablished(unit_id=uuid.uuid4(), kind="district", parent_id=None,
                            name="迟到区", effective=date(2025, 1, 1))
    return await connection.fetchval(
        """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
               schema_version, data, metadata, hash)
           VALUES ($1, $2, 'late', 1, 'UnitEstablished', 1, $3, '{"actor":"test"}', $4)
           RETURNING position""",
        tenant_id, uuid.uuid4(), encode_data(event), bytes(32))


async def test_a_late_commit_is_read_and_nothing_is_skipped(feed, history, pool):
    district = await history.unit("district", None)
    before = await history.feed.cursor_of_position(history.tenant_id, history.last_position)
    seen = await _read_until(feed, history.tenant_id, START, before, 1)
    slow = await pool.acquire()
    try:
        transaction = slow.transaction()
        await transaction.start()
        late = await _insert_open(slow, history.tenant_id)
        # Committed after the late event took its position, before the late one commits.
        await history.unit("street", district)
        await history.unit("street", district)
        successors = history.last_position
        raws = await feed.read_batch(history.tenant_id, seen[-1], 10)
        assert raws == [], "the open transaction holds every later commit back"
        assert await feed.cursor_of_position(history.tenant_id, late) is None
        await transaction.commit()
    finally:
        await pool.release(slow)
    assert late < successors
    target = await feed.cursor_of_position(history.tenant_id, successors)
    assert target is not None
    seen += await _read_until(feed, history.tenant_id, seen[-1], target, 1)
    positions = [position for _, position in seen]
    # The late event is read first (its transaction is the oldest), then its successors;
    # each once, and nothing of the tenant's is missing.
    assert positions.index(late) < positions.index(successors)
    assert len(positions) == len(set(positions)) == 4
    assert seen == sorted(seen)
    events, oldest = await feed.lag(history.tenant_id, START)
    assert events == 4 and oldest is not None
    assert await feed.lag(history.tenant_id, target) == (0, None)


class Crash(Exception):
    pass


def _crashing_at(call: int):
    calls = {"n": 0}

    def wrap(projection):
        async def save(connection, schema_name, tenant_id, batch):
            await projection.save(connection, schema_name, tenant_id, batch)
            calls["n"] += 1
            if calls["n"] == call:
                raise Crash
        return replace(projection, save=save)
    return [wrap(p) for p in PROJECTIONS]


async def test_exactly_once_across_a_crash(feed, history, pool):
    await _history(history)
    target = await history.feed.cursor_of_position(history.tenant_id, history.last_position)
    async with pool.acquire() as connection:
        await _read_until(feed, history.tenant_id, START, target, 1000)
        for call in (3, 2, 5):
            projections = _crashing_at(call)
            while True:
                before = await _tables(connection, schema.LIVE, history.tenant_id)
                try:
                    result = await apply_next_batch(connection, feed, history.tenant_id,
                                                    limit=5, projections=projections)
                except Crash:
                    # The crashed batch left no trace: rows and checkpoints as before it.
                    assert await _tables(connection, schema.LIVE, history.tenant_id) == before
                    break
                assert result.events, "the feed ran out before the crash"
        # Restarted: on from the checkpoints, to the end.
        await _project(connection, feed, history.tenant_id, target)
        resumed = await _tables(connection, schema.LIVE, history.tenant_id)
        points = await checkpoints.read(connection, schema.LIVE, history.tenant_id)
        assert {p.cursor for p in points.values()} == {target}
        # The same as projecting the tenant without a crash, event counts included.
        assert resumed == await _reprojected(connection, history.tenant_id,
                                             DatabaseFeed(pool), target)


async def test_both_adapters_give_the_same_read_models(history, pool, tenant, database_url):
    await _history(history)
    target = await history.feed.cursor_of_position(history.tenant_id, history.last_position)
    minted = await TokenStore(pool).mint(tenant, label="reports feed", role="client",
                                         can_write=False)
    async with pool.acquire() as connection:
        await _project(connection, DatabaseFeed(pool), tenant, target)
        through_database = await _tables(connection, schema.LIVE, tenant)
        async with serving(create_ledger_app(LedgerSettings(database_url=database_url))) as url:
            remote = HttpFeed(url, {tenant: minted.token}, page_limit=3)
            try:
                through_http = await _reprojected(connection, tenant, remote, target)
            finally:
                await remote.close()
    assert through_database["participations"] and through_database["membership_changes"]
    assert through_http == through_database


async def test_the_service_runs_on_the_http_feed(history, pool, tenant, database_url):
    """Configured with a remote feed, the runner long-polls the ledger (no NOTIFY reaches
    it) and /status measures the lag over HTTP."""
    district = await history.unit("district", None)
    minted = await TokenStore(pool).mint(tenant, label="reports feed", role="client",
                                         can_write=False)
    headers = {"Authorization": f"Bearer {minted.token}"}
    async with serving(create_ledger_app(LedgerSettings(database_url=database_url))) as url:
        settings = Settings(database_url=database_url, poll_interval=60,
                            # A short long poll: the ledger's shutdown waits for it.
                            remote_feed=RemoteFeed(url=url, tenant_id=tenant,
                                                   token=minted.token, wait=1))
        # Served for real: the test client's portal would block the loop the ledger runs on.
        async with serving(create_app(settings)) as reports_url, httpx.AsyncClient(
                base_url=reports_url, timeout=30) as client:
            await history.unit("street", district)
            target = await history.feed.cursor_of_position(tenant, history.last_position)
            for _ in range(200):
                if await checkpoints.reflected(pool, schema.LIVE, tenant) >= target:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the runner did not pick the event up over HTTP")
            status = (await client.get("/status", headers=headers)).json()
    mine = [p for p in status["projections"] if p["tenant_id"] == tenant]
    assert {p["projection"] for p in mine} == set(NAMES)
    assert {p["lag_events"] for p in mine} == {0}
