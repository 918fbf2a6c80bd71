"""Long-poll fan-out: readers waiting at the head of a tenant's feed, then one commit.

1, 200 and 500 readers (each its own keep-alive connection) wait on
`GET /api/v1/feed?after=<head>&wait=30`; one `POST /api/v1/units` then appends an event.
For each reader: the time from the append's acknowledgement until that reader is handed
the event (negative when a reader heard before the writer did). Three rounds per size; the
single waiter is the anchor. Target (issue 12): 500 waiters all woken within 100 ms of the
commit. The ledger runs in its own uvicorn process on the bench's database; the readers
share the machine with it, as they would on a small deployment.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
import uuid
from datetime import date

import msgspec
import uvloop

from bench.harness import emit, scratch_database
from bench.http_load import HttpConnection
from bench.ledger_bench import LEDGER_APP, TENANT, _serve, _wait_until_up
from contract.events import UnitEstablished
from contract.postgres import create_pool
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.tokens import TokenStore

WAITERS = (1, 200, 500)
ROUNDS = 3
TARGET_MS = 100


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Page(msgspec.Struct):
    events: list[dict[str, object]]
    next_cursor: str


async def _head(port: int, reader: dict[str, str]) -> str:
    connection = await HttpConnection.open("127.0.0.1", port, reader)
    cursor = ""
    try:
        while True:
            connection.send_get(f"/api/v1/feed?limit=1000{cursor and '&after=' + cursor}")
            status, body = await connection.answer()
            assert status == 200, body
            page = msgspec.json.decode(body, type=Page)
            cursor = page.next_cursor
            if not page.events:
                return cursor
    finally:
        await connection.close()


async def _round(port: int, waiters: list[HttpConnection], writer: HttpConnection,
                 cursor: str, district: uuid.UUID, number: int) -> tuple[list[float], str]:
    heard: list[float] = []

    async def wait(connection: HttpConnection) -> str:
        connection.send_get(f"/api/v1/feed?after={cursor}&wait=30")
        status, body = await connection.answer()
        heard.append(time.monotonic())
        page = msgspec.json.decode(body, type=Page)
        if status != 200 or len(page.events) != 1:
            raise RuntimeError(f"a waiter got {status} with {len(page.events)} events")
        return page.next_cursor

    tasks = [asyncio.create_task(wait(c)) for c in waiters]
    # Long enough for every poll to have reached the server and found nothing.
    await asyncio.sleep(1.5 + len(waiters) / 500)
    if heard:
        raise RuntimeError("a waiter was answered before anything was appended")
    body = msgspec.json.encode({"kind": "street", "parent_id": str(district),
                                "name": f"第{number}街道", "effective": "2024-01-01"})
    status, answer = await writer.post_json("/api/v1/units", body)
    acknowledged = time.monotonic()
    if status != 201:
        raise RuntimeError(f"the append answered {status}: {answer[:200]!r}")
    cursors = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return [(t - acknowledged) * 1000 for t in heard], cursors[0]


async def main() -> None:
    async with scratch_database("feed_bench") as database_url:
        pool = await create_pool(database_url, application_name="bench", max_size=4)
        await pool.execute("INSERT INTO ledger.tenants VALUES ($1, '基准区')", TENANT)
        district = uuid.uuid4()
        await PostgresEventStore(pool).append(TENANT, "organisation", NO_STREAM, [NewEvent(
            event_id=uuid.uuid4(), metadata=Metadata(actor="bench", source="cli"),
            event=UnitEstablished(unit_id=district, kind="district", parent_id=None,
                                  name="新罗区", effective=date(2020, 1, 1)))])
        tokens = TokenStore(pool)
        read = await tokens.mint(TENANT, label="readers", role="client", can_write=False)
        write = await tokens.mint(TENANT, label="writer", role="client", can_write=True)
        reader = {"Authorization": f"Bearer {read.token}"}
        port = _free_port()
        server = _serve(LEDGER_APP, database_url, port)
        try:
            await _wait_until_up(f"http://127.0.0.1:{port}")
            writer = await HttpConnection.open("127.0.0.1", port,
                                               {"Authorization": f"Bearer {write.token}"})
            cursor, number = await _head(port, reader), 0
            for count in WAITERS:
                waiters = [await HttpConnection.open("127.0.0.1", port, reader)
                           for _ in range(count)]
                worst = []
                for _ in range(ROUNDS):
                    number += 1
                    heard, cursor = await _round(port, waiters, writer, cursor, district,
                                                 number)
                    worst.append(max(heard))
                    emit(f"feed_fanout_{count}_waiters_last_woken_after_ack",
                         round(max(heard), 1), "ms")
                    emit(f"feed_fanout_{count}_waiters_median_woken_after_ack",
                         round(statistics.median(heard), 1), "ms")
                for connection in waiters:
                    await connection.close()
                if count == max(WAITERS):
                    emit(f"target_{count}_waiters_all_woken_within_{TARGET_MS}ms",
                         statistics.median(worst) <= TARGET_MS, "bool")
            await writer.close()
        finally:
            server.terminate()
            server.wait(10)
            await pool.close()


if __name__ == "__main__":
    uvloop.run(main())
