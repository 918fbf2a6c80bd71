"""A unit's activity per month and kind, rolled up the tree as it was, and its summary."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from contract.access import Principal, read
from contract.calendar import MONTH, in_calendar, valid_month
from reports.adapters import unit_reports
from reports.config import Settings
from reports.domain.views import CommunitySummary, UnitActivity
from reports.entrypoints.controllers.members import WaitFor
from reports.entrypoints.dependencies import check_unit, fresh_enough, snapshot
from reports.service.ports import Feed
from reports.service.runner import Progress

RequiredMonth = Annotated[str, QueryParameter(pattern=MONTH.pattern, description="YYYY-MM")]


def _check(month: str, as_of: date | None) -> None:
    """Refused before any wait for freshness."""
    valid_month(month, source="query")
    if as_of is not None:
        in_calendar(as_of, "as_of", source="query")


class UnitController(Controller):
    path = "/api/v1/units/{unit_id:str}"
    tags = ("units",)

    async def _activity(self, pool: asyncpg.Pool, principal: Principal, unit_id: uuid.UUID,
                        month: str, as_of: date | None) -> UnitActivity:
        async with snapshot(pool) as connection:
            await check_unit(connection, principal, unit_id)
            report = await unit_reports.unit_activity(connection, principal.tenant_id, unit_id,
                                                      month, as_of=as_of)
        assert report is not None  # check_unit found the unit
        return report

    @get("/activity", operation_id="getUnitActivity", opt=read("unit_id"),
         summary="Activities held, participants, person-times and hours per kind, for a month")
    async def activity(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        progress: NamedDependency[Progress | None], settings: NamedDependency[Settings],
        feed: NamedDependency[Feed],
        unit_id: FromPath[uuid.UUID], month: RequiredMonth,
        as_of: FromQuery[date | None] = None, wait_for: WaitFor = None,
    ) -> UnitActivity:
        _check(month, as_of)
        await fresh_enough(pool, feed, principal.tenant_id, wait_for, progress, settings)
        return await self._activity(pool, principal, unit_id, month, as_of)

    @get("/summary", operation_id="getCommunitySummary", opt=read("unit_id"),
         summary="The month in one sentence, as the committees report it")
    async def summary(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        progress: NamedDependency[Progress | None], settings: NamedDependency[Settings],
        feed: NamedDependency[Feed],
        unit_id: FromPath[uuid.UUID], month: RequiredMonth, wait_for: WaitFor = None,
    ) -> CommunitySummary:
        _check(month, None)
        await fresh_enough(pool, feed, principal.tenant_id, wait_for, progress, settings)
        report = await self._activity(pool, principal, unit_id, month, None)
        return unit_reports.community_summary(report)
