"""Check-ins over HTTP as a phone would send them, for the fault, truth and soak runs.

Every command carries a `command_id`; a client that gets no answer, a 5xx or a dropped
connection sends the same command again (with backoff) until it is acknowledged (2xx), so
that what a run checks afterwards is the ledger's promise: every acknowledged command is
in the store exactly once. A 4xx is a refusal and counts as an error.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg

from bench.http_load import HttpConnection
from contract.events import ActivityScheduled, MemberRegistered, MemberReported, UnitEstablished
from ledger.adapters.bulk_append import bulk_append
from ledger.adapters.directory import Organisers
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.tokens import TokenStore

TENANT = "load"
ACTIVITIES = 200


@dataclass(frozen=True)
class Seeded:
    token: str
    members: list[uuid.UUID]
    activities: list[uuid.UUID]


async def seed(pool: asyncpg.Pool, members: int, activities: int = ACTIVITIES) -> Seeded:
    """A tree, `members` reported members and `activities` activities running for the next
    day."""
    await pool.execute("INSERT INTO ledger.tenants VALUES ($1, '负载区') ON CONFLICT DO NOTHING",
                       TENANT)
    meta = Metadata(actor="load", source="cli")
    district, branch = uuid.uuid4(), uuid.uuid4()
    tree = [UnitEstablished(unit_id=district, kind="district", parent_id=None, name="新罗区",
                            effective=date(2020, 1, 1)),
            UnitEstablished(unit_id=branch, kind="branch", parent_id=district, name="第一支部",
                            effective=date(2020, 1, 1))]
    await PostgresEventStore(pool).append(
        TENANT, "organisation", NO_STREAM,
        [NewEvent(event_id=uuid.uuid4(), event=e, metadata=meta) for e in tree])
    organiser = await Organisers(pool).add(TENANT, unit_id=district, name="王书记",
                                           login="wang", password=None)
    member_ids = [uuid.uuid4() for _ in range(members)]
    now = datetime.now(UTC)
    activity_ids = [uuid.uuid4() for _ in range(activities)]

    def streams():
        for member_id in member_ids:
            yield f"member-{member_id}", NO_STREAM, [
                NewEvent(event_id=uuid.uuid4(), metadata=meta, event=MemberRegistered(
                    member_id=member_id, kind="in_service", employer="区税务局",
                    registered_on=date(2024, 1, 1))),
                NewEvent(event_id=uuid.uuid4(), metadata=meta, event=MemberReported(
                    member_id=member_id, unit_id=branch, effective=date(2024, 1, 1)))]
        for activity_id in activity_ids:
            yield f"activity-{activity_id}", NO_STREAM, [
                NewEvent(event_id=uuid.uuid4(), metadata=meta, event=ActivityScheduled(
                    activity_id=activity_id, kind="patrol", category="service",
                    host_unit_id=branch, title="红袖章巡逻", place="小区东门",
                    starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=20),
                    organiser_ids=[organiser.organiser_id]))]

    await bulk_append(pool, TENANT, streams())
    token = await TokenStore(pool).mint(TENANT, label="load", role="client", can_write=True)
    return Seeded(token.token, member_ids, activity_ids)


@dataclass
class LoadResult:
    # command id -> (activity, member) of every acknowledged check-in
    acknowledged: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    retries: int = 0
    # (monotonic time acknowledged, seconds from first send to acknowledgement)
    latencies: list[tuple[float, float]] = field(default_factory=list)


class CheckinLoad:
    """`clients` keep-alive connections checking members in, each member once; at most
    `rate` check-ins/s in all when given, as fast as answered otherwise.

    The check-ins go round 200 activities at a time. With `per_activity`, once each of them
    has that many the load moves on to the next 200 of the seeded ones, as a district's day
    moves from one patrol to the next (the soak: otherwise 200 activities would each collect
    hundreds of thousands of check-ins, which no activity has)."""

    def __init__(self, port: int, seeded: Seeded, *, clients: int, total: int,
                 rate: float | None = None, give_up_after: float = 120,
                 per_activity: int | None = None) -> None:
        if total > len(seeded.members):
            raise ValueError(f"{total} check-ins need as many members")
        self._port = port
        self._seeded = seeded
        self._clients = clients
        self._total = total
        self._rate = rate
        self._give_up_after = give_up_after
        self._per_activity = per_activity
        self._next = 0
        self._stopping = False
        self.result = LoadResult()

    def stop(self) -> None:
        self._stopping = True

    def _activity(self, index: int) -> uuid.UUID:
        running = index % ACTIVITIES
        if self._per_activity is not None:
            running += ACTIVITIES * (index // (ACTIVITIES * self._per_activity))
        return self._seeded.activities[running % len(self._seeded.activities)]

    async def run(self) -> LoadResult:
        self._started = time.monotonic()
        await asyncio.gather(*(self._client() for _ in range(self._clients)))
        return self.result

    async def _connect(self) -> HttpConnection:
        return await HttpConnection.open("127.0.0.1", self._port,
                                         {"Authorization": f"Bearer {self._seeded.token}"})

    async def _client(self) -> None:
        connection: HttpConnection | None = None
        while not self._stopping and self._next < self._total:
            index = self._next
            self._next += 1
            if self._rate is not None:
                due = self._started + index / self._rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
            member = self._seeded.members[index]
            activity = self._activity(index)
            command_id = uuid.uuid4()
            body = (b'{"member_id":"%s","method":"qr","command_id":"%s"}'
                    % (str(member).encode(), str(command_id).encode()))
            path = f"/api/v1/activities/{activity}/check-ins"
            first_sent = time.monotonic()
            delay = 0.05
            while True:
                try:
                    if connection is None:
                        connection = await self._connect()
                    status, answer = await asyncio.wait_for(
                        connection.post_json(path, body), 30)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    # Killed server, dropped or half-read connection: send it again.
                    status, answer = 0, b""
                    if connection is not None:
                        connection.abandon()
                    connection = None
                if status in (200, 201):
                    now = time.monotonic()
                    self.result.acknowledged[command_id] = (activity, member)
                    self.result.latencies.append((now, now - first_sent))
                    break
                if 400 <= status < 500:
                    self.result.refusals.append(f"{status} {answer[:200]!r}")
                    break
                if time.monotonic() - first_sent > self._give_up_after:
                    self.result.refusals.append(f"gave up after {self._give_up_after} s")
                    break
                self.result.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        if connection is not None:
            connection.abandon()
