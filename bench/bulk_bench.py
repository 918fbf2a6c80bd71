"""Bulk import against raw COPY of the same rows, in one run on one scratch database.

* Bulk: `bulk_append` of the first N events of the generated district (whole streams) into
  a fresh tenant: encoding, hash chains, the per-batch head and idempotency queries, COPY.
* Raw: the same rows, precomputed (same columns, same values), COPYed in batches of the
  same size, one transaction each, into a table made `LIKE ledger.events INCLUDING ALL`
  (same columns, defaults, identity and indexes) with the same foreign key to the tenants.

The two alternate for a few rounds, each round into a new tenant of both tables (so both
grow alike), and the best round of each counts: the machine is shared, and the best round
is the one least disturbed. Prints JSON lines {"name", "value", "unit"}; target: bulk at
least 0.5 x raw COPY. Generating the events is not timed. Environment: BULK_BENCH_EVENTS
(200000), BULK_BENCH_ROUNDS (3), DATABASE_URL (default: the embedded server; a scratch
database is created and dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from datetime import UTC, datetime

import asyncpg

from bench.harness import emit, scratch_database
from contract.events import canonical_json, encode_data, event_type
from contract.postgres import create_pool
from infra.demo.generator import build, streams
from ledger import seal_keys
from ledger.adapters.bulk_append import COLUMNS, DEFAULT_BATCH_SIZE, StreamEntry, bulk_append
from ledger.adapters.chain import CHAIN_VERSION, GENESIS_HASH, link

# Both write this recording time: the hash covers it, and the rows must be the same.
RECORDED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def first_events(count: int) -> list[StreamEntry]:
    """Whole stream entries from the start of the district until `count` events."""
    entries: list[StreamEntry] = []
    total = 0
    for entry in streams(build("district", 1)):
        if total >= count:
            break
        entries.append(entry)
        total += len(entry[2])
    return entries


def rows_for(entries: list[StreamEntry], tenant_id: str) -> list[tuple]:
    """What bulk_append writes into a fresh tenant, computed ahead for the raw COPY."""
    heads: dict[str, tuple[int, bytes]] = {}
    sealer = seal_keys.load()
    rows = []
    for stream_id, _, events in entries:
        version, previous = heads.get(stream_id, (0, GENESIS_HASH))
        for new in events:
            version += 1
            data, metadata = encode_data(new.event), canonical_json(new.metadata)
            previous, seal = link(sealer, tenant_id, previous, new.event_id, stream_id, version,
                                  event_type(new.event), new.event.VERSION, data, metadata,
                                  RECORDED_AT)
            rows.append((tenant_id, new.event_id, stream_id, version, event_type(new.event),
                         new.event.VERSION, data, metadata, previous, RECORDED_AT,
                         CHAIN_VERSION, seal))
        heads[stream_id] = (version, previous)
    return rows


async def raw_copy(pool: asyncpg.Pool, rows: list[tuple]) -> float:
    async with pool.acquire() as connection:
        started = time.perf_counter()
        for first in range(0, len(rows), DEFAULT_BATCH_SIZE):
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "events", schema_name="bench", columns=COLUMNS,
                    records=rows[first:first + DEFAULT_BATCH_SIZE])
        return time.perf_counter() - started


async def bulk(pool: asyncpg.Pool, tenant_id: str, entries: list[StreamEntry]) -> float:
    started = time.perf_counter()
    await bulk_append(pool, tenant_id, entries, clock=lambda: RECORDED_AT)
    return time.perf_counter() - started


async def written_hashes(pool: asyncpg.Pool, schema: str, tenant_id: str) -> str:
    digest = hashlib.sha256()
    for row in await pool.fetch(
            f"SELECT hash FROM {schema}.events WHERE tenant_id = $1 ORDER BY stream_id, version",
            tenant_id):
        digest.update(bytes(row["hash"]))
    return digest.hexdigest()


async def main() -> None:
    count = int(os.environ.get("BULK_BENCH_EVENTS", "200000"))
    rounds = int(os.environ.get("BULK_BENCH_ROUNDS", "3"))
    entries = first_events(count)
    events = sum(len(e[2]) for e in entries)
    raw_times, bulk_times = [], []
    async with scratch_database("bulk_bench") as url:
        pool = await create_pool(url, application_name="bulk-bench", min_size=1, max_size=4)
        try:
            await pool.execute("CREATE SCHEMA bench")
            await pool.execute("CREATE TABLE bench.events (LIKE ledger.events INCLUDING ALL)")
            await pool.execute("ALTER TABLE bench.events ADD FOREIGN KEY (tenant_id) "
                               "REFERENCES ledger.tenants")
            for number in range(1, rounds + 1):
                tenant_id = f"bulk-bench-{number}"
                await pool.execute(
                    "INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $2)",
                    tenant_id, "基准区")
                rows = rows_for(entries, tenant_id)
                # Each measurement starts without dirty buffers left by the one before.
                await pool.execute("CHECKPOINT")
                raw_times.append(await raw_copy(pool, rows))
                await pool.execute("CHECKPOINT")
                bulk_times.append(await bulk(pool, tenant_id, entries))
                # The comparison is fair only if both wrote the same rows.
                assert (await written_hashes(pool, "ledger", tenant_id)
                        == await written_hashes(pool, "bench", tenant_id))
        finally:
            await pool.close()
    bulk_rate, raw_rate = events / min(bulk_times), events / min(raw_times)
    emit("bulk_import_events", events, "events")
    emit("bulk_import_events_per_s", round(bulk_rate), "events/s")
    emit("raw_copy_events_per_s", round(raw_rate), "events/s")
    emit("bulk_import_vs_raw_copy", round(bulk_rate / raw_rate, 3), "ratio")


if __name__ == "__main__":
    asyncio.run(main())
