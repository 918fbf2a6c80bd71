"""Building small ledger histories for the reports tests, through the real event store."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta

import asyncpg
import pytest

from contract.calendar import SHANGHAI
from contract.events import (
    ActivityCancelled,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    Event,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    ParticipationCorrected,
    ParticipationRevoked,
    UnitDissolved,
    UnitEstablished,
    UnitMerged,
    UnitMoved,
    encode_data,
    event_type,
)
from ledger.adapters.event_store import ANY, Metadata, NewEvent, PostgresEventStore
from reports.adapters import checkpoints
from reports.adapters.database_feed import DatabaseFeed
from reports.service.runner import catch_up

ORGANISER = uuid.UUID(int=7)


def shanghai(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


class History:
    """Appends events for one tenant; every helper returns the ids it made up."""

    def __init__(self, pool: asyncpg.Pool, tenant_id: str) -> None:
        self.pool = pool
        self.tenant_id = tenant_id
        self.store = PostgresEventStore(pool)
        self.feed = DatabaseFeed(pool)
        self.last_position = 0
        # Set it to append as if the ledger had recorded the events then; None: now.
        self.recorded_at: datetime | None = None
        # "import": as the importer and the demo's generated history append.
        self.source = "api"

    async def append(self, stream: str, *events: Event) -> list[int]:
        if self.recorded_at is not None:
            return await self._append_recorded(stream, events)
        result = await self.store.append(
            self.tenant_id, stream, ANY,
            [NewEvent(event_id=uuid.uuid4(), event=e,
                      metadata=Metadata(actor="test", source=self.source))
             for e in events],
        )
        self.last_position = result.positions[-1]
        return result.positions

    async def _append_recorded(self, stream: str, events: tuple[Event, ...]) -> list[int]:
        """The store stamps its own clock, so a back-dated recording is inserted here (the
        hash chain is not the point of these tests)."""
        positions = []
        async with self.pool.acquire() as connection:
            version = await connection.fetchval(
                "SELECT coalesce(max(version), 0) FROM ledger.events "
                "WHERE tenant_id = $1 AND stream_id = $2", self.tenant_id, stream)
            for event in events:
                version += 1
                positions.append(await connection.fetchval(
                    """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
                           schema_version, data, metadata, hash, recorded_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7,
                               jsonb_build_object('actor', 'test', 'source', $10::text), $8, $9)
                       RETURNING position""",
                    self.tenant_id, uuid.uuid4(), stream, version, event_type(event),
                    event.VERSION, encode_data(event), bytes(32), self.recorded_at,
                    self.source))
        self.last_position = positions[-1]
        return positions

    async def unit(self, kind: str, parent: uuid.UUID | None, name: str = "单位",
                   effective: date = date(2025, 1, 1)) -> uuid.UUID:
        unit_id = uuid.uuid4()
        await self.append("organisation", UnitEstablished(
            unit_id=unit_id, kind=kind, parent_id=parent, name=name, effective=effective))
        return unit_id

    async def move(self, unit_id: uuid.UUID, parent: uuid.UUID, effective: date) -> None:
        await self.append("organisation", UnitMoved(unit_id=unit_id, parent_id=parent,
                                                    effective=effective))

    async def merge(self, unit_id: uuid.UUID, into: uuid.UUID, effective: date) -> None:
        await self.append("organisation", UnitMerged(unit_id=unit_id, into_unit_id=into,
                                                     effective=effective))

    async def dissolve(self, unit_id: uuid.UUID, effective: date) -> None:
        await self.append("organisation", UnitDissolved(unit_id=unit_id, effective=effective))

    async def member(self, unit: uuid.UUID | None, *, kind: str = "in_service",
                     employer: str | None = "某公司", name: str | None = "张三明",
                     reported: date = date(2025, 1, 1)) -> uuid.UUID:
        member_id = uuid.uuid4()
        events: list[Event] = [MemberRegistered(member_id=member_id, kind=kind,
                                                employer=employer, registered_on=reported)]
        if unit is not None:
            events.append(MemberReported(member_id=member_id, unit_id=unit, effective=reported))
        await self.append(f"member-{member_id}", *events)
        await self.pool.execute(
            """INSERT INTO ledger.member_directory (tenant_id, member_id, member_number, name,
                   phone) VALUES ($1, $2, $3, $4, '13800000000')""",
            self.tenant_id, member_id, f"M{member_id.hex[:8]}", name,
        )
        return member_id

    async def transfer(self, member_id: uuid.UUID, from_unit: uuid.UUID, to_unit: uuid.UUID,
                       effective: date) -> None:
        await self.append(f"member-{member_id}", MemberTransferred(
            member_id=member_id, from_unit_id=from_unit, to_unit_id=to_unit,
            effective=effective))

    async def leave(self, member_id: uuid.UUID, effective: date) -> None:
        await self.append(f"member-{member_id}", MemberLeft(member_id=member_id,
                                                            effective=effective, reason="迁出"))

    async def activity(self, host: uuid.UUID, starts: datetime, *, kind: str = "cleanup",
                       category: str = "service", hours: float = 2, title: str = "环境整治",
                       place: str = "小区广场") -> uuid.UUID:
        activity_id = uuid.uuid4()
        await self.append(f"activity-{activity_id}", ActivityScheduled(
            activity_id=activity_id, kind=kind, category=category, host_unit_id=host,
            title=title, place=place, starts_at=starts,
            ends_at=starts + timedelta(hours=hours), organiser_ids=[ORGANISER]))
        return activity_id

    async def cancel(self, activity_id: uuid.UUID) -> None:
        await self.append(f"activity-{activity_id}", ActivityCancelled(activity_id=activity_id,
                                                                       reason="下雨"))

    async def check_in(self, activity_id: uuid.UUID, member_id: uuid.UUID,
                       at: datetime) -> uuid.UUID:
        participation_id = uuid.uuid4()
        await self.append(f"activity-{activity_id}", CheckedIn(
            activity_id=activity_id, member_id=member_id, participation_id=participation_id,
            at=at, method="qr"))
        return participation_id

    async def check_out(self, activity_id: uuid.UUID, member_id: uuid.UUID,
                        participation_id: uuid.UUID, at: datetime, auto: bool = False) -> None:
        await self.append(f"activity-{activity_id}", CheckedOut(
            activity_id=activity_id, member_id=member_id, participation_id=participation_id,
            at=at, method="qr", auto=auto))

    async def confirm(self, activity_id: uuid.UUID, member_id: uuid.UUID,
                      participation_id: uuid.UUID, minutes: int,
                      at: datetime | None = None) -> None:
        await self.append(f"activity-{activity_id}", AttendanceConfirmed(
            activity_id=activity_id, member_id=member_id, participation_id=participation_id,
            minutes=minutes, confirmed_by=ORGANISER, confirmed_at=at or shanghai(2025, 1, 1)))

    async def correct(self, activity_id: uuid.UUID, member_id: uuid.UUID,
                      participation_id: uuid.UUID, minutes: int, previous: int,
                      reason: str = "签退时间有误", at: datetime | None = None) -> None:
        await self.append(f"activity-{activity_id}", ParticipationCorrected(
            activity_id=activity_id, member_id=member_id, participation_id=participation_id,
            minutes=minutes, previous_minutes=previous, reason=reason, corrected_by=ORGANISER,
            corrected_at=at or shanghai(2025, 1, 1)))

    async def revoke(self, activity_id: uuid.UUID, member_id: uuid.UUID,
                     participation_id: uuid.UUID, at: datetime | None = None) -> None:
        await self.append(f"activity-{activity_id}", ParticipationRevoked(
            activity_id=activity_id, member_id=member_id, participation_id=participation_id,
            reason="代签", revoked_by=ORGANISER, revoked_at=at or shanghai(2025, 1, 1)))

    async def served(self, host: uuid.UUID, member_id: uuid.UUID, starts: datetime,
                     minutes: int, **activity: object) -> tuple[uuid.UUID, uuid.UUID]:
        """An activity with one confirmed participation: (activity id, participation id)."""
        activity_id = await self.activity(host, starts, **activity)
        participation_id = await self.check_in(activity_id, member_id, starts)
        await self.confirm(activity_id, member_id, participation_id, minutes)
        return activity_id, participation_id

    async def project(self) -> int:
        """Apply everything appended so far.

        The feed's horizon is cluster-wide: a transaction open anywhere on the server (a
        teammate's test session, say) holds new events back until it ends, so wait for them.
        """
        applied = 0
        async with self.pool.acquire() as connection:
            target = await self.feed.cursor_of_position(self.tenant_id, self.last_position)
            for _ in range(1000):
                applied += await catch_up(connection, self.feed, self.tenant_id)
                if target is None or await checkpoints.reflected(
                        connection, "reports", self.tenant_id) >= target:
                    return applied
                await asyncio.sleep(0.02)
        raise AssertionError("the feed did not reach the last append within 20 s")


@pytest.fixture
def history(pool: asyncpg.Pool, tenant: str) -> History:
    return History(pool, tenant)
