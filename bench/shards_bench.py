"""Tenants sharded across 1, 2 and 4 PostgreSQL servers (or databases of one server): the
check-in append's throughput.

A simulation of a deployment sharded by tenant (docs/SCALING.md, "Sharded by tenant"):
four servers of their own (bench/cluster.py: a data directory and a port each, migrated),
64 tenants, each routed to shard `sha256(tenant_id) mod N` as a router in front of the
shards would. Two load processes (the machine's core count) each run 16 clients; a client
takes its two tenants in turn and appends `CheckedIn` events through the ledger's store
(`PostgresEventStore.append`: the chained, sealed INSERT with its participant row, one
round trip and no explicit transaction, as the check-in commits) to streams of its own, for
10 s per round. Rounds go 1, 2, 4, 4, 2, 1 shards, so a drift of the shared machine shows;
then 2, 4, 4, 2 shards as databases of the first server, to tell what the split gives from
what separate servers (their own WAL and commit flushes) give.

Why the store and not HTTP: the HTTP check-in adds the ledger process's own CPU (decode,
decision, answer), which stateless ledger replicas add machines for (docs/SCALING.md);
the shards are what the database side adds. Here all four servers and the load share two
cores, so more shards cannot mean more CPU: what the figures show is whether the split
itself costs anything (routing, more WAL streams and fsyncs) and how evenly 64 tenants
spread, and, per shard, the CPU the servers spent per append (`server_cpu_ms_per_append`,
from their processes' CPU times), the figure that says what one shard on its own machine
would do.

    python -m bench shards   # JSON lines, one set per round
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psutil

from bench.cluster import Cluster
from bench.harness import emit
from contract.events import CheckedIn
from contract.postgres import create_pool
from infra import migrate, postgres
from ledger.adapters.event_store import Metadata, NewEvent, PostgresEventStore

ROUNDS = (1, 2, 4, 4, 2, 1)
# Then 2 and 4 shards as databases of one server: what separate servers (their own WAL,
# their own commit flushes) add beyond the split itself.
ONE_SERVER_ROUNDS = (2, 4, 4, 2)
TENANTS = 64
PROCESSES = 2
CLIENTS = 16  # per process
SECONDS = 10.0


def shard_of(tenant_id: str, shards: int) -> int:
    """The shard holding a tenant: a stable hash of its key (Citus hashes the distribution
    column into ranges of shards the same way; the tenant is in every key)."""
    return int.from_bytes(hashlib.sha256(tenant_id.encode()).digest()[:8], "big") % shards


def _load(urls: list[str], tenants: list[str], seconds: float, process: int
          ) -> tuple[list[int], list[float], float]:
    """One load process: appends per shard, every append's latency (ms), and the CPU
    seconds it spent itself (the ledger's side of an append: encoding, hashing, sealing)."""
    cpu = time.process_time()
    counts, latencies = asyncio.run(_appends(urls, tenants, seconds, process))
    return counts, latencies, time.process_time() - cpu


async def _appends(urls: list[str], tenants: list[str], seconds: float, process: int
                   ) -> tuple[list[int], list[float]]:
    pools = [await create_pool(url, application_name="shards-bench", min_size=1,
                               max_size=CLIENTS, role="ledger_writer") for url in urls]
    stores = [PostgresEventStore(pool) for pool in pools]
    counts = [0] * len(urls)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        # Every tenant gets a client's turn: client k takes tenants k, k + 32, … in turn.
        mine = tenants[process * CLIENTS + number::PROCESSES * CLIENTS]
        activities = {tenant: uuid.uuid4() for tenant in mine}
        versions = dict.fromkeys(mine, 0)
        turn = 0
        while time.monotonic() < deadline:
            tenant = mine[turn % len(mine)]
            turn += 1
            shard, activity = shard_of(tenant, len(urls)), activities[tenant]
            event = CheckedIn(activity_id=activity, member_id=uuid.uuid4(),
                              participation_id=uuid.uuid4(), at=datetime.now(UTC),
                              method="qr")
            started = time.perf_counter()
            await stores[shard].append(tenant, f"activity-{activity}", versions[tenant], [
                NewEvent(event_id=uuid.uuid4(), event=event,
                         metadata=Metadata(actor="bench", source="form"))])
            latencies.append((time.perf_counter() - started) * 1000)
            versions[tenant] += 1
            counts[shard] += 1

    try:
        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    finally:
        for pool in pools:
            await pool.close()
    return counts, latencies


def _server_cpu(clusters: list[Cluster], seen: dict[int, float]) -> None:
    """Record each server process's CPU seconds so far (backends come and go: the last
    value seen of each is what it spent)."""
    for cluster in clusters:
        for process in cluster.processes():
            try:
                times = process.cpu_times()
                seen[process.pid] = times.user + times.system
            except psutil.Error:
                pass


async def _round(urls: list[str], servers: list[Cluster], layout: str, number: int,
                 executor: ProcessPoolExecutor) -> None:
    """One round over the shards `urls`, whose servers are `servers`."""
    shards = len(urls)
    tenants = [f"r{number}-{layout}{shards}-t{i:02d}" for i in range(TENANTS)]
    for tenant in tenants:
        connection = await asyncpg.connect(urls[shard_of(tenant, shards)])
        try:
            await connection.execute(
                "INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $1)", tenant)
        finally:
            await connection.close()
    before: dict[int, float] = {}
    _server_cpu(servers, before)
    during: dict[int, float] = dict(before)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    work = [loop.run_in_executor(executor, _load, urls, tenants, SECONDS, p)
            for p in range(PROCESSES)]
    running = asyncio.gather(*work)
    while not running.done():
        _server_cpu(servers, during)
        await asyncio.wait([running], timeout=0.2)
    results = running.result()
    elapsed = time.monotonic() - started
    per_shard = [sum(r[0][s] for r in results) for s in range(shards)]
    latencies = sorted(x for r in results for x in r[1])
    total = sum(per_shard)
    cpu = sum(during[pid] - before.get(pid, 0.0) for pid in during)
    prefix = f"shards.{layout}.{shards}.round{number}"
    emit(f"{prefix}.appends_per_s", round(total / elapsed), "appends/s")
    emit(f"{prefix}.appends_per_s_by_shard", [round(c / elapsed) for c in per_shard],
         "appends/s")
    emit(f"{prefix}.tenants_by_shard",
         [sum(shard_of(t, shards) == s for t in tenants) for s in range(shards)], "tenants")
    emit(f"{prefix}.latency_ms_p50", round(statistics.median(latencies), 2), "ms")
    emit(f"{prefix}.latency_ms_p95", round(latencies[int(len(latencies) * 0.95) - 1], 2),
         "ms")
    emit(f"{prefix}.server_cpu_ms_per_append", round(cpu * 1000 / total, 3), "ms")
    emit(f"{prefix}.client_cpu_ms_per_append",
         round(sum(r[2] for r in results) * 1000 / total, 3), "ms")
    emit(f"{prefix}.load_average_1m", round(psutil.getloadavg()[0], 2), "")


async def _run(clusters: list[Cluster], databases: list[str]) -> None:
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")
                             ) as executor:
        plan = [("servers", shards) for shards in ROUNDS] + \
            [("databases", shards) for shards in ONE_SERVER_ROUNDS]
        for number, (layout, shards) in enumerate(plan, start=1):
            if layout == "servers":
                await _round([c.url for c in clusters[:shards]], clusters[:shards], layout,
                             number, executor)
            else:
                await _round(databases[:shards], clusters[:1], layout, number, executor)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shards-", dir=postgres.PROJECT_ROOT) as tmp, \
            ExitStack() as stops:
        clusters = [Cluster(Path(tmp) / f"shard{i}") for i in range(max(ROUNDS))]
        for cluster in clusters:
            stops.callback(cluster.stop)
            cluster.start()
            cluster.migrate()
        # The same shards as databases of the first server (its `ledger` database first).
        databases = [clusters[0].url]
        for i in range(1, max(ONE_SERVER_ROUNDS)):
            databases.append(_database(clusters[0], f"shard{i}"))
        asyncio.run(_run(clusters, databases))


def _database(cluster: Cluster, name: str) -> str:
    async def create() -> None:
        connection = await asyncpg.connect(cluster.url)
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    url = f"{cluster.url.rpartition('/')[0]}/{name}"
    migrate.upgrade(url)
    return url


if __name__ == "__main__":
    main()
