"""The feed adapter the settings choose: the ledger's HTTP feed when `remote_feed` is set,
else the ledger's functions in the reports' own database, or in `feed_database_url`'s (the
ledger's database or a hot standby of it: `open_feed_pool`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from contract.postgres import create_pool
from reports.adapters.database_feed import DatabaseFeed
from reports.adapters.http_feed import HttpFeed
from reports.config import FEED_ROLE, RemoteFeed, Settings
from reports.service.ports import Feed


@asynccontextmanager
async def open_feed(settings: Settings, executor: asyncpg.Pool | asyncpg.Connection, *,
                    transport: httpx.AsyncBaseTransport | None = None) -> AsyncIterator[Feed]:
    """`executor`: where a co-located feed runs its queries; `transport`: for tests."""
    if settings.remote_feed is None:
        yield DatabaseFeed(executor)
        return
    async with open_remote_feed(settings.remote_feed, transport=transport) as feed:
        yield feed


@asynccontextmanager
async def open_remote_feed(remote: RemoteFeed, *,
                           transport: httpx.AsyncBaseTransport | None = None,
                           ) -> AsyncIterator[HttpFeed]:
    feed = HttpFeed(remote.url, {remote.tenant_id: remote.token}, transport=transport)
    try:
        yield feed
    finally:
        await feed.close()


@asynccontextmanager
async def open_feed_pool(settings: Settings, *, application_name: str, max_size: int = 4
                         ) -> AsyncIterator[asyncpg.Pool | None]:
    """A pool on `feed_database_url` for the ledger's functions (None when it is unset:
    they are in the reports' own database), as the role that may only call them."""
    if settings.feed_database_url is None:
        yield None
        return
    pool = await create_pool(settings.feed_database_url, application_name=application_name,
                             min_size=1, max_size=max_size, role=FEED_ROLE)
    try:
        yield pool
    finally:
        await pool.close()


async def notify_dsn(settings: Settings, feed_pool: asyncpg.Pool | None) -> str | None:
    """Where the runner can hear the ledger's NOTIFY: its database. None over HTTP and on a
    hot standby, which refuses LISTEN during recovery: the runner then polls (decided at
    start: after a promotion, until the service restarts)."""
    if settings.remote_feed is not None:
        return None
    if feed_pool is None:
        return settings.database_url
    return None if await feed_pool.fetchval("SELECT pg_is_in_recovery()") \
        else settings.feed_database_url
