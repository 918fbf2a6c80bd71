"""The production server (contract.serving): `ledger serve --workers 2` in its own process
group, its metrics added up across the workers, its readiness, and a SIGTERM in the middle
of a load of check-ins: every acknowledged check-in is in the store, none twice, and the
server exits by itself."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import IO

import asyncpg
import httpx
import pytest

from bench.ledger_bench import seed
from contract.postgres import create_pool


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in /metrics"
    return float(found[1])


@pytest.fixture
async def seeded(database_url: str) -> AsyncIterator[tuple[str, list[uuid.UUID],
                                                         list[uuid.UUID], str]]:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    pool = await create_pool(database_url, application_name="serving-test", max_size=10)
    try:
        token, members, activities = await seed(pool, 1200, tenant)
        yield token, members, activities, tenant
    finally:
        await pool.close()


def _start(port: int, database_url: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port),
         "--workers", "2"],
        env={**os.environ, "DATABASE_URL": database_url, "METRICS_TOKEN": ""},
        stderr=log, start_new_session=True)


async def _until_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        assert server.poll() is None, "the server exited (see its log in tmp_path)"
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not become ready")


async def test_sigterm_under_load_loses_and_doubles_no_acknowledged_check_in(
        seeded: tuple[str, list[uuid.UUID], list[uuid.UUID], str], database_url: str,
        pool: asyncpg.Pool, tmp_path) -> None:
    token, members, activities, tenant = seeded
    port = _free_port()
    # A file, not a pipe: a pipe nobody reads fills up and stalls the server's logging.
    log_file = (tmp_path / "server.log").open("wb")
    server = _start(port, database_url, log_file)
    acknowledged: dict[uuid.UUID, uuid.UUID] = {}
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _until_ready(client, server)
            queue = list(enumerate(members))

            async def load(until: int | None) -> None:
                while queue and (until is None or len(acknowledged) < until):
                    i, member = queue.pop()
                    activity = activities[i % 200]
                    try:
                        answer = await client.post(
                            f"/api/v1/activities/{activity}/check-ins", headers=headers,
                            json={"member_id": str(member), "command_id": str(uuid.uuid4())})
                    except httpx.TransportError:
                        return  # the server is going away: this one was never acknowledged
                    if answer.status_code in (200, 201):
                        acknowledged[member] = activity
                    else:
                        assert answer.status_code == 503, answer.text

            # Both workers count their appends; /metrics, whichever answers, adds them up.
            await asyncio.gather(*(load(150) for _ in range(8)))
            await asyncio.sleep(0.1)
            text = (await client.get("/metrics")).text
            assert _metric(text, "ledger_appends_total") == len(acknowledged)
            assert 'http_request_duration_seconds_count{operation_id="checkIn"}' in text

            # SIGTERM while 8 clients keep checking in.
            async def terminate() -> None:
                await asyncio.sleep(1.0)
                server.send_signal(signal.SIGTERM)  # the supervisor, as an engine does

            before = len(acknowledged)
            await asyncio.gather(*(load(None) for _ in range(8)), terminate())
        assert len(acknowledged) > before, "no check-in was acknowledged under load"
        assert await asyncio.to_thread(server.wait, 60) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log_file.close()
    log = (tmp_path / "server.log").read_text()
    assert '"operation_id": "checkIn"' in log and '"request_id"' in log
    stored = await pool.fetch(
        "SELECT (data->>'member_id')::uuid AS member, stream_id FROM ledger.events "
        "WHERE tenant_id = $1 AND type = 'CheckedIn'", tenant)
    seen = [row["member"] for row in stored]
    assert len(seen) == len(set(seen)), "a check-in was stored twice"
    in_store = {row["member"]: row["stream_id"] for row in stored}
    missing = [m for m, a in acknowledged.items() if in_store.get(m) != f"activity-{a}"]
    assert not missing, f"{len(missing)} acknowledged check-ins are not in the store"

