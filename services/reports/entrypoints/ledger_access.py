"""What the reports need of the ledger besides its feed, as the settings choose: token
verification (`contract.tokens.Verifier`) and the directory's names
(`reports.service.ports.Directory`). Co-located, the ledger's functions in the reports' own
database (or in `FEED_DATABASE_URL`'s); with `remote_feed` set, the ledger's API at the
same URL as its feed, so that the reports need nothing of the ledger's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx

from contract.tokens import CachingVerifier, TokenVerifier
from reports.adapters.database_directory import DatabaseDirectory
from reports.adapters.http_directory import HttpDirectory
from reports.adapters.http_tokens import HttpTokenVerifier
from reports.adapters.ledger_api import LedgerApi
from reports.config import Settings
from reports.service.ports import Directory


@dataclass(frozen=True)
class LedgerAccess:
    tokens: CachingVerifier
    directory: Directory


@asynccontextmanager
async def open_ledger_access(settings: Settings, pool: asyncpg.Pool, *,
                             transport: httpx.AsyncBaseTransport | None = None,
                             ) -> AsyncIterator[LedgerAccess]:
    """`transport`: for tests (an in-process ledger app)."""
    remote = settings.remote_feed
    if remote is None:
        # `pool`: the reports' own, or one on FEED_DATABASE_URL (entrypoints/feeds.py).
        apart = settings.feed_database_url is not None
        yield LedgerAccess(TokenVerifier(pool), DatabaseDirectory(pool, apart=apart))
        return
    ledger = LedgerApi(remote.url, transport=transport)
    try:
        yield LedgerAccess(HttpTokenVerifier(ledger, remote.tenant_id),
                           HttpDirectory(ledger, remote.tenant_id, remote.token))
    finally:
        await ledger.close()
