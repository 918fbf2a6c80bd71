"""Liveness and readiness."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.datastructures import State

from contract.access import PUBLIC


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    database: bool


@get("/health", operation_id="health",
     opt=PUBLIC.opt(), summary="Service and database health", tags=["health"])
async def health(state: State) -> Health:
    ok = await state.pool.fetchval("SELECT 1") == 1
    return Health(status="ok" if ok else "degraded", database=ok)
