"""The framework anchors for the check-in benchmark, on the same uvicorn settings as the
ledger.

* `create_app`: a bare Litestar endpoint. It decodes the body with msgspec, does one INSERT
  into a table shaped like `ledger.events` (`raw_events`, created by the bench) and answers
  JSON — no authentication, state, rules, hash chain or read models.
* `create_door_app`: the same endpoint behind the ledger's door, as the check-in route has
  it: the request log and id (`contract.observe`), the CSRF middleware of the pages, the
  access guard verifying the bearer token and the route's rule, the strict body check
  before the handler (`contract.door`), the problem handlers, the security headers, and
  the caller as an `Actor` dependency next to one from `app.state`.

Whatever the check-in costs beyond the door is the ledger's own work (state, rules, the
member and overlap look-ups, the hash chain, the append); the door's cost over the bare
endpoint is what every route pays for being authenticated, bounded and observed."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from litestar import Litestar, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from contract import door
from contract.access import write
from contract.dependencies import app_state
from contract.guard import access_guard
from contract.observe import observe
from contract.postgres import create_pool
from contract.security_headers import security_headers
from ledger.adapters.directory import MemberDirectory, Organisers
from ledger.adapters.event_store import PostgresEventStore
from ledger.adapters.tokens import TokenStore
from ledger.entrypoints import pages, problems
from ledger.entrypoints.dependencies import provide_actor
from ledger.handlers import Actor, Ledger

# The table both anchors and the raw baseline write to, made by the bench's caller.
CREATE_RAW_EVENTS = "CREATE TABLE raw_events (LIKE ledger.events INCLUDING ALL)"

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


async def _insert(pool: asyncpg.Pool, activity_id: uuid.UUID, data: CheckInBody) -> Answer:
    # A stream of its own per request, as the raw baseline: no version can clash.
    stream_id = f"activity-{activity_id}-{data.command_id}"
    body = msgspec.json.encode({"activity_id": activity_id, "member_id": data.member_id,
                                "method": data.method})
    position = await pool.fetchval(_INSERT, data.command_id, stream_id, body,
                                   os.urandom(32))
    return Answer(stream_id=stream_id, position=position)


@post("/api/v1/activities/{activity_id:uuid}/check-ins", status_code=201)
async def check_in(state: State, activity_id: FromPath[uuid.UUID],
                   data: JSONBody[CheckInBody]) -> Answer:
    return await _insert(state.pool, activity_id, data)


@post("/api/v1/activities/{activity_id:str}/check-ins", status_code=201,
      operation_id="checkIn", opt=write("activity_id"))
async def check_in_at_the_door(state: State, ledger: NamedDependency[Ledger],
                               actor: NamedDependency[Actor],
                               activity_id: FromPath[uuid.UUID],
                               data: JSONBody[CheckInBody]) -> Answer:
    # The check-in's dependencies, resolved as its are (`actor` depends on `ledger`); the
    # bare INSERT has no use for them.
    del ledger, actor
    return await _insert(state.pool, activity_id, data)


def _lifespan(name: str, door_state: bool):
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = pool = await create_pool(os.environ["DATABASE_URL"],
                                                  application_name=name)
        if door_state:
            # The check-in's dependency, never called; a real Ledger, since Litestar checks
            # a dependency's value against the type the provider declares.
            ledger = Ledger(PostgresEventStore(pool), MemberDirectory(pool), Organisers(pool))
            app.state.update(ledger=ledger, tokens=TokenStore(pool), metrics_token=None)
        try:
            yield
        finally:
            await pool.close()

    return lifespan


def create_app() -> Litestar:
    return Litestar(route_handlers=[check_in], lifespan=[_lifespan("bench-bare", False)])


def create_door_app() -> Litestar:
    return Litestar(
        route_handlers=[check_in_at_the_door],
        csrf_config=pages.build().csrf_config,
        dependencies={**app_state("ledger"),
                      "actor": Provide(provide_actor, sync_to_thread=False)},
        guards=[access_guard],
        middleware=[observe],
        logging_config=None,
        before_send=[security_headers()],
        lifespan=[_lifespan("bench-door", True)],
        exception_handlers=door.handlers(problems.PROBLEMS),
        before_request=door.at_the_door,
    )


