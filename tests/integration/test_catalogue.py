"""The list read models (ledger.adapters.catalogue) against the events they come from.

Every writer keeps them: the API's appends, bulk COPY (the demo loader), the importer. The
migration's backfill, run on a database that has only the events, builds the same rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from contract.events import CheckedIn, decode_data
from contract.postgres import create_pool
from infra import migrate
from infra.demo import load as demo
from ledger.domain.activities import ActivityState
from ledger.domain.members import MemberState
from tests.integration.conftest import Clock, Community, register, schedule
from tests.integration.test_imports import CSV, good_file, members

Rows = dict[str, set[tuple[Any, ...]]]

_TABLES = {
    "activities": """SELECT activity_id, host_unit_id, kind, category, title, place, starts_at,
        ends_at, capacity, status FROM ledger.activity_catalogue WHERE tenant_id = $1""",
    "members": """SELECT member_id, kind, unit_id, registered_on, left_on
        FROM ledger.member_catalogue WHERE tenant_id = $1""",
    "participants": """SELECT activity_id, member_id FROM ledger.activity_participants
        WHERE tenant_id = $1""",
}


async def catalogue(connection: asyncpg.Pool | asyncpg.Connection, tenant: str) -> Rows:
    return {name: {tuple(row) for row in await connection.fetch(sql, tenant)}
            for name, sql in _TABLES.items()}


async def folded(pool: asyncpg.Pool, tenant: str) -> Rows:
    """What the catalogue should hold: every stream folded by the domain."""
    streams: dict[str, list[Any]] = defaultdict(list)
    for row in await pool.fetch(
            """SELECT stream_id, type, schema_version, data FROM ledger.events
               WHERE tenant_id = $1 AND stream_id ~ '^(activity|member)-'
               ORDER BY stream_id, version""", tenant):
        streams[row["stream_id"]].append(
            decode_data(row["type"], row["schema_version"], row["data"]))
    rows: Rows = {"activities": set(), "members": set(), "participants": set()}
    for stream_id, events in streams.items():
        if stream_id.startswith("activity-"):
            a = ActivityState.fold(events)
            assert a is not None
            rows["activities"].add((a.activity_id, a.host_unit_id, a.kind, a.category, a.title,
                                    a.place, a.starts_at, a.ends_at, a.capacity, a.status))
            rows["participants"] |= {(e.activity_id, e.member_id) for e in events
                                     if isinstance(e, CheckedIn)}
        else:
            m = MemberState.fold(events)
            assert m is not None
            rows["members"].add((m.member_id, m.kind, m.unit_id, m.registered_on, m.left_on))
    return rows


def same(kept: Rows, expected: Rows) -> None:
    for name in _TABLES:
        assert kept[name] == expected[name], name
    assert all(expected.values())  # something of each kind was kept


async def test_every_api_append_keeps_the_lists(ledger_client: httpx.AsyncClient,
                                                community: Community, clock: Clock,
                                                pool: asyncpg.Pool) -> None:
    c = community
    first = await register(ledger_client, c, "CT-1")
    second = await register(ledger_client, c, "CT-2")
    moved = await ledger_client.post(f"/api/v1/members/{second}/transfer", headers=c.admin,
                                     json={"to_unit_id": str(c.other_branch),
                                           "effective": "2024-06-01"})
    assert moved.status_code == 201, moved.text
    gone = await ledger_client.post(f"/api/v1/members/{first}/leave", headers=c.admin,
                                    json={"effective": "2024-07-01", "reason": "迁出"})
    assert gone.status_code == 201, gone.text

    held = await schedule(ledger_client, c, clock.now - timedelta(minutes=5), capacity=30)
    # Read your writes: the organiser's list shows it at once.
    listed = (await ledger_client.get("/api/v1/activities", headers=c.organiser)).json()
    assert [item["activity_id"] for item in listed["items"]] == [str(held)]
    checked_in = await ledger_client.post(f"/api/v1/activities/{held}/check-ins",
                                          headers=c.admin, json={"member_id": str(second)})
    assert checked_in.status_code == 201, checked_in.text
    closed = await ledger_client.post(f"/api/v1/activities/{held}/close", headers=c.organiser,
                                      json={})
    assert closed.status_code == 201, closed.text
    later = await schedule(ledger_client, c, clock.now + timedelta(days=3))
    moved_on = await ledger_client.post(f"/api/v1/activities/{later}/reschedule",
                                        headers=c.organiser, json={
        "starts_at": (clock.now + timedelta(days=4)).isoformat(),
        "ends_at": (clock.now + timedelta(days=4, hours=2)).isoformat(),
        "place": "社区广场", "reason": "下雨"})
    assert moved_on.status_code == 201, moved_on.text
    called_off = await schedule(ledger_client, c, clock.now + timedelta(days=5))
    cancelled = await ledger_client.post(f"/api/v1/activities/{called_off}/cancel",
                                         headers=c.organiser, json={"reason": "停电"})
    assert cancelled.status_code == 201, cancelled.text

    kept = await catalogue(pool, c.tenant)
    same(kept, await folded(pool, c.tenant))
    assert {row[-1] for row in kept["activities"]} == {"closed", "scheduled", "cancelled"}


async def test_imports_keep_the_lists(ledger_client: httpx.AsyncClient, community: Community,
                                      pool: asyncpg.Pool) -> None:
    c = community
    await members(ledger_client, c, "IM-1", "IM-2")
    imported = await ledger_client.post("/api/v1/imports", headers={**c.organiser, **CSV},
                                        content=good_file(c))
    assert imported.status_code == 201, imported.text
    kept = await catalogue(pool, c.tenant)
    same(kept, await folded(pool, c.tenant))
    assert len(kept["activities"]) == 2 and len(kept["participants"]) == 3


async def _copy_events(pool: asyncpg.Pool, target: asyncpg.Connection, tenant: str) -> None:
    columns = ["tenant_id", "event_id", "stream_id", "version", "type", "schema_version",
               "data", "metadata", "recorded_at", "hash"]
    rows = await pool.fetch(f"SELECT {', '.join(columns)} FROM ledger.events "
                            "WHERE tenant_id = $1 ORDER BY position", tenant)
    await target.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, 'x')",
                         tenant)
    await target.copy_records_to_table("events", schema_name="ledger", columns=columns,
                                        records=[tuple(row) for row in rows])


async def test_bulk_load_keeps_the_lists_and_the_migration_backfill_agrees(
        pool: asyncpg.Pool, tenant: str, database_url: str) -> None:
    await demo.load(pool, tenant, scale="demo", seed=3)
    kept = await catalogue(pool, tenant)
    same(kept, await folded(pool, tenant))

    # An existing database: the events only, as before revision 0003; then `make migrate`.
    name = f"backfill_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE DATABASE {name}")
    url = f"{database_url.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(migrate.upgrade, url, "0001")
        older = await create_pool(url, application_name="tests", max_size=2)
        try:
            async with older.acquire() as connection:
                await _copy_events(pool, connection, tenant)
            await asyncio.to_thread(migrate.upgrade, url)
            assert await catalogue(older, tenant) == kept
        finally:
            await older.close()
    finally:
        await pool.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
