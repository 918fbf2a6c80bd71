"""Dependency providers (the services opened in the lifespan hook, the caller) and the
helpers every report handler uses: scope checks, read-your-writes, a consistent snapshot."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar.datastructures import State
from litestar.di import Provide

from contract.access import Principal
from contract.dependencies import app_state
from reports.adapters import unit_reports
from reports.adapters.member_reports import member_exists
from reports.config import Settings
from reports.entrypoints.problems import invalid, problem
from reports.service.freshness import NotReached, UnknownPosition, wait_until_applied
from reports.service.ports import Feed
from reports.service.runner import Progress, ProjectionRunner


def provide_progress(state: State) -> Progress | None:
    runner: ProjectionRunner | None = state.get("runner")
    return runner.progress if runner is not None else None



DEPENDENCIES = {
    **app_state("pool", "feed", "directory", "settings"),
    "progress": Provide(provide_progress, sync_to_thread=False),
}


@asynccontextmanager
async def snapshot(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One read-only snapshot: the report and the position it states agree."""
    async with pool.acquire() as connection, connection.transaction(
        isolation="repeatable_read", readonly=True
    ):
        yield connection


async def fresh_enough(pool: asyncpg.Pool, feed: Feed, tenant_id: str, wait_for: str | None,
                       progress: Progress | None, settings: Settings) -> None:
    if wait_for is None:
        return
    try:
        await wait_until_applied(pool, feed, tenant_id, wait_for, progress, settings.max_wait)
    except ValueError:
        raise invalid("wait_for", "wait_for 须为位置（如 1234）或游标（如 5678-1234）",
                      "wait_for must be a position or a feed cursor <txid>-<position>") from None
    except UnknownPosition:
        raise invalid("wait_for", "没有该位置的事件", "no event of this tenant has that position",
                      code="unknown_position") from None
    except NotReached as error:
        raise problem(503, "not_yet_applied", "报表尚未更新到该位置，请稍后重试",
                      "the reports have not applied that position yet",
                      headers={"Retry-After": "1"},
                      reached=f"{error.reached[0]}-{error.reached[1]}") from None


# The caller's scope over a unit or member in the path is the access guard's (see
# reports.entrypoints.access); these answer 404 for what does not exist.
async def check_unit(connection: asyncpg.Connection, principal: Principal,
                     unit_id: uuid.UUID) -> asyncpg.Record:
    row = await unit_reports.unit(connection, principal.tenant_id, unit_id)
    if row is None:
        raise problem(404, "unit_not_found", "组织不存在", "no such unit", field="unit_id")
    return row


async def check_member(connection: asyncpg.Connection, principal: Principal,
                       member_id: uuid.UUID) -> None:
    if not await member_exists(connection, principal.tenant_id, member_id):
        raise problem(404, "member_not_found", "成员不存在", "no such member",
                      field="member_id")
