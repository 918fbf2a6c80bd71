"""The projection engine: never skips a late commit, exactly once across crashes, skips
unknown event types, wakes on NOTIFY, and lets a reader wait for its own write."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import date

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from contract.events import (
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    Event,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    ParticipationCorrected,
    UnitEstablished,
    encode_data,
)
from ledger.adapters.tokens import TokenStore
from reports.adapters import checkpoints
from reports.config import Settings
from reports.entrypoints.app import create_app
from reports.service.batches import FeedGap, apply_decoded, decode_batch
from reports.service.projections import PROJECTIONS
from reports.service.runner import CHANNEL, apply_next_batch, catch_up

from .conftest import ORGANISER, History, shanghai

READ_MODELS = ("units", "unit_parents", "unit_parent_changes", "members", "memberships",
               "membership_changes", "activities", "participations", "participation_log",
               "honor_rolls", "honor_roll_objections")


async def _insert_raw(connection: asyncpg.Connection, tenant_id: str, stream: str,
                      type_name: str, data: bytes) -> int:
    """Insert an event the way the store does, inside the caller's (open) transaction."""
    version = await connection.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM ledger.events "
        "WHERE tenant_id = $1 AND stream_id = $2", tenant_id, stream)
    return await connection.fetchval(
        """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
               schema_version, data, metadata, hash)
           VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) RETURNING position""",
        tenant_id, uuid.uuid4(), stream, version, type_name, data, b'{"actor":"test"}',
        bytes(32))


def _check_in(activity: uuid.UUID, member: uuid.UUID, day: int) -> Event:
    return CheckedIn(activity_id=activity, member_id=member, participation_id=uuid.uuid4(),
                     at=shanghai(2025, 3, day), method="qr")


async def _setup(history: History) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    district = await history.unit("district", None)
    member = await history.member(district)
    first = await history.activity(district, shanghai(2025, 3, 1))
    second = await history.activity(district, shanghai(2025, 3, 2))
    return member, first, second


async def test_a_late_commit_is_not_passed_over_end_to_end(history, pool, database_url):
    member, first, second = await _setup(history)
    await history.project()
    minted = await TokenStore(pool).mint(history.tenant_id, label="t", role="client",
                                         can_write=False)
    headers = {"Authorization": f"Bearer {minted.token}"}
    app = create_app(Settings(database_url=database_url, poll_interval=0.05, max_wait=0.5))
    async with AsyncTestClient(app) as client:
        slow = await pool.acquire()
        transaction = slow.transaction()
        await transaction.start()
        try:
            late = _check_in(first, member, 1)
            late_position = await _insert_raw(slow, history.tenant_id, f"activity-{first}",
                                              "CheckedIn", encode_data(late))
            # A later transaction commits first, with a higher position.
            await history.append(f"activity-{second}", _check_in(second, member, 2))
            early_position = history.last_position
            assert early_position > late_position
            response = await client.get(f"/api/v1/members/{member}/hours",
                                        params={"wait_for": str(early_position)},
                                        headers=headers)
            # The feed cannot pass the open transaction: neither event is applied yet.
            assert response.status_code == 503
            assert response.json()["code"] == "not_yet_applied"
            async with pool.acquire() as connection:
                reached = await checkpoints.reflected(connection, "reports", history.tenant_id)
            assert reached[1] < late_position
        finally:
            await transaction.commit()
            await pool.release(slow)
        response = await client.get(f"/api/v1/members/{member}/hours",
                                    params={"wait_for": str(early_position)}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["unconfirmed"] == 2  # both check-ins, the late one included


async def _dump(pool: asyncpg.Pool, tenant_id: str,
                tables: tuple[str, ...] = READ_MODELS) -> dict[str, list[tuple]]:
    dump = {}
    for table in tables:
        rows = await pool.fetch(f"SELECT * FROM reports.{table} WHERE tenant_id = $1",
                                tenant_id)
        # Positions are global, and changes are known from the moment of each append, so
        # they differ between two tenants with the same history.
        dump[table] = sorted(tuple(str(v) for k, v in row.items()
                                   if k not in ("tenant_id", "position", "known_from"))
                             for row in rows)
    return dump


class Crash(Exception):
    pass


async def test_a_crash_mid_batch_then_a_restart_gives_the_same_read_models(history, pool):
    other = History(pool, f"t-{uuid.uuid4().hex[:12]}")
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '对照区')",
                       other.tenant_id)
    # The same history in two tenants: one projected without trouble, one crashing.
    district = uuid.UUID(int=1)
    branch, moved_to = uuid.UUID(int=2), uuid.UUID(int=3)
    members = [uuid.UUID(int=100 + i) for i in range(4)]
    activities = [uuid.UUID(int=200 + i) for i in range(3)]
    events: list[tuple[str, Event]] = [
        ("organisation", UnitEstablished(unit_id=district, kind="district", parent_id=None,
                                         name="区", effective=date(2025, 1, 1))),
        ("organisation", UnitEstablished(unit_id=branch, kind="branch", parent_id=district,
                                         name="支部", effective=date(2025, 1, 1))),
        ("organisation", UnitEstablished(unit_id=moved_to, kind="branch", parent_id=district,
                                         name="新支部", effective=date(2025, 1, 1))),
    ]
    for m in members:
        events += [(f"member-{m}", MemberRegistered(member_id=m, kind="in_service",
                                                    registered_on=date(2025, 1, 1))),
                   (f"member-{m}", MemberReported(member_id=m, unit_id=branch,
                                                  effective=date(2025, 1, 1)))]
    for n, a in enumerate(activities):
        starts = shanghai(2025, 3, 1 + n)
        events.append((f"activity-{a}", ActivityScheduled(
            activity_id=a, kind="cleanup", category="service", host_unit_id=branch,
            title="清扫", place="楼道", starts_at=starts, ends_at=starts)))
        for i, m in enumerate(members):
            p = uuid.UUID(int=1000 + 10 * n + i)
            events += [
                (f"activity-{a}", CheckedIn(activity_id=a, member_id=m, participation_id=p,
                                            at=starts, method="qr")),
                (f"activity-{a}", AttendanceConfirmed(
                    activity_id=a, member_id=m, participation_id=p, minutes=30 + i,
                    confirmed_by=ORGANISER, confirmed_at=starts)),
            ]
            if i == 0:
                events.append((f"activity-{a}", ParticipationCorrected(
                    activity_id=a, member_id=m, participation_id=p, minutes=5,
                    previous_minutes=30, reason="更正", corrected_by=ORGANISER,
                    corrected_at=starts)))
        events.append((f"member-{members[n]}", MemberTransferred(
            member_id=members[n], from_unit_id=branch, to_unit_id=moved_to,
            effective=date(2025, 3, 2))))
    for h in (history, other):
        for stream, event in events:
            await h.append(stream, event)
    await other.project()

    def crashing(at_call: int):
        calls = {"n": 0}

        def wrap(projection):
            async def save(connection, schema, tenant_id, batch):
                await projection.save(connection, schema, tenant_id, batch)
                calls["n"] += 1
                if calls["n"] == at_call:
                    raise Crash
            return replace(projection, save=save)
        return [wrap(p) for p in PROJECTIONS]

    async with pool.acquire() as connection:
        for at_call in (2, 3, 2, 3):
            projections = crashing(at_call)
            while True:
                before = await _dump(pool, history.tenant_id, (*READ_MODELS, "checkpoints"))
                try:
                    result = await apply_next_batch(connection, history.feed,
                                                    history.tenant_id, limit=7,
                                                    projections=projections)
                except Crash:
                    # The crashed batch left no trace: rows and checkpoints as before it.
                    assert await _dump(pool, history.tenant_id,
                                       (*READ_MODELS, "checkpoints")) == before
                    break
                assert result.events, "the feed ran out before the crash"
    await history.project()
    assert await _dump(pool, history.tenant_id) == await _dump(pool, other.tenant_id)


async def test_unknown_event_types_are_skipped_and_counted(history, pool):
    member, first, _ = await _setup(history)
    async with pool.acquire() as connection:
        await _insert_raw(connection, history.tenant_id, "future", "SomethingNew", b"{}")
    await history.append(f"activity-{first}", _check_in(first, member, 1))
    await history.project()
    async with pool.acquire() as connection:
        points = await checkpoints.read(connection, "reports", history.tenant_id)
    assert {p.events_skipped for p in points.values()} == {1}
    count = await pool.fetchval(
        "SELECT count(*) FROM reports.participations WHERE tenant_id = $1", history.tenant_id)
    assert count == 1


async def test_notify_wakes_the_runner(history, pool, database_url):
    member, first, _ = await _setup(history)
    await history.project()
    # Polling every minute: only the NOTIFY can bring the check-in in time.
    app = create_app(Settings(database_url=database_url, poll_interval=60))
    async with AsyncTestClient(app):
        await asyncio.sleep(0.2)  # let the runner finish its first pass and sleep
        await history.append(f"activity-{first}", _check_in(first, member, 1))
        async with pool.acquire() as connection:
            target = await history.feed.cursor_of_position(history.tenant_id,
                                                           history.last_position)
            for _ in range(100):
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL,
                                         history.tenant_id)
                if await checkpoints.reflected(connection, "reports",
                                               history.tenant_id) >= target:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the runner did not wake up on NOTIFY")


async def test_two_runners_never_apply_a_batch_twice(history, pool):
    member, first, _ = await _setup(history)
    for day in range(1, 20):
        await history.append(f"activity-{first}", _check_in(first, member, day))

    async def run() -> int:
        async with pool.acquire() as connection:
            return await catch_up(connection, history.feed, history.tenant_id, limit=3)

    counts = await asyncio.gather(run(), run(), run())
    rest = await history.project()
    async with pool.acquire() as connection:
        points = await checkpoints.read(connection, "reports", history.tenant_id)
    total = await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                                history.tenant_id)
    assert points["participation"].events_applied == 19 + 2  # check-ins + 2 scheduled
    # Every event was read by exactly one batch of one runner.
    assert sum(counts) + rest == total


async def test_a_batch_read_ahead_is_refused_if_it_would_skip_an_event(history, pool):
    """A rebuild applies batches read on another connection; one that starts after a
    checkpoint would leave the events in between out, so it is refused and writes nothing."""
    community = await history.unit("community", None)
    await history.unit("branch", community)
    async with pool.acquire() as connection:
        target = await history.feed.cursor_of_position(history.tenant_id,
                                                       history.last_position)
        for _ in range(1000):  # the feed's horizon is cluster-wide: wait for both events
            raws = await history.feed.read_batch(history.tenant_id, (0, 0), 10)
            if raws and (raws[-1][0], raws[-1][1]) == target:
                break
            await asyncio.sleep(0.02)
        first = (raws[0][0], raws[0][1])
        ahead = await decode_batch(raws[1:], first)
        with pytest.raises(FeedGap):
            await apply_decoded(connection, "reports", history.tenant_id, ahead)
        assert await checkpoints.reflected(connection, "reports", history.tenant_id) == (0, 0)
        # Read from the checkpoint, the same events apply.
        await apply_decoded(connection, "reports", history.tenant_id,
                            await decode_batch(raws, (0, 0)))
        assert await checkpoints.reflected(connection, "reports", history.tenant_id) == target
    assert await pool.fetchval("SELECT count(*) FROM reports.units WHERE tenant_id = $1",
                               history.tenant_id) == 2


async def test_wait_for_rejects_a_malformed_position(history, pool, database_url):
    await _setup(history)
    await history.project()
    minted = await TokenStore(pool).mint(history.tenant_id, label="t", role="client",
                                         can_write=False)
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        district_member = await pool.fetchval(
            "SELECT member_id FROM reports.members WHERE tenant_id = $1", history.tenant_id)
        response = await client.get(
            f"/api/v1/members/{district_member}/hours", params={"wait_for": "abc"},
            headers={"Authorization": f"Bearer {minted.token}"})
    assert response.status_code == 422 and response.json()["field"] == "wait_for"

