"""The reports service's benchmark, on the generated district (新罗区, over a million events).

In one run, on one database:

* the raw baseline: every event of the tenant read with an asyncpg cursor, in feed order
  (the median of three passes);
* `reports rebuild` in its own process: events/s (and the ratio to the raw read), the
  process's peak RSS, and the CPU time it used (start-up included) next to its wall time,
  which tells a busy machine's run from a quiet one's;
* `reports serve` in its own process (runner included): member-hours and honor-roll
  requests over HTTP, p50/p95;
* lag from append to visible in the reports at 500 appends/s (check-ins appended through
  the ledger's event store, which sends the ledger's NOTIFY): p50/p99.

The district takes a while to generate and load, so the database (`reports_bench` on the
embedded or DATABASE_URL's server) is kept between runs and loaded only when short of
events. Prints one JSON object per line: {"name", "value", "unit"}.

    python -m bench.reports_bench [--scale district|demo] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.harness import emit
from contract.events import ActivityScheduled, CheckedIn
from contract.postgres import create_pool
from infra import migrate, postgres
from infra.demo import load as demo
from ledger.adapters.event_store import ANY, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.notifier import FeedNotifier
from ledger.adapters.tokens import TokenStore

DATABASE = "reports_bench"
TENANT = "xinluo"
MIN_EVENTS = {"district": 1_000_000, "demo": 1}
APPENDS_PER_SECOND = 500
WRITERS = 10
RAW_READS = 3


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def prepare(scale: str, database: str) -> str:
    server_url = postgres.database_url()
    base, _, _ = server_url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f"CREATE DATABASE {database}")
    finally:
        await admin.close()
    url = f"{base}/{database}"
    await asyncio.to_thread(migrate.upgrade, url)
    pool = await create_pool(url, application_name="reports-bench", min_size=1, max_size=4)
    try:
        have = await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                                   TENANT)
        if have < MIN_EVENTS[scale]:
            print(f"loading the {scale} district (once; kept in {database})…",
                  file=sys.stderr, flush=True)
            await demo.load(pool, TENANT, scale=scale, seed=1,
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        await pool.close()
    return url


async def raw_read(url: str) -> tuple[int, float]:
    connection = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        count = 0
        async with connection.transaction():
            async for _ in connection.cursor(
                """SELECT e.txid::text::bigint AS txid, e.position, e.type, e.schema_version,
                          e.data, e.recorded_at
                   FROM ledger.events e WHERE e.tenant_id = $1 ORDER BY e.txid, e.position""",
                TENANT, prefetch=5000,
            ):
                count += 1
        return count, time.perf_counter() - started
    finally:
        await connection.close()


def rebuild(url: str) -> dict:
    """`reports rebuild` as a child process; it reports its own peak resident set (VmHWM:
    wait4's ru_maxrss for a forked child includes the resident set of this process, which
    holds the generated district, at the fork). Adds the CPU seconds the child used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.run(
        [sys.executable, "-m", "reports.entrypoints.cli", "rebuild", "--json"],
        env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode:
        raise RuntimeError(f"reports rebuild exited with {child.returncode}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["cpu_seconds"] = round(after.ru_utime + after.ru_stime
                                  - before.ru_utime - before.ru_stime, 2)
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the reports server did not start")


async def _timed(client: httpx.AsyncClient, paths: list[str], headers: dict) -> list[float]:
    for path in paths[:20]:  # warm-up: connections, prepared statements
        (await client.get(path, headers=headers)).raise_for_status()
    timings = []
    for path in paths:
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


async def http_latency(pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
    minted = await TokenStore(pool).mint(TENANT, label="bench", role="client", can_write=False)
    headers = {"Authorization": f"Bearer {minted.token}"}
    members = [r["member_id"] for r in await pool.fetch(
        "SELECT member_id FROM reports.members WHERE tenant_id = $1 ORDER BY random() LIMIT 300",
        TENANT)]
    communities = [r["unit_id"] for r in await pool.fetch(
        """SELECT unit_id FROM reports.units WHERE tenant_id = $1 AND kind = 'community'
           ORDER BY random() LIMIT 30""", TENANT)]
    months = [r["month"] for r in await pool.fetch(
        """SELECT DISTINCT to_char(local_date, 'YYYY-MM') AS month FROM reports.activities
           WHERE tenant_id = $1""", TENANT)]
    rng = random.Random(1)
    for name, paths in (
        ("member_hours", [f"/api/v1/members/{m}/hours" for m in members]),
        ("honor_roll", [f"/api/v1/units/{rng.choice(communities)}/honor-rolls/"
                        f"{rng.choice(months)}" for _ in range(300)]),
        ("unit_activity", [f"/api/v1/units/{rng.choice(communities)}/activity?month="
                           f"{rng.choice(months)}" for _ in range(300)]),
        # As of the month's 20th: the tree and memberships as then known, replayed.
        ("unit_activity_as_of", [f"/api/v1/units/{rng.choice(communities)}/activity?month="
                                 f"{month}&as_of={month}-20"
                                 for month in (rng.choice(months) for _ in range(300))]),
    ):
        timings = await _timed(client, paths, headers)
        emit(f"reports.http.{name}.p50", round(statistics.median(timings), 2), "ms")
        emit(f"reports.http.{name}.p95", round(_percentile(timings, 0.95), 2), "ms")


async def append_lag(pool: asyncpg.Pool, seconds: float) -> None:
    """Check-ins at 500/s through the ledger's store (and its NOTIFY); when each is visible."""
    notifier = FeedNotifier(pool)
    await notifier.start()
    store = PostgresEventStore(pool, on_append=notifier.appended)
    members = [r["member_id"] for r in await pool.fetch(
        "SELECT member_id FROM reports.members WHERE tenant_id = $1 LIMIT 1000", TENANT)]
    host = await pool.fetchval(
        "SELECT unit_id FROM reports.units WHERE tenant_id = $1 AND kind = 'community' LIMIT 1",
        TENANT)
    now = datetime.now(UTC)
    activities = []
    for _ in range(WRITERS):
        activity_id = uuid.uuid4()
        await store.append(TENANT, f"activity-{activity_id}", ANY, [NewEvent(
            event_id=uuid.uuid4(), metadata=Metadata(actor="bench"),
            event=ActivityScheduled(activity_id=activity_id, kind="patrol", category="service",
                                    host_unit_id=host, title="压测巡逻", place="压测",
                                    starts_at=now, ends_at=now))])
        activities.append(activity_id)
    appended: dict[int, float] = {}
    visible: dict[int, float] = {}
    done = asyncio.Event()

    async def writer(activity_id: uuid.UUID) -> None:
        interval = WRITERS / APPENDS_PER_SECOND
        next_at = time.perf_counter()
        rng = random.Random(str(activity_id))
        while not done.is_set():
            result = await store.append(TENANT, f"activity-{activity_id}", ANY, [NewEvent(
                event_id=uuid.uuid4(), metadata=Metadata(actor="bench"),
                event=CheckedIn(activity_id=activity_id, member_id=rng.choice(members),
                                participation_id=uuid.uuid4(), at=datetime.now(UTC),
                                method="qr"))])
            appended[result.positions[0]] = time.perf_counter()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def observer() -> None:
        async with pool.acquire() as connection:
            statement = await connection.prepare(
                """SELECT e.position FROM ledger.events e,
                       (SELECT txid, position FROM reports.checkpoints WHERE tenant_id = $1
                        ORDER BY txid, position LIMIT 1) c
                   WHERE e.tenant_id = $1 AND e.position = ANY($2::bigint[])
                     AND (e.txid::text::bigint, e.position) <= (c.txid, c.position)""")
            while not done.is_set() or len(visible) < len(appended):
                pending = [p for p in appended if p not in visible]
                if pending:
                    seen = await statement.fetch(TENANT, pending)
                    now = time.perf_counter()
                    for row in seen:
                        visible[row["position"]] = now
                await asyncio.sleep(0.002)

    watching = asyncio.create_task(observer())
    writers = [asyncio.create_task(writer(a)) for a in activities]
    await asyncio.sleep(seconds)
    done.set()
    await asyncio.gather(*writers)
    await asyncio.wait_for(watching, 30)
    await notifier.stop()
    lags = [(visible[p] - appended[p]) * 1000 for p in appended]
    emit("reports.lag.appends_per_second", round(len(appended) / seconds, 1), "events/s")
    emit("reports.lag.append_to_visible.p50", round(statistics.median(lags), 1), "ms")
    emit("reports.lag.append_to_visible.p99", round(_percentile(lags, 0.99), 1), "ms")


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports_bench")
    parser.add_argument("--scale", choices=["district", "demo"], default="district")
    parser.add_argument("--database", default=DATABASE,
                        help="database kept between runs (created and loaded when short)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long to append at 500/s for the lag figure")
    args = parser.parse_args(argv)
    url = await prepare(args.scale, args.database)

    # A read of a million rows takes a few seconds, so one pass swings with the cache; the
    # baseline is the median of three (each printed).
    rates = []
    for _ in range(RAW_READS):
        count, seconds = await raw_read(url)
        rates.append(count / seconds)
        emit("reports.raw_cursor_read.pass", round(rates[-1], 1), "events/s")
    raw_rate = statistics.median(rates)
    emit("reports.events", count, "events")
    emit("reports.raw_cursor_read", round(raw_rate, 1), "events/s")
    result = await asyncio.to_thread(rebuild, url)
    emit("reports.rebuild", result["events_per_second"], "events/s")
    emit("reports.rebuild_vs_raw", round(result["events_per_second"] / raw_rate, 3), "x")
    emit("reports.rebuild.peak_rss", round(result["peak_rss_mb"], 1), "MB")
    emit("reports.rebuild.seconds", result["seconds"], "s")
    emit("reports.rebuild.cpu_seconds", result["cpu_seconds"], "s")

    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reports.entrypoints.cli", "serve", "--port", str(port),
        env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    pool = await create_pool(url, application_name="reports-bench", min_size=2, max_size=12)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _wait_healthy(client)
            await http_latency(pool, client)
            await append_lag(pool, args.seconds)
    finally:
        await pool.close()
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    asyncio.run(main())
