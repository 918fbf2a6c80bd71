"""A unit's monthly honor roll: the draft as computed now or the published (frozen) one, and
its exports. Publishing and objections are the ledger's commands (it computes the roll
it freezes by asking for the draft here)."""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from contract.access import Principal, read
from contract.bounds import INT4_MAX
from contract.calendar import local_date, month_name, today, valid_month
from contract.vocabulary import hours_text
from reports.adapters import honor_roll_store, unit_reports
from reports.config import Settings
from reports.domain.tables import honor_roll_table
from reports.domain.views import HonorRollView
from reports.entrypoints import exports
from reports.entrypoints.controllers.members import WaitFor
from reports.entrypoints.dependencies import check_unit, fresh_enough, snapshot
from reports.entrypoints.problems import problem
from reports.service import honor_rolls
from reports.service.ports import Directory, Feed
from reports.service.runner import Progress

RuleSetName = Annotated[str, QueryParameter(max_length=50, description="Rule set name")]
RuleVersion = Annotated[int | None, QueryParameter(ge=1, le=INT4_MAX,
                                                   description="Default: the latest")]
Draft = Annotated[bool, QueryParameter(
    description="Show the roll as computed now even when the month is published")]


async def poster(pool: asyncpg.Pool, tenant_id: str, view: HonorRollView, *,
                 mask: bool) -> Template:
    """The wall poster: the roll with the month's totals of the unit, the issuing unit, the
    date (of publishing; today for a draft) and the space for its seal."""
    async with snapshot(pool) as connection:
        report = await unit_reports.unit_activity(connection, tenant_id, view.unit_id,
                                                  view.month)
    issued = local_date(view.published_at) if view.published_at else today()
    return Template("honor_roll.html", context={
        "view": view, "table": honor_roll_table(view, mask=mask), "report": report,
        "month_name": month_name(view.month), "hours_text": hours_text,
        "issued": f"{issued.year}年{issued.month}月{issued.day}日"})


async def _view(pool: asyncpg.Pool, directory: Directory, principal: Principal,
                unit_id: uuid.UUID, month: str, rule_set: str, rule_version: int | None,
                draft: bool) -> HonorRollView:
    valid_month(month, source="path")
    async with snapshot(pool) as connection:
        unit = await check_unit(connection, principal, unit_id)
        if not draft and (view := await honor_rolls.published(
                connection, directory, principal.tenant_id, unit_id, unit["name"], month)):
            return view
        rules = await honor_roll_store.rule_set(connection, principal.tenant_id, rule_set,
                                                rule_version)
        if rules is None:
            raise problem(404, "rule_set_not_found", "评选规则不存在", "no such rule set",
                          field="rule_set")
        return await honor_rolls.draft(connection, directory, principal.tenant_id, unit_id,
                                       unit["name"], month, rules)


class HonorRollController(Controller):
    path = "/api/v1/units/{unit_id:str}/honor-rolls/{month:str}"
    tags = ("honor rolls",)

    @get("/", operation_id="getHonorRoll", opt=read("unit_id"),
         summary="The published roll, or the draft as computed now")
    async def view(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        progress: NamedDependency[Progress | None], settings: NamedDependency[Settings],
        feed: NamedDependency[Feed], directory: NamedDependency[Directory],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False, wait_for: WaitFor = None,
    ) -> HonorRollView:
        valid_month(month, source="path")  # refused before any wait for freshness
        await fresh_enough(pool, feed, principal.tenant_id, wait_for, progress, settings)
        return await _view(pool, directory, principal, unit_id, month, rule_set, rule_version,
                           draft)

    @get("/csv", operation_id="exportHonorRollCsv",
         opt=read("unit_id"), summary="The same roll as CSV",
         media_type=exports.CSV_TYPE)
    async def csv(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        directory: NamedDependency[Directory],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False,
    ) -> Response[bytes]:
        view = await _view(pool, directory, principal, unit_id, month, rule_set, rule_version,
                           draft)
        return Response(exports.to_csv(honor_roll_table(view)), media_type=exports.CSV_TYPE,
                        headers=exports.attachment(f"光荣榜-{view.unit_name}-{month}.csv"))

    @get("/xlsx", operation_id="exportHonorRollXlsx",
         opt=read("unit_id"), summary="The same roll as XLSX",
         media_type=exports.XLSX_TYPE)
    async def xlsx(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        directory: NamedDependency[Directory],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False,
    ) -> Response[bytes]:
        view = await _view(pool, directory, principal, unit_id, month, rule_set, rule_version,
                           draft)
        return Response(exports.to_xlsx(honor_roll_table(view), f"光荣榜{month}",
                                        f"{view.unit_name} {month_name(month)} 光荣榜"),
                        media_type=exports.XLSX_TYPE,
                        headers=exports.attachment(f"光荣榜-{view.unit_name}-{month}.xlsx"))

    @get("/print", operation_id="printHonorRoll", opt=read("unit_id"), media_type="text/html",
         summary="A printable A4 page (names masked unless mask=false)")
    async def print_page(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        directory: NamedDependency[Directory],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False,
        mask: Annotated[bool, QueryParameter(description="Mask names for public display")]
        = True,
    ) -> Template:
        view = await _view(pool, directory, principal, unit_id, month, rule_set, rule_version,
                           draft)
        return await poster(pool, principal.tenant_id, view, mask=mask)
