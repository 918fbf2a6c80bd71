"""A unit's monthly honor roll: draft or published view, exports, publish, objections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Template

from contract.calendar import MONTH
from ledger.adapters.tokens import Principal
from ledger.entrypoints.dependencies import bearer_token
from reports.adapters import honor_roll_store
from reports.adapters.ledger_client import LedgerClient, ObjectionRequest
from reports.config import Settings
from reports.domain.tables import honor_roll_table
from reports.domain.views import HonorRollView
from reports.entrypoints import exports
from reports.entrypoints.controllers.members import WaitFor
from reports.entrypoints.dependencies import check_unit, fresh_enough, snapshot
from reports.entrypoints.problems import invalid, problem
from reports.service import honor_rolls
from reports.service.ports import Feed
from reports.service.runner import Progress

RuleSetName = Annotated[str, QueryParameter(description="Rule set name")]
RuleVersion = Annotated[int | None, QueryParameter(ge=1, description="Default: the latest")]
Draft = Annotated[bool, QueryParameter(
    description="Show the roll as computed now even when the month is published")]


class PublishBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    rule_set: str = "standard"
    rule_version: int | None = None
    publicity_days: int = 7
    # Makes a retry safe: the ledger appends once per command id.
    command_id: uuid.UUID | None = None


class ObjectionBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    objection: str
    member_id: uuid.UUID | None = None
    command_id: uuid.UUID | None = None


class LedgerAnswer(msgspec.Struct, frozen=True, kw_only=True):
    ledger: dict[str, Any]
    honor_roll: HonorRollView | None = None


def _month(month: str) -> str:
    if not MONTH.match(month):
        raise invalid("month", "月份格式应为 YYYY-MM", "month must be YYYY-MM")
    return month


async def _view(pool: asyncpg.Pool, principal: Principal, unit_id: uuid.UUID, month: str,
                rule_set: str, rule_version: int | None, draft: bool) -> HonorRollView:
    async with snapshot(pool) as connection:
        unit = await check_unit(connection, principal, unit_id)
        if not draft and (view := await honor_rolls.published(
                connection, principal.tenant_id, unit_id, unit["name"], _month(month))):
            return view
        rules = await honor_roll_store.rule_set(connection, principal.tenant_id, rule_set,
                                                rule_version)
        if rules is None:
            raise problem(404, "rule_set_not_found", "评选规则不存在", "no such rule set",
                          field="rule_set")
        return await honor_rolls.draft(connection, principal.tenant_id, unit_id, unit["name"],
                                       _month(month), rules)


class HonorRollController(Controller):
    path = "/api/v1/units/{unit_id:uuid}/honor-rolls/{month:str}"
    tags = ("honor rolls",)

    @get("/", operation_id="getHonorRoll",
         summary="The published roll, or the draft as computed now")
    async def view(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        progress: NamedDependency[Progress | None], settings: NamedDependency[Settings],
        feed: NamedDependency[Feed],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False, wait_for: WaitFor = None,
    ) -> HonorRollView:
        await fresh_enough(pool, feed, principal.tenant_id, wait_for, progress, settings)
        return await _view(pool, principal, unit_id, month, rule_set, rule_version, draft)

    @get("/csv", operation_id="exportHonorRollCsv", summary="The same roll as CSV",
         media_type=exports.CSV_TYPE)
    async def csv(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False,
    ) -> Response[bytes]:
        view = await _view(pool, principal, unit_id, month, rule_set, rule_version, draft)
        return Response(exports.to_csv(honor_roll_table(view)), media_type=exports.CSV_TYPE,
                        headers=exports.attachment(f"光荣榜-{view.unit_name}-{month}.csv"))

    @get("/xlsx", operation_id="exportHonorRollXlsx", summary="The same roll as XLSX",
         media_type=exports.XLSX_TYPE)
    async def xlsx(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False,
    ) -> Response[bytes]:
        view = await _view(pool, principal, unit_id, month, rule_set, rule_version, draft)
        return Response(exports.to_xlsx(honor_roll_table(view), f"光荣榜{month}"),
                        media_type=exports.XLSX_TYPE,
                        headers=exports.attachment(f"光荣榜-{view.unit_name}-{month}.xlsx"))

    @get("/print", operation_id="printHonorRoll", media_type="text/html",
         summary="A printable A4 page (names masked unless mask=false)")
    async def print_page(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], rule_set: RuleSetName = "standard",
        rule_version: RuleVersion = None, draft: Draft = False,
        mask: Annotated[bool, QueryParameter(description="Mask names for public display")]
        = True,
    ) -> Template:
        view = await _view(pool, principal, unit_id, month, rule_set, rule_version, draft)
        headers, rows = honor_roll_table(view, mask=mask)
        return Template("honor_roll.html", context={"view": view, "headers": headers,
                                                    "rows": rows})

    @post("/publish", operation_id="publishHonorRoll", status_code=201,
          summary="Freeze the draft: appended through the ledger's API with your token")
    async def publish(
        self, request: Request, pool: NamedDependency[asyncpg.Pool],
        principal: NamedDependency[Principal], ledger: NamedDependency[LedgerClient],
        unit_id: FromPath[uuid.UUID], month: FromPath[str], data: JSONBody[PublishBody],
    ) -> Response[LedgerAnswer]:
        view = await _view(pool, principal, unit_id, month, data.rule_set, data.rule_version,
                           draft=True)
        answer = await honor_rolls.publish(
            ledger, bearer_token(request), view, command_id=data.command_id or uuid.uuid4(),
            publicity_days=data.publicity_days)
        return Response(LedgerAnswer(ledger=answer.body,
                                     honor_roll=view if answer.status_code < 300 else None),
                        status_code=answer.status_code)

    @post("/objections", operation_id="recordHonorRollObjection", status_code=201,
          summary="Record an objection in the publicity window (through the ledger)")
    async def object_to(
        self, request: Request, principal: NamedDependency[Principal],
        ledger: NamedDependency[LedgerClient], unit_id: FromPath[uuid.UUID],
        month: FromPath[str], data: JSONBody[ObjectionBody],
    ) -> Response[LedgerAnswer]:
        answer = await ledger.record_objection(
            bearer_token(request), unit_id, _month(month),
            ObjectionRequest(command_id=data.command_id or uuid.uuid4(),
                             member_id=data.member_id, objection=data.objection))
        return Response(LedgerAnswer(ledger=answer.body), status_code=answer.status_code)
