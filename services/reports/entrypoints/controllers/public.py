"""The public honor roll: published rolls only, names masked, nothing else about anyone.

The tenant is in the path because there is no token. An unpublished month, an unknown unit
and an unknown tenant all answer the same 404, so the page reveals nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, PathParameter
from litestar.response import Template

from contract.access import PUBLIC
from contract.problems import Refusal
from reports.adapters import unit_reports
from reports.domain.views import PublicHonorRoll
from reports.entrypoints.controllers.honor_rolls import poster
from reports.entrypoints.dependencies import snapshot
from reports.entrypoints.problems import not_found
from reports.service import honor_rolls
from reports.service.ports import Directory

# Out of these bounds the path names nothing: 404 like any other unknown roll.
Tenant = Annotated[str, PathParameter(max_length=64)]
Month = Annotated[str, PathParameter(max_length=7, description="YYYY-MM")]


async def _published(pool: asyncpg.Pool, directory: Directory, tenant_id: str,
                     unit_id: uuid.UUID, month: str):
    async with snapshot(pool) as connection:
        unit = await unit_reports.unit(connection, tenant_id, unit_id)
        view = unit and await honor_rolls.published(connection, directory, tenant_id, unit_id,
                                                    unit["name"], month)
    if not view:
        raise not_found("已发布的光荣榜", "published honor roll")
    return view


class PublicHonorRollController(Controller):
    path = "/public/{tenant_id:str}/honor-rolls/{unit_id:str}/{month:str}"
    tags = ("public",)

    @get("/", operation_id="getPublicHonorRoll",
         opt=PUBLIC.opt(), summary="A published roll, names masked")
    async def view(self, pool: NamedDependency[asyncpg.Pool],
                   directory: NamedDependency[Directory], tenant_id: Tenant,
                   unit_id: FromPath[uuid.UUID], month: Month) -> PublicHonorRoll:
        return honor_rolls.public(await _published(pool, directory, tenant_id, unit_id, month))

    @get("/page", operation_id="getPublicHonorRollPage", opt=PUBLIC.opt(), media_type="text/html",
         summary="The published roll as a printable A4 page, names masked")
    async def page(self, request: Request, pool: NamedDependency[asyncpg.Pool],
                   directory: NamedDependency[Directory], tenant_id: Tenant,
                   unit_id: FromPath[uuid.UUID], month: Month) -> Template:
        """A browser (asking for HTML) that opens a month not published gets a page saying
        so; any other client the problem document."""
        try:
            view = await _published(pool, directory, tenant_id, unit_id, month)
        except Refusal:
            if request.accept.best_match(["application/json", "text/html"]) != "text/html":
                raise
            return Template("not_published.html", status_code=404)
        return await poster(pool, tenant_id, view, mask=True)
