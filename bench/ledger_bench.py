"""Check-in appends through HTTP against two baselines, in one run on one database.

* HTTP: `POST /api/v1/activities/{id}/check-ins` on a ledger served by uvicorn in its own
  process, each request checking a different member into one of 200 running activities
  (a district's Saturday morning), at 1 and 16 concurrent clients; then 16 clients all
  checking into one activity (a burst of sign-ups).
* The framework anchor: the same request to a bare Litestar endpoint on the same uvicorn
  flags (`bench.bare_endpoint`: decode, one INSERT, answer), and to the same endpoint
  behind the ledger's door (request log and id, CSRF middleware, the access guard
  verifying the token, the strict body check, problem handlers, security headers, the
  caller as a dependency: `door_endpoint_*`). At 16 clients the check-in, the two anchors
  and the raw INSERT alternate over three rounds, and the ratios are printed per round
  and for the median round.
  Requests come from `bench.http_load`, a lean keep-alive client, so that the load
  generator's own CPU does not cap the figures.
* Raw baseline: plain asyncpg single-row INSERT + COMMIT of an event-sized row into a table
  shaped like ledger.events, at the same concurrencies.
* Group commit against one round trip per call: a second ledger with `GROUP_COMMIT=0` takes
  the same load in the same rounds (`http_checkin_ungrouped_*`).

Prints one JSON object per line: {"name", "value", "unit"}. The load generator shares the
machine's two cores with the server and PostgreSQL, as it would on a small deployment.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import psutil
import uvloop

from bench.bare_endpoint import CREATE_RAW_EVENTS
from bench.harness import emit, scratch_database
from bench.http_load import HttpConnection
from contract.events import ActivityScheduled, MemberRegistered, MemberReported, UnitEstablished
from contract.postgres import create_pool
from ledger.adapters.directory import Organisers
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.tokens import TokenStore

TENANT = "bench"
ACTIVITIES = 200
REQUESTS = {1: 1500, 16: 4000}
BURST = 2000
ROUNDS = 3
LEDGER_APP = "ledger.entrypoints.app:create_app"
BARE_APP = "bench.bare_endpoint:create_app"
DOOR_APP = "bench.bare_endpoint:create_door_app"


async def seed(pool: asyncpg.Pool, members: int, tenant: str = TENANT
               ) -> tuple[str, list[uuid.UUID], list[uuid.UUID]]:
    """A tree, `members` reported members and running activities; returns a write token
    (also used by bench.workers_bench and tests/integration/test_serving.py)."""
    await pool.execute("INSERT INTO ledger.tenants VALUES ($1, '基准区') ON CONFLICT DO NOTHING",
                       tenant)
    store = PostgresEventStore(pool)
    meta = Metadata(actor="bench", source="cli")
    district, street, community, branch = (uuid.uuid4() for _ in range(4))
    tree = [
        UnitEstablished(unit_id=district, kind="district", parent_id=None, name="新罗区",
                        effective=date(2020, 1, 1)),
        UnitEstablished(unit_id=street, kind="street", parent_id=district, name="东城街道",
                        effective=date(2020, 1, 1)),
        UnitEstablished(unit_id=community, kind="community", parent_id=street, name="兴华南里",
                        effective=date(2020, 1, 1)),
        UnitEstablished(unit_id=branch, kind="branch", parent_id=community, name="第一支部",
                        effective=date(2020, 1, 1)),
    ]
    await store.append(tenant, "organisation", NO_STREAM,
                       [NewEvent(event_id=uuid.uuid4(), event=e, metadata=meta) for e in tree])
    member_ids = [uuid.uuid4() for _ in range(members)]

    async def add_member(member_id: uuid.UUID) -> None:
        await store.append(tenant, f"member-{member_id}", NO_STREAM, [
            NewEvent(event_id=uuid.uuid4(), metadata=meta, event=MemberRegistered(
                member_id=member_id, kind="in_service", employer="区税务局",
                registered_on=date(2024, 1, 1))),
            NewEvent(event_id=uuid.uuid4(), metadata=meta, event=MemberReported(
                member_id=member_id, unit_id=branch, effective=date(2024, 1, 1))),
        ])

    organiser = await Organisers(pool).add(tenant, unit_id=community, name="王书记",
                                           login="wang", password=None)
    now = datetime.now(UTC)
    activity_ids = [uuid.uuid4() for _ in range(ACTIVITIES + 1)]

    async def add_activity(activity_id: uuid.UUID) -> None:
        await store.append(tenant, f"activity-{activity_id}", NO_STREAM, [
            NewEvent(event_id=uuid.uuid4(), metadata=meta, event=ActivityScheduled(
                activity_id=activity_id, kind="patrol", category="service",
                host_unit_id=branch, title="红袖章巡逻", place="小区东门",
                starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=4),
                organiser_ids=[organiser.organiser_id]))])

    for chunk in range(0, members, 200):
        await asyncio.gather(*(add_member(m) for m in member_ids[chunk:chunk + 200]))
    await asyncio.gather(*(add_activity(a) for a in activity_ids))
    token = await TokenStore(pool).mint(tenant, label="bench", role="client", can_write=True)
    return token.token, member_ids, activity_ids


def _serve(app: str, database_url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--timeout-keep-alive", "60",
         "--workers", os.environ.get("LEDGER_WORKERS", "1")],
        env={**os.environ, "DATABASE_URL": database_url, **env},
    )


async def _wait_until_up(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                # Any answer will do: the bare endpoint has no /health.
                await client.get(f"{base}/health")
                return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the ledger did not start")


async def drive(concurrency: int, jobs: list[Callable[[], Awaitable[None]]]
                 ) -> tuple[float, list[float]]:
    """Run jobs with `concurrency` workers; returns (elapsed seconds, latencies)."""
    queue = list(reversed(jobs))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            job = queue.pop()
            started = time.perf_counter()
            await job()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def report(prefix: str, concurrency: int, elapsed: float, latencies: list[float]) -> float:
    rate = len(latencies) / elapsed
    cuts = statistics.quantiles(latencies, n=100)
    emit(f"{prefix}_c{concurrency}_throughput", round(rate, 1), "events/s")
    emit(f"{prefix}_c{concurrency}_p50", round(cuts[49] * 1000, 2), "ms")
    emit(f"{prefix}_c{concurrency}_p99", round(cuts[98] * 1000, 2), "ms")
    return rate


async def _http(port: int, token: str, members: list[uuid.UUID],
                activities: list[uuid.UUID], concurrency: int, offset: int,
                server: psutil.Process, burst: bool = False,
                name: str = "http_checkin") -> tuple[float, float]:
    headers = {"Authorization": f"Bearer {token}"}
    connections = [await HttpConnection.open("127.0.0.1", port, headers)
                   for _ in range(concurrency)]
    idle = list(connections)
    failures: list[str] = []

    def job(i: int) -> Callable[[], Awaitable[None]]:
        member = members[offset + i]
        activity = activities[-1] if burst else activities[i % ACTIVITIES]
        path = f"/api/v1/activities/{activity}/check-ins"
        body = (b'{"member_id":"%s","method":"qr","command_id":"%s"}'
                % (str(member).encode(), str(uuid.uuid4()).encode()))

        async def run() -> None:
            connection = idle.pop()
            try:
                # As a phone does: a dropped connection is retried with the same command
                # id, which the ledger answers with the original result.
                for attempt in range(3):
                    try:
                        status, answer = await connection.post_json(path, body)
                        break
                    except (OSError, asyncio.IncompleteReadError):
                        if attempt == 2:
                            raise
                        connection = await HttpConnection.open("127.0.0.1", port, headers)
                if status not in (200, 201):
                    failures.append(f"{status} {answer[:200]!r}")
            finally:
                idle.append(connection)

        return run

    count = REQUESTS[concurrency] if not burst else BURST
    cpu_before = sum(server.cpu_times()[:2])
    elapsed, latencies = await drive(concurrency, [job(i) for i in range(count)])
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    for connection in idle:
        await connection.close()
    if failures:
        raise RuntimeError(f"{len(failures)} check-ins failed, e.g. {failures[0]}")
    name = f"{name}_burst_one_activity" if burst else name
    rate = report(name, concurrency, elapsed, latencies)
    # Where the time goes: the ledger process's own CPU per request.
    emit(f"{name}_c{concurrency}_server_cpu_per_request", round(cpu / count * 1000, 3), "ms")
    return rate, statistics.quantiles(latencies, n=100)[98] * 1000


async def _raw(pool: asyncpg.Pool, concurrency: int) -> float:
    """Single-row INSERT + COMMIT of an event-sized row: the floor under any append."""
    data = (b'{"activity_id":"%s","member_id":"%s","participation_id":"%s",'
            b'"at":"2026-11-22T09:00:00+08:00","method":"qr","flags":[]}')
    jobs = []
    for _ in range(REQUESTS[concurrency]):
        ids = tuple(str(uuid.uuid4()).encode() for _ in range(3))

        async def run(ids: tuple[bytes, ...] = ids) -> None:
            async with pool.acquire() as connection:
                await connection.execute(
                    """INSERT INTO raw_events (tenant_id, event_id, stream_id, version, type,
                           schema_version, data, metadata, hash)
                       VALUES ($1, $2, $3, 1, 'CheckedIn', 1, $4, $5, $6)""",
                    TENANT, uuid.uuid4(), f"activity-{uuid.uuid4()}", data % ids,
                    b'{"actor":"bench"}', os.urandom(32))

        jobs.append(run)
    elapsed, latencies = await drive(concurrency, jobs)
    return report("raw_insert_commit", concurrency, elapsed, latencies)


async def main() -> None:
    async with scratch_database("ledger_bench") as database_url:
        pool = await create_pool(database_url, application_name="bench", max_size=20)
        members_needed = REQUESTS[1] + ROUNDS * 2 * REQUESTS[16] + 2 * BURST
        token, members, activities = await seed(pool, members_needed)
        await pool.execute(CREATE_RAW_EVENTS)
        port = 18000 + os.getpid() % 1000
        # The ledger twice: with group commit (the default) and with one round trip per
        # append and read (GROUP_COMMIT=0), alternating in the same rounds.
        servers = {"ledger": _serve(LEDGER_APP, database_url, port),
                   "bare": _serve(BARE_APP, database_url, port + 1),
                   "single": _serve(LEDGER_APP, database_url, port + 2, GROUP_COMMIT="0"),
                   "door": _serve(DOOR_APP, database_url, port + 3)}
        try:
            for offset in range(4):
                await _wait_until_up(f"http://127.0.0.1:{port + offset}")
            ledger, bare, single, door = (psutil.Process(servers[k].pid)
                                          for k in ("ledger", "bare", "single", "door"))
            raw = await _raw(pool, 1)
            http, _ = await _http(port, token, members, activities, 1, 0, ledger)
            emit("http_vs_raw_c1_ratio", round(http / raw, 3), "x")
            offset = REQUESTS[1]
            rounds = []
            for round_number in range(1, ROUNDS + 1):
                raw = await _raw(pool, 16)
                anchor, _ = await _http(port + 1, token, members, activities, 16, offset,
                                        bare, name="bare_endpoint")
                behind_door, _ = await _http(port + 3, token, members, activities, 16, offset,
                                             door, name="door_endpoint")
                http, p99 = await _http(port, token, members, activities, 16, offset, ledger)
                offset += REQUESTS[16]
                alone, _ = await _http(port + 2, token, members, activities, 16, offset,
                                       single, name="http_checkin_ungrouped")
                offset += REQUESTS[16]
                emit(f"round{round_number}_checkin_vs_bare_c16_ratio",
                     round(http / anchor, 3), "x")
                emit(f"round{round_number}_checkin_vs_raw_c16_ratio", round(http / raw, 3), "x")
                emit(f"round{round_number}_door_vs_bare_c16_ratio",
                     round(behind_door / anchor, 3), "x")
                emit(f"round{round_number}_checkin_vs_door_c16_ratio",
                     round(http / behind_door, 3), "x")
                emit(f"round{round_number}_grouped_vs_ungrouped_c16_ratio",
                     round(http / alone, 3), "x")
                rounds.append((http / anchor, http / raw, p99, http, behind_door / anchor,
                               http / behind_door))
            burst, _ = await _http(port, token, members, activities, 16, offset, ledger,
                                   burst=True)
            await _http(port + 2, token, members, activities, 16, offset + BURST, single,
                        burst=True, name="http_checkin_ungrouped")
            vs_bare, vs_raw, p99, spread, door_vs_bare, vs_door = sorted(rounds)[len(rounds) // 2]
            emit("checkin_vs_bare_c16_ratio_median_round", round(vs_bare, 3), "x")
            emit("door_vs_bare_c16_ratio_median_round", round(door_vs_bare, 3), "x")
            emit("checkin_vs_door_c16_ratio_median_round", round(vs_door, 3), "x")
            emit("checkin_vs_raw_c16_ratio_median_round", round(vs_raw, 3), "x")
            emit("burst_vs_spread_c16_ratio", round(burst / spread, 3), "x")
            emit("target_checkin_c16_at_least_0.9x_bare", vs_bare >= 0.9, "bool")
            emit("target_checkin_c16_p99_at_most_50ms", p99 <= 50, "bool")
            emit("target_grouped_checkin_c16_at_least_0.5x_raw", vs_raw >= 0.5, "bool")
            emit("target_burst_at_least_0.8x_spread", burst / spread >= 0.8, "bool")
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(10)
            await pool.close()


if __name__ == "__main__":
    uvloop.run(main())
