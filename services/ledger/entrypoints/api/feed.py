"""The ordered feed of all a tenant's events, which never skips one, and stream reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from contract.access import Principal, read
from contract.bounds import INT4_MAX, INT8_MAX
from contract.cursor import MAX_LENGTH as CURSOR_LENGTH
from contract.cursor import parse_cursor
from contract.problems import invalid, not_found
from ledger.adapters.event_store import PostgresEventStore
from ledger.adapters.notifier import FeedNotifier
from ledger.entrypoints.api.feed_waiting import SharedFeedReads, feed_query, wait_for_page
from ledger.entrypoints.api.responses import EventList, event_out

MAX_WAIT_SECONDS = 30.0
# The longest stream id is an honor roll's: "honor-roll-<uuid>-<YYYY-MM>" (55 characters).
MAX_STREAM_ID = 100
Cursor = Annotated[str | None, QueryParameter(max_length=CURSOR_LENGTH,
                                              description="<txid>-<position>")]
class FeedStatus(msgspec.Struct, frozen=True, kw_only=True):
    head_position: int
    # Committed events not yet readable because an older transaction is still open.
    events_held_back: int
    # Age of the oldest open writing transaction: how long the feed may be held back.
    oldest_open_writer_seconds: float


class FeedLag(msgspec.Struct, frozen=True, kw_only=True):
    # Events after the cursor, visible or still held back by an open transaction.
    events: int
    oldest_recorded_at: datetime | None


class FeedCursor(msgspec.Struct, frozen=True, kw_only=True):
    cursor: str


def _checked_cursor(after: str | None) -> None:
    try:
        parse_cursor(after)
    except ValueError:
        raise invalid("invalid_cursor", "游标格式错误", "not a feed cursor", "after") from None


class FeedController(Controller):
    path = "/api/v1"
    tags = ("feed",)

    @get("/feed", operation_id="readFeed", opt=read(tenant_wide=True),
         summary="The tenant's events in commit order; never skips one",
         description="Pass the returned `next_cursor` as `after`. With `wait` (seconds, up to "
                     "30) an empty page waits for the next event (long poll).")
    async def read_feed(
        self,
        feed_reads: NamedDependency[SharedFeedReads],
        notifier: NamedDependency[FeedNotifier],
        principal: NamedDependency[Principal],
        after: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        type: Annotated[list[str] | None, QueryParameter(
            max_items=50, description="Event types (up to 50)")] = None,
        stream_prefix: Annotated[str | None, QueryParameter(max_length=MAX_STREAM_ID)] = None,
        wait: Annotated[float, QueryParameter(ge=0, le=MAX_WAIT_SECONDS)] = 0,
    ) -> Response[EventList]:
        _checked_cursor(after)
        page = await wait_for_page(
            feed_reads, notifier, feed_query(principal.tenant_id, after, limit, type,
                                             stream_prefix), wait)
        # Encoded once for all the waiters that shared the read.
        return Response(page.body, media_type=MediaType.JSON)

    @get("/feed/status", operation_id="feedStatus",
         opt=read(tenant_wide=True), summary="Feed head and lag")
    async def feed_status(self, store: NamedDependency[PostgresEventStore],
                          principal: NamedDependency[Principal]) -> FeedStatus:
        return FeedStatus(**await store.feed_status(principal.tenant_id))

    @get("/feed/lag", operation_id="feedLag", opt=read(tenant_wide=True),
         summary="How far a reader at a cursor is behind: events after it and the oldest's age")
    async def feed_lag(self, store: NamedDependency[PostgresEventStore],
                       principal: NamedDependency[Principal],
                       after: Cursor = None) -> FeedLag:
        _checked_cursor(after)
        events, oldest = await store.feed_lag(principal.tenant_id, after)
        return FeedLag(events=events, oldest_recorded_at=oldest)

    @get("/feed/cursors/{position:str}", operation_id="feedCursor",
         opt=read(tenant_wide=True),
         summary="The feed cursor of a position (as an append returns it)")
    async def feed_cursor(self, store: NamedDependency[PostgresEventStore],
                          principal: NamedDependency[Principal],
                          position: Annotated[int, PathParameter(ge=1, le=INT8_MAX)]
                          ) -> FeedCursor:
        cursor = await store.cursor_of_position(principal.tenant_id, position)
        if cursor is None:
            raise not_found("position_not_found", "没有该位置的事件", "no event at that position",
                            "position")
        return FeedCursor(cursor=cursor)

    @get("/streams/{stream_id:str}", operation_id="readStream", opt=read("stream_id"),
         summary="One stream's events in order")
    async def read_stream(
        self,
        store: NamedDependency[PostgresEventStore],
        principal: NamedDependency[Principal],
        stream_id: Annotated[str, PathParameter(max_length=MAX_STREAM_ID)],
        after_version: Annotated[int, QueryParameter(ge=0, le=INT4_MAX)] = 0,
    ) -> EventList:
        events = await store.read_stream(principal.tenant_id, stream_id, after_version)
        return EventList(events=[event_out(e) for e in events])
