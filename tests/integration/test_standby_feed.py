"""The feed read on a streaming hot standby never skips nor repeats what the primary holds.

A primary of its own (a fresh cluster, migrated) and its hot standby (bench/standby.py);
events are appended on the primary, the feed is read on the standby through the functions
the ledger publishes (`ledger.feed_batch`, as the reports' database feed calls it). On a
standby `pg_current_snapshot()` is built from the transactions it knows to be running on
the primary: those its replayed WAL named (with every lower id not yet ended) and those of
the primary's running-xacts records, so an open transaction on the primary holds the
standby's horizon back as it holds the primary's (docs/SCALING.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from bench.cluster import Cluster
from bench.ledger_bench import seed
from bench.standby import Standby, primary_and_standby, wait_replayed
from contract.cursor import Cursor
from contract.events import CheckedIn, CheckedOut
from contract.postgres import create_pool
from infra import migrate
from ledger.adapters.event_store import ANY, NO_STREAM, Metadata, NewEvent, PostgresEventStore
from reports.adapters.database_feed import DatabaseFeed
from reports.config import Settings
from reports.entrypoints.app import create_app
from reports.service.runner import catch_up
from tests.integration.conftest import serving
from tests.new_events import renamed

_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Cluster, Standby]]:
    with primary_and_standby() as pair:
        yield pair


@pytest.fixture(scope="module")
async def primary(servers: tuple[Cluster, Standby]) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(servers[0].url, application_name="primary", max_size=20,
                             role="ledger_writer")
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def standby(servers: tuple[Cluster, Standby]) -> AsyncIterator[asyncpg.Pool]:
    # As the reports connect: a role that may call the published functions only.
    pool = await create_pool(servers[1].url, application_name="standby", max_size=4,
                             role="reports_writer")
    yield pool
    await pool.close()


@pytest.fixture
async def tenant(servers: tuple[Cluster, Standby]) -> str:
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(servers[0].url)
    try:
        await connection.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $1)",
                                 tenant_id)
    finally:
        await connection.close()
    return tenant_id


async def drain(feed: DatabaseFeed, tenant: str, after: Cursor) -> tuple[list[int], Cursor]:
    """Every event the feed hands out after `after` now, in order, and the cursor after them."""
    positions: list[int] = []
    while batch := await feed.read_batch(tenant, after, 100):
        positions += [row["position"] for row in batch]
        after = (batch[-1]["txid"], batch[-1]["position"])
    return positions, after


async def open_late_writer(primary: asyncpg.Pool, tenant: str, stream: str
                           ) -> tuple[asyncpg.Connection, asyncpg.transaction.Transaction, int]:
    """A transaction on the primary that takes its id and inserts its event now, and commits
    whenever the caller says: the late commit the horizon exists for."""
    connection = await primary.acquire()
    transaction = connection.transaction()
    await transaction.start()
    xid = int(await connection.fetchval("SELECT pg_current_xact_id()::text"))
    await connection.execute(
        """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
               schema_version, data, metadata, hash)
           VALUES ($1, $2, $3, 1, 'UnitRenamed', 1, $4::jsonb, $5::jsonb, $6)""",
        tenant, uuid.uuid4(), stream,
        b'{"unit_id":"00000000-0000-0000-0000-000000000001","name":"late",'
        b'"effective":"2026-01-01"}',
        b'{"actor":"test"}', bytes(32))
    return connection, transaction, xid


async def log_standby_snapshot(primary: asyncpg.Pool) -> None:
    """A running-xacts record now: a checkpoint logs one (PostgreSQL 15 has no
    pg_log_standby_snapshot()). As the login (a superuser here), not the ledger's role."""
    async with primary.acquire() as connection:
        await connection.execute("RESET ROLE")
        try:
            await connection.execute("CHECKPOINT")
        finally:
            await connection.execute("SET ROLE ledger_writer")


async def test_a_late_commit_holds_the_standby_horizon_back(
        primary: asyncpg.Pool, standby: asyncpg.Pool, tenant: str) -> None:
    store = PostgresEventStore(primary)
    feed = DatabaseFeed(standby)
    await store.append(tenant, "before", NO_STREAM, [renamed("before")])
    await wait_replayed(primary, standby)
    before, cursor = await drain(feed, tenant, (0, 0))
    assert len(before) == 1

    late, transaction, xid = await open_late_writer(primary, tenant, "late")
    try:
        # A running-xacts record (the primary logs one every 15 s and at each checkpoint)
        # lets the standby forget transactions that ended without a commit record: not
        # this one, still running.
        await log_standby_snapshot(primary)
        # The later commits flush that record with them.
        for i in range(3):
            await store.append(tenant, f"fast-{i}", NO_STREAM, [renamed(f"fast{i}")])
        await wait_replayed(primary, standby)
        assert await standby.fetchval(_HORIZON) <= xid
        held, _ = await drain(feed, tenant, cursor)
        assert held == [], "the standby must wait for the open transaction"
        # It has the later commits all the same: they are only held back.
        events, _oldest = await feed.lag(tenant, cursor)
        assert events == 3
    finally:
        await transaction.commit()
        await primary.release(late)

    await wait_replayed(primary, standby)
    assert await standby.fetchval(_HORIZON) > xid
    delivered, cursor = await drain(feed, tenant, cursor)
    streams = await primary.fetch(
        "SELECT stream_id FROM ledger.events WHERE tenant_id = $1 AND position = ANY($2) "
        "ORDER BY txid, position", tenant, delivered)
    assert [r["stream_id"] for r in streams] == ["late", "fast-0", "fast-1", "fast-2"]
    assert (await drain(feed, tenant, cursor))[0] == []


async def test_an_id_taken_before_any_wal_still_holds_the_standby_back(
        primary: asyncpg.Pool, standby: asyncpg.Pool, tenant: str) -> None:
    """A transaction id the primary assigned but wrote nothing with yet: the standby learns
    of it from a later id in the WAL (every lower id not yet ended counts as running)."""
    store = PostgresEventStore(primary)
    feed = DatabaseFeed(standby)
    connection = await primary.acquire()
    transaction = connection.transaction()
    await transaction.start()
    try:
        xid = int(await connection.fetchval("SELECT pg_current_xact_id()::text"))
        await store.append(tenant, "fast", NO_STREAM, [renamed("fast")])
        await wait_replayed(primary, standby)
        assert await standby.fetchval(_HORIZON) <= xid
        assert (await drain(feed, tenant, (0, 0)))[0] == []
        # Only now does it write, then commits: behind the event already committed.
        await connection.execute(
            """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
                   schema_version, data, metadata, hash)
               VALUES ($1, $2, 'late', 1, 'UnitRenamed', 1, $3::jsonb, '{}'::jsonb, $4)""",
            tenant, uuid.uuid4(),
            b'{"unit_id":"00000000-0000-0000-0000-000000000001","name":"late",'
            b'"effective":"2026-01-01"}', bytes(32))
    finally:
        await transaction.commit()
        await primary.release(connection)
    await wait_replayed(primary, standby)
    delivered, _ = await drain(feed, tenant, (0, 0))
    assert len(delivered) == 2


async def test_concurrent_writers_and_late_commits_reach_the_standby_once_each(
        primary: asyncpg.Pool, standby: asyncpg.Pool, tenant: str) -> None:
    """8 writers append through the store while late writers hold their transactions open
    for a while; a reader tails the standby's feed meanwhile. It sees exactly the primary's
    events, each once, in (txid, position) order."""
    store = PostgresEventStore(primary)
    feed = DatabaseFeed(standby)
    rng = random.Random(11)
    writing = True
    seen: list[tuple[int, int]] = []

    async def writer(w: int) -> None:
        for i in range(40):
            await store.append(tenant, f"w{w}-{i}", NO_STREAM, [renamed(f"{w}-{i}")])

    async def late_writer(n: int) -> None:
        for i in range(4):
            connection, transaction, _ = await open_late_writer(primary, tenant, f"late{n}-{i}")
            try:
                await asyncio.sleep(rng.uniform(0.05, 0.4))
            finally:
                await transaction.commit()
                await primary.release(connection)

    async def reader() -> None:
        cursor: Cursor = (0, 0)
        while True:
            last_round = not writing
            batch = await feed.read_batch(tenant, cursor, 50)
            seen.extend((row["txid"], row["position"]) for row in batch)
            if batch:
                cursor = (batch[-1]["txid"], batch[-1]["position"])
            elif last_round:
                return
            else:
                await asyncio.sleep(0.003)

    tail = asyncio.create_task(reader())
    try:
        await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(8)),
                                              *(late_writer(n) for n in range(3))), 120)
        await wait_replayed(primary, standby)
        # Once the standby has replayed everything, one pass of the reader that finds
        # nothing new ends it: what it saw is all it will ever see.
        writing = False
        await asyncio.wait_for(tail, 60)
    finally:
        tail.cancel()

    stored = await primary.fetch(
        "SELECT txid::text::bigint AS txid, position FROM ledger.events WHERE tenant_id = $1 "
        "ORDER BY txid, position", tenant)
    assert len(stored) == 8 * 40 + 3 * 4
    assert seen == [(row["txid"], row["position"]) for row in stored]


async def test_reports_project_the_standby_feed_into_a_database_of_their_own(
        servers: tuple[Cluster, Standby], primary: asyncpg.Pool, standby: asyncpg.Pool,
        tenant: str) -> None:
    """The reports' read models in another database, fed by the standby's feed, come out
    row for row as those projected in the primary's own database from its feed."""
    own_url = await database_of_their_own(servers[0], "reports_own")
    await seed_history(primary, tenant)
    await wait_replayed(primary, standby)

    own = await create_pool(own_url, application_name="reports", role="reports_writer")
    beside = await create_pool(servers[0].url, application_name="reports",
                               role="reports_writer")
    try:
        async with own.acquire() as connection:
            from_standby = await catch_up(connection, DatabaseFeed(standby), tenant)
            apart = await read_models(connection, tenant)
        async with beside.acquire() as connection:
            from_primary = await catch_up(connection, DatabaseFeed(beside), tenant)
            together = await read_models(connection, tenant)
    finally:
        await own.close()
        await beside.close()
    stored = await primary.fetchval(
        "SELECT count(*) FROM ledger.events WHERE tenant_id = $1", tenant)
    assert from_standby == from_primary == stored
    assert len(together["participations"]) == 30
    assert apart == together


async def seed_history(primary: asyncpg.Pool, tenant: str) -> tuple[str, list[uuid.UUID], int]:
    """A tree, 30 members, activities, a check-in of every member and a check-out of every
    other one; a tenant-wide token, the members and the last event's position."""
    token, members, activities = await seed(primary, 30, tenant)
    store = PostgresEventStore(primary)
    now = datetime.now(UTC)
    position = 0
    for i, member in enumerate(members):
        activity, participation = activities[i % 3], uuid.uuid4()
        steps = [CheckedIn(activity_id=activity, member_id=member, method="qr",
                           participation_id=participation, at=now)]
        if i % 2:
            steps.append(CheckedOut(activity_id=activity, member_id=member, method="qr",
                                    participation_id=participation,
                                    at=now + timedelta(hours=1)))
        for event in steps:
            result = await store.append(tenant, f"activity-{activity}", ANY, [NewEvent(
                event_id=uuid.uuid4(), event=event, metadata=Metadata(actor="test"))])
            position = result.positions[-1]
    return token, members, position


async def database_of_their_own(server: Cluster, name: str) -> str:
    """A migrated database for the reports on `server`: anywhere writable would do."""
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = server.url.rpartition("/")[0] + f"/{name}"
    await asyncio.to_thread(migrate.upgrade, url)
    return url


async def test_the_reports_service_reads_its_feed_from_the_standby(
        servers: tuple[Cluster, Standby], primary: asyncpg.Pool, standby: asyncpg.Pool,
        tenant: str) -> None:
    """`FEED_DATABASE_URL` on the standby, `DATABASE_URL` a database of the reports' own:
    the runner projects what the primary appends (polling: a standby refuses LISTEN), and
    callers' tokens, names and `wait_for` are answered from the standby."""
    own_url = await database_of_their_own(servers[0], "reports_live")
    settings = Settings(database_url=own_url, feed_database_url=servers[1].url,
                        run_webhooks=False, poll_interval=0.1)
    async with serving(create_app(settings)) as base, \
            httpx.AsyncClient(base_url=base, timeout=30) as client:
        token, members, position = await seed_history(primary, tenant)
        await primary.execute(
            "INSERT INTO ledger.member_directory (tenant_id, member_id, member_number, name) "
            "VALUES ($1, $2, 'SB000001', '张三明')", tenant, members[1])
        await wait_replayed(primary, standby)
        response = await client.get(f"/api/v1/members/{members[1]}/records",
                                    params={"wait_for": position},
                                    headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert int(body["position"].split("-")[1]) >= position
        [record] = body["records"]
        assert record["checked_in_at"] and record["checked_out_at"]
        # Names come from the standby too, not from the reports' own database.
        hours = await client.get(f"/api/v1/members/{members[1]}/hours",
                                 headers={"Authorization": f"Bearer {token}"})
        assert hours.status_code == 200, hours.text
        assert (hours.json()["member_number"], hours.json()["name"]) == ("SB000001", "张三明")
        stranger = await client.get(f"/api/v1/members/{members[1]}/records",
                                    headers={"Authorization": "Bearer lt_unknown_secret"})
        assert stranger.status_code == 401

    # The commands read there too: a rebuild of every tenant, then the status.
    env = {**os.environ, "DATABASE_URL": own_url, "FEED_DATABASE_URL": servers[1].url}
    rebuilt = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "reports.entrypoints.cli", "rebuild", "--json"],
        env=env, capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    stored = await primary.fetchval("SELECT count(*) FROM ledger.events")
    assert json.loads(rebuilt.stdout)["events"] == stored
    status = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "reports.entrypoints.cli", "status"],
        env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    mine = [line for line in status.stdout.splitlines() if line.startswith(tenant)]
    assert mine and all("\tbehind 0\t" in line for line in mine)


async def read_models(connection: asyncpg.Connection, tenant: str) -> dict[str, list[tuple]]:
    """Every row of the tenant in every reports table (checkpoints without their clock)."""
    tables = await connection.fetch(
        """SELECT table_name FROM information_schema.columns
           WHERE table_schema = 'reports' AND column_name = 'tenant_id' ORDER BY 1""")
    dump = {}
    for (table,) in tables:
        rows = await connection.fetch(
            f"SELECT * FROM reports.{table} WHERE tenant_id = $1", tenant)
        dump[table] = sorted(tuple(str(v) for k, v in row.items() if k != "updated_at")
                             for row in rows)
    return dump
