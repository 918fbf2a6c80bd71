"""The framework anchor for the check-in benchmark: a bare Litestar endpoint on the same
uvicorn settings as the ledger. It decodes the body with msgspec, does one INSERT into a
table shaped like `ledger.events` (`raw_events`, created by the bench) and answers JSON —
no authentication, state, rules, hash chain or read models. Whatever the check-in costs
beyond this is the ledger's own doing."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, post
from litestar.datastructures import State

from contract.postgres import create_pool

_INSERT = """INSERT INTO raw_events (tenant_id, event_id, stream_id, version, type,
                 schema_version, data, metadata, hash)
             VALUES ('bench', $1, $2, 1, 'CheckedIn', 1, $3, '{"actor":"bench"}', $4)
             RETURNING position"""


class CheckInBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    member_id: uuid.UUID
    method: str
    command_id: uuid.UUID


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    stream_id: str
    position: int


@post("/api/v1/activities/{activity_id:uuid}/check-ins", status_code=201)
async def check_in(state: State, activity_id: uuid.UUID, data: CheckInBody) -> Answer:
    # A stream of its own per request, as the raw baseline: no version can clash.
    stream_id = f"activity-{activity_id}-{data.command_id}"
    body = msgspec.json.encode({"activity_id": activity_id, "member_id": data.member_id,
                                "method": data.method})
    position = await state.pool.fetchval(_INSERT, data.command_id, stream_id, body,
                                         os.urandom(32))
    return Answer(stream_id=stream_id, position=position)


def create_app() -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = pool = await create_pool(os.environ["DATABASE_URL"],
                                                  application_name="bench-bare")
        try:
            yield
        finally:
            await pool.close()

    return Litestar(route_handlers=[check_in], lifespan=[lifespan])


