"""Shapes the API answers with (besides the handlers' Outcome)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Response

from contract.problems import Refusal, invalid
from ledger.adapters.event_store import StoredEvent
from ledger.handlers import Outcome


def command_response(outcome: Outcome) -> Response[Outcome]:
    """201 for a command that appended; 200 for a retry that found its earlier result."""
    return Response(outcome, status_code=200 if outcome.replayed else 201)


def invalid_cursor() -> Refusal:
    """A list's `after` that is not a cursor it handed out."""
    return invalid("invalid_cursor", "游标格式错误", "not a cursor of this list", "after")


class EventOut(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    cursor: str
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    hash: str


class EventList(msgspec.Struct, frozen=True, kw_only=True):
    events: list[EventOut]
    # Feed pages: pass as `after` for the next page.
    next_cursor: str | None = None


def event_out(stored: StoredEvent) -> EventOut:
    return EventOut(
        position=stored.position, cursor=stored.cursor, event_id=stored.event_id,
        stream_id=stored.stream_id, version=stored.version, type=stored.type,
        schema_version=stored.schema_version, data=msgspec.json.decode(stored.data),
        metadata=msgspec.json.decode(stored.metadata), recorded_at=stored.recorded_at,
        hash=stored.hash,
    )
