"""Check-in throughput of the production server at 1, 2 and 4 workers.

`ledger serve --workers N` (contract.serving, as deployed) on a scratch database, then
16 keep-alive clients (`bench.http_load`) each checking a different member into one of 200
running activities, as in `bench.ledger_bench`; one JSON line per worker count
(`workers{N}_checkin_c16_throughput`, `…_p50`, `…_p99`). The load generator, the workers
and PostgreSQL share the machine's cores, so past the core count more workers only add
switching. Every server it starts is stopped (SIGTERM to the supervisor, then SIGKILL to
its process group if it is still there after 60 s).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid

import httpx
import uvloop

from bench.harness import scratch_database
from bench.http_load import HttpConnection
from bench.ledger_bench import ACTIVITIES, drive, report, seed
from contract.postgres import create_pool

WORKERS = (1, 2, 4)
CONCURRENCY = 16
REQUESTS = 3000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(database_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port),
         "--workers", str(workers)],
        env={**os.environ, "DATABASE_URL": database_url}, stderr=subprocess.DEVNULL,
        start_new_session=True)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


async def _until_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(2400):
            if server.poll() is not None:
                raise RuntimeError(f"the ledger exited with {server.returncode}")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the ledger did not become ready")


async def _load(port: int, token: str, members: list[uuid.UUID],
                activities: list[uuid.UUID], workers: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    idle = [await HttpConnection.open("127.0.0.1", port, headers) for _ in range(CONCURRENCY)]
    failures: list[str] = []

    def job(i: int):
        path = f"/api/v1/activities/{activities[i % ACTIVITIES]}/check-ins"
        body = (b'{"member_id":"%s","method":"qr","command_id":"%s"}'
                % (str(members[i]).encode(), str(uuid.uuid4()).encode()))

        async def run() -> None:
            connection = idle.pop()
            try:
                status, answer = await connection.post_json(path, body)
                if status not in (200, 201):
                    failures.append(f"{status} {answer[:200]!r}")
            finally:
                idle.append(connection)

        return run

    elapsed, latencies = await drive(CONCURRENCY, [job(i) for i in range(len(members))])
    for connection in idle:
        await connection.close()
    if failures:
        raise RuntimeError(f"{len(failures)} check-ins failed, e.g. {failures[0]}")
    report(f"workers{workers}_checkin", CONCURRENCY, elapsed, latencies)


async def main() -> None:
    async with scratch_database("workers_bench") as database_url:
        pool = await create_pool(database_url, application_name="bench", max_size=20)
        try:
            token, members, activities = await seed(pool, REQUESTS * len(WORKERS))
        finally:
            await pool.close()
        for round_number, workers in enumerate(WORKERS):
            port = _free_port()
            server = _serve(database_url, port, workers)
            try:
                await _until_ready(f"http://127.0.0.1:{port}", server)
                batch = members[round_number * REQUESTS:(round_number + 1) * REQUESTS]
                await _load(port, token, batch, activities, workers)
            finally:
                _stop(server)


if __name__ == "__main__":
    uvloop.run(main())
