"""A member's hours (per month and kind, cumulative, star level) and full record list."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from contract.access import Principal, read
from contract.bounds import INT4_MAX
from contract.calendar import MONTH, in_calendar, valid_month
from contract.cursor import MAX_LENGTH as CURSOR_LENGTH
from contract.problems import invalid
from reports.adapters import member_reports
from reports.config import Settings
from reports.domain.views import MemberHours, MemberRecords
from reports.entrypoints.dependencies import check_member, fresh_enough, snapshot
from reports.service.ports import Directory, Feed
from reports.service.runner import Progress

Month = Annotated[str | None, QueryParameter(pattern=MONTH.pattern, description="YYYY-MM")]
WaitFor = Annotated[str | None, QueryParameter(
    max_length=CURSOR_LENGTH,
    description="Wait (bounded) until this position or feed cursor is applied")]
Offset = Annotated[int, QueryParameter(ge=0, le=INT4_MAX)]


def months(from_month: str | None, to_month: str | None) -> None:
    """A month range that can hold a record, first month first."""
    for name, month in (("from_month", from_month), ("to_month", to_month)):
        if month is not None:
            valid_month(month, name, source="query")
    if from_month is not None and to_month is not None and from_month > to_month:
        raise invalid("invalid_range", "开始月份晚于结束月份", "from_month is after to_month",
                      "from_month", source="query")


class MemberController(Controller):
    path = "/api/v1/members/{member_id:str}"
    tags = ("members",)

    @get("/hours", operation_id="getMemberHours", opt=read("member_id"),
         summary="Confirmed hours per month and kind, cumulative hours and star level")
    async def hours(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        progress: NamedDependency[Progress | None], settings: NamedDependency[Settings],
        feed: NamedDependency[Feed], directory: NamedDependency[Directory],
        member_id: FromPath[uuid.UUID], from_month: Month = None, to_month: Month = None,
        as_of: FromQuery[date | None] = None, wait_for: WaitFor = None,
    ) -> MemberHours:
        months(from_month, to_month)
        if as_of is not None:
            in_calendar(as_of, "as_of", source="query")
        await fresh_enough(pool, feed, principal.tenant_id, wait_for, progress, settings)
        async with snapshot(pool) as connection:
            await check_member(connection, principal, member_id)
            return await member_reports.member_hours(
                connection, directory, principal.tenant_id, member_id, from_month=from_month,
                to_month=to_month, as_of=as_of)

    @get("/records", operation_id="listMemberRecords", opt=read("member_id"),
         summary="The member's volunteer-service records, newest first, with corrections")
    async def records(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        progress: NamedDependency[Progress | None], settings: NamedDependency[Settings],
        feed: NamedDependency[Feed], directory: NamedDependency[Directory],
        member_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0, wait_for: WaitFor = None,
    ) -> MemberRecords:
        await fresh_enough(pool, feed, principal.tenant_id, wait_for, progress, settings)
        async with snapshot(pool) as connection:
            await check_member(connection, principal, member_id)
            return await member_reports.member_records(
                connection, directory, principal.tenant_id, member_id, limit=limit, offset=offset)
