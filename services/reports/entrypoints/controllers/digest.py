"""The employer feedback digest (双报到) as JSON, CSV and XLSX: over the caller's scope, or
over one unit's subtree (the unit in the path, so the access guard checks it is the
caller's), with the employers a digest can be asked for."""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from contract.access import Principal, read
from contract.bounds import INT4_MAX
from contract.calendar import QUARTER, valid_quarter
from reports.adapters import digest_reports
from reports.domain.tables import digest_table
from reports.domain.views import EmployerDigest, EmployerList
from reports.entrypoints import exports
from reports.entrypoints.dependencies import check_unit, snapshot
from reports.service.ports import Directory

Employer = Annotated[str, QueryParameter(min_length=1, max_length=200)]
Quarter = Annotated[str, QueryParameter(pattern=QUARTER.pattern, description="e.g. 2026Q1")]
Limit = Annotated[int, QueryParameter(ge=1, le=5000)]
Offset = Annotated[int, QueryParameter(ge=0, le=INT4_MAX)]


async def _scope(connection: asyncpg.Connection, principal: Principal,
                 unit_id: uuid.UUID | None) -> uuid.UUID | None:
    """The subtree the digest covers: the unit's (guarded), else the caller's."""
    if unit_id is None:
        return principal.scope_unit_id
    await check_unit(connection, principal, unit_id)
    return unit_id


async def _digest(pool: asyncpg.Pool, directory: Directory, principal: Principal,
                  unit_id: uuid.UUID | None, employer: str, quarter: str, limit: int,
                  offset: int) -> EmployerDigest:
    valid_quarter(quarter, source="query")
    async with snapshot(pool) as connection:
        return await digest_reports.employer_digest(
            connection, directory, principal.tenant_id, employer, quarter,
            scope_unit_id=await _scope(connection, principal, unit_id), limit=limit,
            offset=offset)


def _quarter_name(quarter: str) -> str:
    year, number = QUARTER.match(quarter).groups()  # valid_quarter has checked it
    return f"{year}年第{number}季度"


def _csv(digest: EmployerDigest) -> Response[bytes]:
    return Response(exports.to_csv(digest_table(digest)), media_type=exports.CSV_TYPE,
                    headers=exports.attachment(
                        f"双报到反馈-{digest.employer}-{digest.quarter}.csv"))


def _xlsx(digest: EmployerDigest) -> Response[bytes]:
    return Response(exports.to_xlsx(digest_table(digest), f"双报到{digest.quarter}",
                                    f"{digest.employer} {_quarter_name(digest.quarter)} "
                                    "双报到反馈"),
                    media_type=exports.XLSX_TYPE,
                    headers=exports.attachment(
                        f"双报到反馈-{digest.employer}-{digest.quarter}.xlsx"))


class DigestController(Controller):
    path = "/api/v1/employer-digest"
    tags = ("employer digest",)

    @get("/", operation_id="getEmployerDigest", opt=read(),
         summary="Per employer and quarter: each in-service member's status, activities, hours")
    async def digest(self, pool: NamedDependency[asyncpg.Pool],
                     directory: NamedDependency[Directory],
                     principal: NamedDependency[Principal], employer: Employer,
                     quarter: Quarter, limit: Limit = 100, offset: Offset = 0) -> EmployerDigest:
        return await _digest(pool, directory, principal, None, employer, quarter, limit,
                             offset)

    @get("/csv", operation_id="exportEmployerDigestCsv", opt=read(), media_type=exports.CSV_TYPE,
         summary="The same digest page as CSV")
    async def csv(self, pool: NamedDependency[asyncpg.Pool],
                  directory: NamedDependency[Directory],
                  principal: NamedDependency[Principal], employer: Employer, quarter: Quarter,
                  limit: Limit = 100, offset: Offset = 0) -> Response[bytes]:
        return _csv(await _digest(pool, directory, principal, None, employer, quarter, limit,
                                  offset))

    @get("/xlsx", operation_id="exportEmployerDigestXlsx", opt=read(), media_type=exports.XLSX_TYPE,
         summary="The same digest page as XLSX")
    async def xlsx(self, pool: NamedDependency[asyncpg.Pool],
                   directory: NamedDependency[Directory],
                   principal: NamedDependency[Principal], employer: Employer, quarter: Quarter,
                   limit: Limit = 100, offset: Offset = 0) -> Response[bytes]:
        return _xlsx(await _digest(pool, directory, principal, None, employer, quarter, limit,
                                   offset))


class UnitDigestController(Controller):
    path = "/api/v1/units/{unit_id:str}/employer-digest"
    tags = ("employer digest",)

    @get("/", operation_id="getUnitEmployerDigest", opt=read("unit_id"),
         summary="The digest over the members reported to the unit or below")
    async def digest(self, pool: NamedDependency[asyncpg.Pool],
                     directory: NamedDependency[Directory],
                     principal: NamedDependency[Principal], unit_id: FromPath[uuid.UUID],
                     employer: Employer, quarter: Quarter, limit: Limit = 100,
                     offset: Offset = 0) -> EmployerDigest:
        return await _digest(pool, directory, principal, unit_id, employer, quarter, limit,
                             offset)

    @get("/employers", operation_id="listUnitDigestEmployers", opt=read("unit_id"),
         summary="The employers of the in-service members reported to the unit or below, "
                 "most members first")
    async def employers(self, pool: NamedDependency[asyncpg.Pool],
                        principal: NamedDependency[Principal], unit_id: FromPath[uuid.UUID],
                        quarter: Quarter, limit: Limit = 500) -> EmployerList:
        valid_quarter(quarter, source="query")
        async with snapshot(pool) as connection:
            return await digest_reports.employers(
                connection, principal.tenant_id, quarter,
                scope_unit_id=await _scope(connection, principal, unit_id), limit=limit)

    @get("/csv", operation_id="exportUnitEmployerDigestCsv", opt=read("unit_id"),
         media_type=exports.CSV_TYPE, summary="The unit's digest page as CSV")
    async def csv(self, pool: NamedDependency[asyncpg.Pool],
                  directory: NamedDependency[Directory],
                  principal: NamedDependency[Principal], unit_id: FromPath[uuid.UUID],
                  employer: Employer, quarter: Quarter, limit: Limit = 100,
                  offset: Offset = 0) -> Response[bytes]:
        return _csv(await _digest(pool, directory, principal, unit_id, employer, quarter,
                                  limit, offset))

    @get("/xlsx", operation_id="exportUnitEmployerDigestXlsx", opt=read("unit_id"),
         media_type=exports.XLSX_TYPE, summary="The unit's digest page as XLSX")
    async def xlsx(self, pool: NamedDependency[asyncpg.Pool],
                   directory: NamedDependency[Directory],
                   principal: NamedDependency[Principal], unit_id: FromPath[uuid.UUID],
                   employer: Employer, quarter: Quarter, limit: Limit = 100,
                   offset: Offset = 0) -> Response[bytes]:
        return _xlsx(await _digest(pool, directory, principal, unit_id, employer, quarter,
                                   limit, offset))
