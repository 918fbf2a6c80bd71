"""The feed port over the ledger's HTTP feed, for a ledger in another database.

`GET /api/v1/feed` is per tenant and authenticated by a tenant's bearer token, so this
adapter knows one token per tenant and serves exactly those tenants. The ledger applies its
visibility horizon before answering, so paging on with `next_cursor` skips nothing. A page
holds at most 1,000 events: a larger batch is read in several pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
import msgspec

from contract.cursor import Cursor, format_cursor, parse_cursor
from reports.service.ports import FeedUnavailable, RawEvent

# The ledger's largest page, and its longest long poll (seconds).
PAGE_LIMIT = 1000
MAX_WAIT = 30.0


class _Metadata(msgspec.Struct, frozen=True):
    source: str | None = None


class _Event(msgspec.Struct, frozen=True):
    cursor: str
    type: str
    schema_version: int
    # Kept as JSON: decoded once, by the projections' typed decoders.
    data: msgspec.Raw
    metadata: _Metadata
    recorded_at: datetime


class _Page(msgspec.Struct, frozen=True):
    events: list[_Event]


class _Lag(msgspec.Struct, frozen=True):
    events: int
    oldest_recorded_at: datetime | None


class _Cursor(msgspec.Struct, frozen=True):
    cursor: str


_PAGE = msgspec.json.Decoder(_Page)
_LAG = msgspec.json.Decoder(_Lag)
_CURSOR = msgspec.json.Decoder(_Cursor)


class HttpFeed:
    """`tokens`: tenant id -> a bearer token of that tenant (a read-only client's will do);
    `page_limit`: events per request (smaller in tests, so that batches span pages)."""

    def __init__(self, base_url: str, tokens: Mapping[str, str], *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 page_limit: int = PAGE_LIMIT) -> None:
        self._tokens = dict(tokens)
        self._page_limit = page_limit
        # A long poll answers after up to MAX_WAIT seconds: the read timeout leaves room.
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport,
                                         timeout=httpx.Timeout(10.0, read=MAX_WAIT + 10.0))

    async def close(self) -> None:
        await self._client.aclose()

    async def read_batch(self, tenant_id: str, after: Cursor, limit: int, *,
                         wait: float = 0) -> Sequence[RawEvent]:
        raws: list[RawEvent] = []
        while len(raws) < limit:
            params = {"after": format_cursor(after),
                      "limit": min(self._page_limit, limit - len(raws))}
            # Only an empty first page may wait: a batch under way is handed on as it is.
            if wait and not raws:
                params["wait"] = min(wait, MAX_WAIT)
            page = _PAGE.decode(await self._get(tenant_id, "/api/v1/feed", params))
            for event in page.events:
                txid, position = parse_cursor(event.cursor)
                raws.append((txid, position, event.type, event.schema_version,
                             bytes(event.data), event.recorded_at,
                             event.metadata.source == "import"))
            if len(page.events) < params["limit"]:
                break
            after = (raws[-1][0], raws[-1][1])
        return raws

    async def lag(self, tenant_id: str, after: Cursor) -> tuple[int, datetime | None]:
        lag = _LAG.decode(await self._get(tenant_id, "/api/v1/feed/lag",
                                          {"after": format_cursor(after)}))
        return lag.events, lag.oldest_recorded_at

    async def cursor_of_position(self, tenant_id: str, position: int) -> Cursor | None:
        body = await self._get(tenant_id, f"/api/v1/feed/cursors/{position}", {},
                               missing_ok=True)
        return None if body is None else parse_cursor(_CURSOR.decode(body).cursor)

    async def tenant_ids(self) -> list[str]:
        return sorted(self._tokens)

    async def _get(self, tenant_id: str, path: str, params: dict[str, Any], *,
                   missing_ok: bool = False) -> bytes | None:
        token = self._tokens.get(tenant_id)
        if token is None:
            raise FeedUnavailable(f"no ledger feed token for tenant {tenant_id!r}")
        try:
            response = await self._client.get(path, params=params,
                                              headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise FeedUnavailable(f"ledger feed {path}: {error!r}") from error
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code != 200:
            raise FeedUnavailable(f"ledger feed {path}: HTTP {response.status_code} "
                                  f"{response.text[:200]}")
        return response.content
