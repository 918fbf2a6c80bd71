"""Readiness, distinct from liveness, for both services.

`GET /health` (liveness) says the process answers and whether the database does; an
orchestrator restarts a service that stops answering it. `GET /ready` (readiness) says
whether the service should get traffic: the database answers, every migration head is
applied (a service started before its migration job finished is not ready), and for the
reports, that the projection runner is running (active, or standing by for another
worker's). It answers 503 with the same body when not ready.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import asyncpg
import msgspec
from alembic.script import ScriptDirectory
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from contract.access import PUBLIC


class Readiness(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ready: bool
    database: bool
    migrations_at_head: bool
    # The reports only: "active" (this process projects), "standby" (another holds the
    # lock), "off" (not run in this server), "stopped" (it died: not ready).
    projection_runner: str | None = None
    detail: str | None = None


@cache
def migration_heads() -> frozenset[str]:
    """The heads of the revisions shipped with this code (read once per process)."""
    from infra.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


async def check(pool: asyncpg.Pool, heads: frozenset[str],
                runner_state: str | None = None) -> Readiness:
    try:
        applied = {row["version_num"] for row in
                   await pool.fetch("SELECT version_num FROM alembic_version")}
    except asyncpg.UndefinedTableError:
        return Readiness(ready=False, database=True, migrations_at_head=False,
                         projection_runner=runner_state, detail="no migration applied")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return Readiness(ready=False, database=False, migrations_at_head=False,
                         projection_runner=runner_state, detail=type(error).__name__)
    at_head = heads <= applied
    runner_ok = runner_state in (None, "active", "standby", "off")
    return Readiness(ready=at_head and runner_ok, database=True, migrations_at_head=at_head,
                     projection_runner=runner_state,
                     detail=None if at_head else f"applied {sorted(applied)}, "
                                                 f"expected {sorted(heads)}")


def route(runner_state: Callable[[State], str] | None = None) -> Callable[..., object]:
    """`GET /ready`; `runner_state(state)` gives the projection runner's state (reports)."""

    @get("/ready", operation_id="ready", opt=PUBLIC.opt(), tags=["health"],
         responses={503: ResponseSpec(Readiness, description="Not ready: the same body, "
                                                             "saying which check failed")},
         summary="Readiness: database, migrations at head, projection runner",
         description="200 when the service should get traffic, 503 (same body) when not.")
    async def ready(state: State) -> Response[Readiness]:
        result = await check(state.pool, state.migration_heads,
                             runner_state(state) if runner_state else None)
        return Response(result, status_code=200 if result.ready else 503)

    return ready
