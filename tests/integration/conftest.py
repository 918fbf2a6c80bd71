"""Fixtures for driving the ledger's HTTP API in-process against the test database."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn
from litestar import Litestar

from contract.postgres import create_pool
from ledger.adapters.directory import Organisers
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings
from ledger.entrypoints.app import create_app


class Clock:
    """A settable "now" for the ledger under test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[str]:
    """Serve an app with uvicorn on an ephemeral loopback port; yields its base URL.

    A real server rather than Litestar's test client: that one runs requests through a
    blocking portal, so concurrent requests would silently run one after another.
    """
    # As deployed: uvicorn leaves X-Forwarded-For to the ledger (TRUSTED_PROXIES).
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           proxy_headers=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Relay:
    """A TCP relay in front of PostgreSQL that a test cuts as a network outage or a server
    restart would: the open connections drop and new ones are refused until `restore`."""

    def __init__(self, database_url: str) -> None:
        self._target = urlsplit(database_url)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        netloc = self._target.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(self._target._replace(
            netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream = await asyncio.open_connection(
            self._target.hostname, self._target.port)
        self._open |= {writer, upstream}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.transport.abort()
                self._open.discard(sink)

        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer))


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[Relay]:
    relay = Relay(database_url)
    await relay.restore()
    yield relay
    await relay.cut()


@pytest.fixture
async def ledger_client(database_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Community:
    """A small tree with tokens: district → street → community → two branches."""

    tenant: str
    admin: dict[str, str]
    organiser: dict[str, str]
    organiser_id: uuid.UUID
    reader: dict[str, str]
    district: uuid.UUID
    street: uuid.UUID
    community: uuid.UUID
    branch: uuid.UUID
    other_branch: uuid.UUID


async def establish(client: httpx.AsyncClient, headers: dict[str, str], kind: str,
                    parent: uuid.UUID | None, name: str) -> uuid.UUID:
    response = await client.post("/api/v1/units", headers=headers, json={
        "kind": kind, "parent_id": str(parent) if parent else None, "name": name,
        "effective": "2020-01-01",
    })
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["created_id"])


@pytest.fixture
async def community(ledger_client: httpx.AsyncClient, pool: asyncpg.Pool,
                    tenant: str) -> Community:
    tokens = TokenStore(pool)
    admin = bearer((await tokens.mint(tenant, label="admin", role="client",
                                      can_write=True)).token)
    district = await establish(ledger_client, admin, "district", None, "新罗区")
    street = await establish(ledger_client, admin, "street", district, "东城街道")
    community_id = await establish(ledger_client, admin, "community", street, "兴华南里社区")
    branch = await establish(ledger_client, admin, "branch", community_id, "第一党支部")
    other = await establish(ledger_client, admin, "branch", community_id, "第二党支部")
    account = await Organisers(pool).add(tenant, unit_id=community_id, name="王书记",
                                         login=f"wang-{tenant}", password="s3cret-pass")
    organiser = bearer((await tokens.mint(
        tenant, label="王书记", role="organiser", can_write=True,
        scope_unit_id=community_id, organiser_id=account.organiser_id)).token)
    reader = bearer((await tokens.mint(tenant, label="grid", role="client",
                                       can_write=False)).token)
    return Community(tenant, admin, organiser, account.organiser_id, reader, district, street,
                     community_id, branch, other)


async def register(client: httpx.AsyncClient, c: Community, number: str,
                   unit: uuid.UUID | None = None) -> uuid.UUID:
    response = await client.post("/api/v1/members", headers=c.admin, json={
        "kind": "in_service", "employer": "区税务局", "registered_on": str(date(2024, 1, 1)),
        "member_number": number, "name": "张三明", "phone": "13800000000", "pin": "1234",
        "unit_id": str(unit or c.branch),
    })
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["created_id"])


async def schedule(client: httpx.AsyncClient, c: Community, starts_at: datetime,
                   hours: float = 2, **extra: object) -> uuid.UUID:
    body = {
        "kind": "cleanup", "category": "service", "host_unit_id": str(c.branch),
        "title": "楼道清理", "place": "3号楼", "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=hours)).isoformat(), **extra,
    }
    response = await client.post("/api/v1/activities", headers=c.organiser, json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["created_id"])


async def read_feed(client: httpx.AsyncClient, headers: dict[str, str], count: int,
                    **params: object) -> list[dict]:
    """Read the feed until `count` events arrived (an open transaction elsewhere in the
    cluster may hold new events back for a moment: the price of never skipping one)."""
    events: list[dict] = []
    cursor = None
    for _ in range(50):
        page = (await client.get("/api/v1/feed", headers=headers,
                                 params={**params, "after": cursor, "wait": 2,
                                         "limit": 1000})).json()
        events += page["events"]
        cursor = page["next_cursor"]
        if len(events) >= count:
            return events
    raise AssertionError(f"only {len(events)} of {count} events arrived")


def as_login(url: str, user: str, password: str) -> str:
    """`url` with another user and password."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password)}@{host}"))


@asynccontextmanager
async def login_of_its_own(database_url: str, admin: asyncpg.Pool,
                           role: str) -> AsyncIterator[asyncpg.Pool]:
    """A service's pool as in production: a login that is a member of `role` and nothing
    else, its pool doing `SET ROLE role`; the login is dropped afterwards."""
    login, password = f"svc_test_{uuid.uuid4().hex[:10]}", secrets.token_hex(16)
    await admin.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{password}' IN ROLE {role}")
    try:
        service = await create_pool(as_login(database_url, login, password),
                                    application_name="tests-role", min_size=1, max_size=2,
                                    role=role)
        try:
            yield service
        finally:
            await service.close()
    finally:
        await admin.execute(f"DROP ROLE {login}")
