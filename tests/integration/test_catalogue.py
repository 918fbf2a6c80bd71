"""The list read models (ledger.adapters.catalogue) against the events they come from.

Every writer keeps them: the API's appends, bulk COPY (the demo loader), the importer. The
migrations' backfills, run on a database that has only the events, build the same rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from contract.events import (
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    CorrectionRequested,
    Event,
    HonorRollEntry,
    HonorRollObjectionRecorded,
    HonorRollPublished,
    ParticipationCorrected,
    ParticipationRevoked,
    decode_data,
)
from contract.postgres import create_pool
from infra import migrate
from infra.demo import load as demo
from ledger.adapters.bulk_append import bulk_append
from ledger.adapters.event_store import ANY, NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.domain.activities import ActivityState
from ledger.domain.members import MemberState
from ledger.imports.plan import activity_id
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
    "requests": """SELECT request_id, activity_id, host_unit_id, member_id, participation_id,
        reason, requested_minutes, requested_at, status, answered_at, answer
        FROM ledger.correction_requests WHERE tenant_id = $1""",
    "rolls": """SELECT unit_id, month, rule_set, rule_version, published_at, publicity_ends,
        entry_count, objection_count FROM ledger.honor_roll_catalogue WHERE tenant_id = $1""",
}
# How a later event of the participation answers a request, and when.
_ANSWERS = {ParticipationCorrected: ("corrected", "corrected_at"),
            ParticipationRevoked: ("revoked", "revoked_at"),
            AttendanceConfirmed: ("confirmed", "confirmed_at")}


async def catalogue(connection: asyncpg.Pool | asyncpg.Connection, tenant: str) -> Rows:
    return {name: {tuple(row) for row in await connection.fetch(sql, tenant)}
            for name, sql in _TABLES.items()}


def _requests(activity: ActivityState, events: list[tuple[uuid.UUID, Event]]
              ) -> set[tuple[Any, ...]]:
    """A request is open until the next correction, revocation or confirmation of its
    record in the stream."""
    rows: dict[uuid.UUID, list[Any]] = {}
    for event_id, e in events:
        if isinstance(e, CorrectionRequested):
            rows[event_id] = [event_id, e.activity_id, activity.host_unit_id, e.member_id,
                              e.participation_id, e.reason, e.requested_minutes,
                              e.requested_at, "open", None, None]
        elif type(e) in _ANSWERS:
            answer, at = _ANSWERS[type(e)]
            for row in rows.values():
                if row[4] == e.participation_id and row[8] == "open":
                    row[8:] = ["answered", getattr(e, at), answer]
    return {tuple(row) for row in rows.values()}


async def folded(pool: asyncpg.Pool, tenant: str) -> Rows:
    """What the catalogue should hold: every stream folded by the domain."""
    streams: dict[str, list[tuple[uuid.UUID, Any]]] = defaultdict(list)
    for row in await pool.fetch(
            """SELECT stream_id, event_id, type, schema_version, data FROM ledger.events
               WHERE tenant_id = $1 AND stream_id ~ '^(activity|member|honor-roll)-'
               ORDER BY stream_id, version""", tenant):
        streams[row["stream_id"]].append(
            (row["event_id"], decode_data(row["type"], row["schema_version"], row["data"])))
    rows: Rows = {name: set() for name in _TABLES}
    for stream_id, stored in streams.items():
        events = [event for _id, event in stored]
        if stream_id.startswith("activity-"):
            a = ActivityState.fold(events)
            assert a is not None
            rows["activities"].add((a.activity_id, a.host_unit_id, a.kind, a.category, a.title,
                                    a.place, a.starts_at, a.ends_at, a.capacity, a.status))
            rows["participants"] |= {(e.activity_id, e.member_id) for e in events
                                     if isinstance(e, CheckedIn)}
            rows["requests"] |= _requests(a, stored)
        elif stream_id.startswith("honor-roll-"):
            published, *objections = events
            assert isinstance(published, HonorRollPublished)
            assert all(isinstance(e, HonorRollObjectionRecorded) for e in objections)
            rows["rolls"].add((published.unit_id, published.month, published.rule_set,
                               published.rule_version, published.published_at,
                               published.publicity_ends, len(published.entries),
                               len(objections)))
        else:
            m = MemberState.fold(events)
            assert m is not None
            rows["members"].add((m.member_id, m.kind, m.unit_id, m.registered_on, m.left_on))
    return rows


def same(kept: Rows, expected: Rows, *empty: str) -> None:
    """The tables hold what the events say, and something of each kind but `empty`."""
    for name in _TABLES:
        assert kept[name] == expected[name], name
        assert bool(expected[name]) != (name in empty), name


def answers(kept: Rows) -> list[str | None]:
    """How each request was answered, open ones (None) last."""
    return sorted((row[-1] for row in kept["requests"]), key=lambda a: (a is None, a or ""))


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
    others = [await register(ledger_client, c, number) for number in ("CT-3", "CT-4")]
    records = [checked_in.json()["created_id"]]
    for member in others:
        answer = await ledger_client.post(f"/api/v1/activities/{held}/check-ins",
                                          headers=c.admin, json={"member_id": str(member)})
        assert answer.status_code == 201, answer.text
        records.append(answer.json()["created_id"])
    people = [second, *others]

    async def ask(index: int, minutes: int | None = None) -> None:
        asked = await ledger_client.post(
            f"/api/v1/activities/{held}/correction-requests", headers=c.admin,
            json={"participation_id": records[index], "member_id": str(people[index]),
                  "reason": "少记了时间", "requested_minutes": minutes})
        assert asked.status_code == 201, asked.text

    async def organiser(action: str, body: dict[str, Any]) -> None:
        answer = await ledger_client.post(f"/api/v1/activities/{held}/{action}",
                                          headers=c.organiser, json=body)
        assert answer.status_code == 201, answer.text

    await ask(0, 90)  # before the record is confirmed: the confirmation answers it
    clock.advance(minutes=60)
    await organiser("close", {})
    await organiser("confirmations", {"confirmations": [{"participation_id": records[0]}]})
    await ask(0, 30)
    await organiser("corrections", {"participation_id": records[0], "minutes": 30,
                                    "reason": "核实"})
    await ask(1)
    await organiser("revocations", {"participation_id": records[1], "reason": "代签"})
    await ask(2, 45)  # left open
    later = await schedule(ledger_client, c, clock.now + timedelta(days=3))
    moved_on = await ledger_client.post(f"/api/v1/activities/{later}/reschedule",
                                        headers=c.organiser, json={
        "starts_at": (clock.now + timedelta(days=4)).isoformat(),
        "ends_at": (clock.now + timedelta(days=4, hours=2)).isoformat(),
        "place": "社区广场", "reason": "下雨"})
    assert moved_on.status_code == 201, moved_on.text
    # A limit set, then lifted: the row's capacity becomes NULL again, the title stays.
    for body in ({"title": "周末大扫除", "capacity": 12, "reason": "改名并限人数"},
                 {"capacity": None, "reason": "不限人数"}):
        revised = await ledger_client.post(f"/api/v1/activities/{later}/revise",
                                           headers=c.organiser, json=body)
        assert revised.status_code == 201, revised.text
    called_off = await schedule(ledger_client, c, clock.now + timedelta(days=5))
    cancelled = await ledger_client.post(f"/api/v1/activities/{called_off}/cancel",
                                         headers=c.organiser, json={"reason": "停电"})
    assert cancelled.status_code == 201, cancelled.text

    kept = await catalogue(pool, c.tenant)
    same(kept, await folded(pool, c.tenant), "rolls")
    assert {row[-1] for row in kept["activities"]} == {"closed", "scheduled", "cancelled"}
    assert {(row[4], row[8]) for row in kept["activities"] if row[0] == later} == {
        ("周末大扫除", None)}
    assert answers(kept) == ["confirmed", "corrected", "revoked", None]


async def test_imports_keep_the_lists(ledger_client: httpx.AsyncClient, community: Community,
                                      pool: asyncpg.Pool) -> None:
    c = community
    await members(ledger_client, c, "IM-1", "IM-2")
    imported = await ledger_client.post("/api/v1/imports", headers={**c.organiser, **CSV},
                                        content=good_file(c))
    assert imported.status_code == 201, imported.text
    # Imported records are confirmed as they are written; a request filed later is open
    # until the organiser answers it.
    cleanup = activity_id(c.tenant, "2025-03-cleanup")
    url = f"/api/v1/activities/{cleanup}"
    records = (await ledger_client.get(url, headers=c.reader)).json()["participations"]
    for record in records:
        asked = await ledger_client.post(f"{url}/correction-requests", headers=c.admin, json={
            "participation_id": record["participation_id"], "member_id": record["member_id"],
            "reason": "导入的时长有误", "requested_minutes": 30})
        assert asked.status_code == 201, asked.text
    corrected = await ledger_client.post(f"{url}/corrections", headers=c.organiser, json={
        "participation_id": records[0]["participation_id"], "minutes": 30, "reason": "核实"})
    assert corrected.status_code == 201, corrected.text
    kept = await catalogue(pool, c.tenant)
    same(kept, await folded(pool, c.tenant), "rolls")
    assert len(kept["activities"]) == 2 and len(kept["participants"]) == 3
    assert answers(kept) == ["corrected", None]


async def _copy_events(pool: asyncpg.Pool, target: asyncpg.Connection, tenant: str) -> None:
    columns = ["tenant_id", "event_id", "stream_id", "version", "type", "schema_version",
               "data", "metadata", "recorded_at", "hash"]
    rows = await pool.fetch(f"SELECT {', '.join(columns)} FROM ledger.events "
                            "WHERE tenant_id = $1 ORDER BY position", tenant)
    await target.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, 'x')",
                         tenant)
    await target.copy_records_to_table("events", schema_name="ledger", columns=columns,
                                        records=[tuple(row) for row in rows])


def _new(event: Event) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), event=event,
                    metadata=Metadata(actor="test", source="import"))


def _roll(unit: uuid.UUID, month: str, members: list[uuid.UUID]) -> HonorRollPublished:
    return HonorRollPublished(
        unit_id=unit, month=month, rule_set="standard", rule_version=1,
        computed_at_position="1-1", published_by=uuid.uuid4(),
        entries=[HonorRollEntry(rank=i, member_id=m, minutes=600 - i, activities=2)
                 for i, m in enumerate(members, start=1)],
        published_at=datetime(2026, 2, 3, 2, 0, tzinfo=UTC), publicity_ends=date(2026, 2, 10))


def _objection(unit: uuid.UUID, month: str) -> HonorRollObjectionRecorded:
    return HonorRollObjectionRecorded(unit_id=unit, month=month, objection="有误",
                                      recorded_by=uuid.uuid4(),
                                      recorded_at=datetime(2026, 2, 4, tzinfo=UTC))


def _records(unit: uuid.UUID, member: uuid.UUID) -> tuple[uuid.UUID, list[Event]]:
    """A new activity's scheduling, one member's check-in and out, and its confirmation."""
    activity, participation = uuid.uuid4(), uuid.uuid4()
    start = datetime(2026, 1, 10, 1, 0, tzinfo=UTC)
    ids = {"activity_id": activity, "member_id": member, "participation_id": participation}
    return activity, [
        ActivityScheduled(activity_id=activity, kind="cleanup", category="service",
                          host_unit_id=unit, title="清扫", place="院内", starts_at=start,
                          ends_at=start + timedelta(hours=2)),
        CheckedIn(**ids, at=start, method="import"),
        CheckedOut(**ids, at=start + timedelta(hours=1), method="import"),
        AttendanceConfirmed(**ids, minutes=60, confirmed_by=uuid.uuid4(),
                            confirmed_at=start + timedelta(days=1)),
    ]


def _request(events: list[Event], minutes: int | None) -> CorrectionRequested:
    checked_in = events[1]
    assert isinstance(checked_in, CheckedIn)
    return CorrectionRequested(activity_id=checked_in.activity_id,
                               member_id=checked_in.member_id,
                               participation_id=checked_in.participation_id, reason="少记了",
                               requested_minutes=minutes,
                               requested_at=checked_in.at + timedelta(hours=3))


async def _bulk_requests_and_rolls(pool: asyncpg.Pool, tenant: str) -> None:
    """Requests answered within one batch and across batches, one left open, and rolls
    with objections in the batch that publishes them and in a later one."""
    unit, member = await pool.fetchrow(
        """SELECT m.unit_id, m.member_id FROM ledger.member_catalogue m
           WHERE m.tenant_id = $1 AND m.unit_id IS NOT NULL LIMIT 1""", tenant)
    first, one = _records(unit, member)
    second, other = _records(unit, member)
    roll = f"honor-roll-{unit}-2026-01"
    entries = [
        # One stream, split: the confirmation in the next batch answers the request.
        (f"activity-{first}", NO_STREAM, [_new(e) for e in (*one[:2], _request(one, 90))]),
        (f"activity-{first}", 3, [_new(e) for e in (*one[2:], _request(one, None))]),
        (f"activity-{second}", NO_STREAM,
         [_new(e) for e in (*other[:3], _request(other, 120), other[3])]),
        (roll, NO_STREAM, [_new(_roll(unit, "2026-01", [member])),
                           _new(_objection(unit, "2026-01")), _new(_objection(unit, "2026-01"))]),
        (roll, ANY, [_new(_objection(unit, "2026-01"))]),
        (f"honor-roll-{unit}-2025-12", NO_STREAM, [_new(_roll(unit, "2025-12", []))]),
    ]
    result = await bulk_append(pool, tenant, entries, batch_size=1)
    assert result.batches == len(entries)


async def test_appends_keep_the_honor_roll_list(pool: asyncpg.Pool, tenant: str) -> None:
    store = PostgresEventStore(pool)
    unit, members = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    stream = f"honor-roll-{unit}-2026-01"
    await store.append(tenant, stream, NO_STREAM, [_new(_roll(unit, "2026-01", members))])
    await store.append(tenant, stream, 1, [_new(_objection(unit, "2026-01"))])
    await store.append(tenant, stream, 2, [_new(_objection(unit, "2026-01")),
                                           _new(_objection(unit, "2026-01"))])
    await store.append(tenant, f"honor-roll-{unit}-2026-02", NO_STREAM,
                       [_new(_roll(unit, "2026-02", members)), _new(_objection(unit, "2026-02"))])
    kept = await catalogue(pool, tenant)
    same(kept, await folded(pool, tenant), "activities", "members", "participants", "requests")
    assert sorted((row[1], row[-2], row[-1]) for row in kept["rolls"]) == [
        ("2026-01", 2, 3), ("2026-02", 2, 1)]


async def test_bulk_load_keeps_the_lists_and_the_migration_backfill_agrees(
        pool: asyncpg.Pool, tenant: str, database_url: str) -> None:
    await demo.load(pool, tenant, scale="demo", seed=3)
    await _bulk_requests_and_rolls(pool, tenant)
    kept = await catalogue(pool, tenant)
    same(kept, await folded(pool, tenant))
    assert set(answers(kept)) == {"corrected", "confirmed", None}
    assert sorted(row[-1] for row in kept["rolls"]) == [0, 3]

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
