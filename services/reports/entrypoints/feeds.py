"""The feed adapter the settings choose: the ledger's HTTP feed when `remote_feed` is set,
else the ledger's functions in the reports' own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from reports.adapters.database_feed import DatabaseFeed
from reports.adapters.http_feed import HttpFeed
from reports.config import RemoteFeed, Settings
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
