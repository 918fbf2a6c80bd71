"""The committee dashboard: a unit's year by month and by the units below it, as JSON and
as a Chinese page with server-drawn SVG charts and the same figures in tables. A street or
community token reads its own subtree (the `unit_id` rule)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from contract.access import Principal, read
from contract.calendar import FIRST_YEAR, LAST_YEAR, today
from reports.adapters import dashboard_reports
from reports.domain import charts
from reports.domain.dashboard import Dashboard, month_labels
from reports.entrypoints.dependencies import check_unit, snapshot

Year = Annotated[int | None, QueryParameter(
    ge=FIRST_YEAR, le=LAST_YEAR - 1, description="The year (Asia/Shanghai); default this one")]


class DashboardController(Controller):
    path = "/api/v1/units/{unit_id:str}/dashboard"
    tags = ("units",)

    async def _dashboard(self, pool: asyncpg.Pool, principal: Principal, unit_id: uuid.UUID,
                         year: int | None) -> Dashboard:
        async with snapshot(pool) as connection:
            await check_unit(connection, principal, unit_id)
            found = await dashboard_reports.dashboard(connection, principal.tenant_id, unit_id,
                                                      year or today().year)
        assert found is not None  # check_unit found the unit
        return found

    @get("/", operation_id="getDashboard", opt=read("unit_id"),
         summary="The committee dashboard: a year by month, for the unit and each unit below",
         description="Per month: activities held (started and not cancelled), person-times "
                     "and hours confirmed, in-service members who took part and those "
                     "reported, and the participation rate (served / reported; null when "
                     "nobody was reported); for the unit's whole subtree and for each unit "
                     "directly below it, over the tree as it was at the time.")
    async def dashboard(self, pool: NamedDependency[asyncpg.Pool],
                        principal: NamedDependency[Principal],
                        unit_id: FromPath[uuid.UUID], year: Year = None) -> Dashboard:
        return await self._dashboard(pool, principal, unit_id, year)

    @get("/page", operation_id="getDashboardPage", opt=read("unit_id"),
         media_type="text/html", summary="The dashboard as a page (Chinese, SVG charts)")
    async def page(self, pool: NamedDependency[asyncpg.Pool],
                   principal: NamedDependency[Principal],
                   unit_id: FromPath[uuid.UUID], year: Year = None) -> Template:
        found = await self._dashboard(pool, principal, unit_id, year)
        return Template("dashboard.html", context=page_context(found))


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def page_context(found: Dashboard) -> dict[str, Any]:
    """The charts (drawn here) and what the tables show."""
    labels = [f"{int(m[5:])}月" for m in month_labels(found.year)]
    unit = found.unit
    name = unit.unit_name
    hours = charts.bar_chart(
        "hours", f"{name} {found.year}年每月服务时长",
        f"柱状图：{found.year}年各月经确认的服务时长（小时），全年合计 "
        f"{charts.number(unit.hours)} 小时；"
        "数字见下表。", labels, [m.hours for m in unit.months], "小时")
    person_times = charts.bar_chart(
        "person-times", f"{name} {found.year}年每月参与人次",
        f"柱状图：{found.year}年各月参与人次，全年合计 {unit.person_times} 人次；数字见下表。",
        labels, [m.person_times for m in unit.months], "人次")
    rates = [("全部", [_percent(m.participation_rate) for m in unit.months])]
    rates += [(child.unit_name, [_percent(m.participation_rate) for m in child.months])
              for child in found.children]
    rate_chart = charts.line_chart(
        "rate", f"{name} {found.year}年每月参与率",
        "折线图：各月参与率（参与的在职报到党员 / 报到的在职党员，百分比），"
        "每条线一个单位；无人报到的月份不画点；数字见下表。", labels, rates, "%", top=100)
    by_unit = charts.line_chart(
        "by-unit", f"{name} {found.year}年各单位每月服务时长",
        "折线图：下属各单位每月服务时长（小时）的走势，每条线一个单位；数字见下表。",
        labels, [(c.unit_name, [m.hours for m in c.months]) for c in found.children], "小时")
    return {"d": found, "labels": labels, "hours_chart": hours,
            "person_times_chart": person_times, "rate_chart": rate_chart,
            "rate_legend": charts.legend([n for n, _ in rates]),
            "by_unit_chart": by_unit,
            "by_unit_legend": charts.legend([c.unit_name for c in found.children]),
            "percent": _percent, "num": charts.number}
