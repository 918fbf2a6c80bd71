"""A unit's activity per month and kind, rolled up the tree as it was, and its summary."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import asyncpg
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from contract.access import Principal, read
from contract.calendar import MONTH, in_calendar, month_name, valid_month
from reports.adapters import unit_reports
from reports.config import Settings
from reports.domain.tables import unit_activity_table
from reports.domain.views import CommunitySummary, UnitActivity
from reports.entrypoints import exports
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

    @get("/activity/csv", operation_id="exportUnitActivityCsv", opt=read("unit_id"),
         media_type=exports.CSV_TYPE, summary="The same month's activity as CSV")
    async def activity_csv(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID], month: RequiredMonth,
        as_of: FromQuery[date | None] = None,
    ) -> Response[bytes]:
        _check(month, as_of)
        report = await self._activity(pool, principal, unit_id, month, as_of)
        return Response(exports.to_csv(unit_activity_table(report)),
                        media_type=exports.CSV_TYPE,
                        headers=exports.attachment(f"活动统计-{report.unit_name}-{month}.csv"))

    @get("/activity/xlsx", operation_id="exportUnitActivityXlsx", opt=read("unit_id"),
         media_type=exports.XLSX_TYPE, summary="The same month's activity as XLSX")
    async def activity_xlsx(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID], month: RequiredMonth,
        as_of: FromQuery[date | None] = None,
    ) -> Response[bytes]:
        _check(month, as_of)
        report = await self._activity(pool, principal, unit_id, month, as_of)
        return Response(exports.to_xlsx(unit_activity_table(report), f"活动统计{month}",
                                        f"{report.unit_name} {month_name(month)} 活动统计"),
                        media_type=exports.XLSX_TYPE,
                        headers=exports.attachment(f"活动统计-{report.unit_name}-{month}.xlsx"))

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
