"""The organiser's honor-roll pages: each unit's month, draft or published, the community
summary, publishing (公示 starts), the printable poster and the public masked page.

The reports service computes the rolls and the summary; these pages check the organiser's
scope and then ask it (`ReportsClient`, with the ledger's own read-only token). Publishing
is the ledger's command: it freezes the roll the reports compute at that moment.
`REPORTS_PUBLIC_URL` names where browsers reach the reports service (its public masked
pages); `REPORTS_URL` where this service does.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody

from contract.calendar import MONTH, local_date, month_of
from contract.problems import Refusal, not_found
from contract.report_columns import HONOR_ROLL
from contract.vocabulary import hours_text
from ledger.adapters.reports_client import ReportsClient
from ledger.domain.honor_rolls import PublishHonorRoll
from ledger.domain.organisation import OrgTree, Unit
from ledger.entrypoints.pages.common import OrganiserSession, Page
from ledger.entrypoints.pages.confirm import YES, confirmation
from ledger.handlers import Ledger

# Units that keep an honor roll: where volunteers report and activities are hosted.
ROLL_KINDS = ("community", "branch", "team")


def recent_months(today: date, count: int = 3) -> list[str]:
    """The months before this one (the current month's roll is not final yet), newest first."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(f"{year:04d}-{month:02d}")
    return months


def provide_reports(state: State) -> ReportsClient:
    return state.reports


class PublishForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    publicity_days: str = "7"
    # "yes" once the organiser has confirmed (pages/confirm.py).
    confirmed: str = ""


def problem_text(response: httpx.Response, page: Page) -> str:
    """The reports service's (or the ledger's) problem detail, in the page's language."""
    try:
        problem = response.json()
    except ValueError:
        return page.t("error")
    if page.lang == "en":
        return problem.get("detail_en") or problem.get("title") or page.t("error")
    return problem.get("detail") or problem.get("title") or page.t("error")


# The files a report is exported as, by the last segment of their page's path.
EXPORT_FORMATS = ("csv", "xlsx")


def export_format(fmt: str) -> str:
    """`fmt` when the reports export it; any other is no page (404)."""
    if fmt not in EXPORT_FORMATS:
        raise not_found("not_found", "页面不存在", "page not found")
    return fmt


def passed_through(answer: httpx.Response) -> Response[bytes]:
    """A reports answer (a file, the poster, a problem) as the reports gave it, with its
    file name."""
    headers = {name: answer.headers[name] for name in ("content-disposition",)
               if name in answer.headers}
    return Response(answer.content, status_code=answer.status_code, headers=headers,
                    media_type=answer.headers.get("content-type", "text/html"))


@dataclass
class TreeNode:
    """A unit in the organiser's scope, its month's totals (for the units that roll others
    up: district, street, community) and the units below it."""

    unit: Unit
    children: list[TreeNode] = field(default_factory=list)
    totals: dict[str, Any] | None = None

    @property
    def has_roll(self) -> bool:
        return self.unit.kind in ROLL_KINDS

    def walk(self) -> Iterator[TreeNode]:
        yield self
        for child in self.children:
            yield from child.walk()


# Building groups keep no roll and add nothing to the tree a committee reads.
TREE_KINDS = ("district", "street", "community", "branch", "team")
ROLL_UP_KINDS = ("district", "street", "community")


def unit_tree(tree: OrgTree, scope_unit_id: uuid.UUID | None) -> list[TreeNode]:
    """The active units in scope as a tree (a tenant-wide organiser: every top unit)."""
    def node(unit: Unit) -> TreeNode:
        children = sorted((u for u in tree.children(unit.unit_id) if u.kind in TREE_KINDS),
                          key=lambda u: (TREE_KINDS.index(u.kind), u.name))
        return TreeNode(unit, [node(child) for child in children])

    if scope_unit_id is not None:
        top = tree.units.get(scope_unit_id)
        roots = [top] if top is not None and top.active else []
    else:
        roots = sorted((u for u in tree.units.values() if u.active and u.parent_id is None),
                       key=lambda u: u.name)
    return [node(unit) for unit in roots if unit.kind in TREE_KINDS]


async def _add_totals(reports: ReportsClient, tenant_id: str, nodes: list[TreeNode],
                      month: str) -> None:
    """Each roll-up unit's month as the reports count it (its whole subtree, as the tree
    was), asked for all at once."""
    rolling = [n for root in nodes for n in root.walk() if n.unit.kind in ROLL_UP_KINDS]
    answers = await asyncio.gather(*(
        reports.get(tenant_id, f"/api/v1/units/{n.unit.unit_id}/activity", {"month": month})
        for n in rolling))
    for n, answer in zip(rolling, answers, strict=True):
        if answer.status_code == 200:
            n.totals = answer.json()


async def scoped_unit(ledger: Ledger, organiser: OrganiserSession, unit_id: uuid.UUID,
                      month: str) -> str:
    """The unit's name, if it is in the organiser's scope and the month is one."""
    tree = await ledger.state.tree(organiser.tenant_id)
    unit = tree.units.get(unit_id)
    if unit is None or not tree.covers(organiser.unit_id, unit_id) or not MONTH.match(month):
        raise not_found("not_found", "页面不存在", "page not found")
    return unit.name


def reports_public_base() -> str:
    """Where browsers reach the reports service (`REPORTS_PUBLIC_URL`)."""
    return os.environ.get("REPORTS_PUBLIC_URL", "http://127.0.0.1:8001").rstrip("/")


class HonorRollPages(Controller):
    path = "/organiser/honor-rolls"
    include_in_schema = False

    @get("/", operation_id="pageHonorRollLinks")
    async def links(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                    organiser: NamedDependency[OrganiserSession],
                    reports: NamedDependency[ReportsClient],
                    month: FromQuery[str | None] = None) -> Any:
        months = recent_months(local_date(page.now), 12)
        # Only the months offered; anything else (a typo, a future month) shows the last one.
        chosen = month if month in months else months[0]
        tree = await ledger.state.tree(organiser.tenant_id)
        nodes = unit_tree(tree, organiser.unit_id)
        problem = None
        try:
            await _add_totals(reports, organiser.tenant_id, nodes, chosen)
        except httpx.HTTPError:
            problem = page.t("reports_unavailable")
        return page.render("honor_rolls.html", organiser=organiser, nodes=nodes,
                           months=months, month=chosen, problem=problem,
                           hours_text=hours_text)

    @get("/{unit_id:uuid}/{month:str}", operation_id="pageHonorRoll")
    async def roll(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                   organiser: NamedDependency[OrganiserSession],
                   reports: NamedDependency[ReportsClient], unit_id: FromPath[uuid.UUID],
                   month: FromPath[str], done: FromQuery[str | None] = None) -> Any:
        return await self._render(ledger, page, organiser, reports, unit_id, month,
                                  notice=page.t("published_ok") if done == "published"
                                  else None)

    async def _render(self, ledger: Ledger, page: Page, organiser: OrganiserSession,
                      reports: ReportsClient, unit_id: uuid.UUID, month: str, *,
                      notice: str | None = None, error: str | None = None) -> Any:
        unit_name = await scoped_unit(ledger, organiser, unit_id, month)
        answer, summary = await asyncio.gather(
            reports.get(organiser.tenant_id, f"/api/v1/units/{unit_id}/honor-rolls/{month}"),
            reports.get(organiser.tenant_id, f"/api/v1/units/{unit_id}/summary",
                        {"month": month}))
        roll = answer.json() if answer.status_code == 200 else None
        return page.render(
            "honor_roll.html", organiser=organiser, unit_id=unit_id, unit_name=unit_name,
            month=month, roll=roll, columns=HONOR_ROLL,
            problem=None if roll else problem_text(answer, page),
            summary=summary.json()["text"] if summary.status_code == 200 else None,
            # A month can be published once it is over (in Shanghai).
            can_publish=(roll is not None and roll["status"] == "draft"
                         and month < month_of(page.now)),
            public_url=f"{reports_public_base()}/public/{organiser.tenant_id}/honor-rolls/"
                       f"{unit_id}/{month}/page",
            notice=notice, error=error, new_id=uuid.uuid4,
        )

    @post("/{unit_id:uuid}/{month:str}/publish", operation_id="pagePublishHonorRoll",
          status_code=303)
    async def publish(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                      organiser: NamedDependency[OrganiserSession],
                      reports: NamedDependency[ReportsClient], unit_id: FromPath[uuid.UUID],
                      month: FromPath[str], data: URLEncodedBody[PublishForm]) -> Any:
        await scoped_unit(ledger, organiser, unit_id, month)
        try:
            command = PublishHonorRoll(command_id=uuid.UUID(data.command_id), unit_id=unit_id,
                                       month=month, publicity_days=int(data.publicity_days or 7))
        except ValueError:
            return await self._render(ledger, page, organiser, reports, unit_id, month,
                                      error=page.t("publicity_days_invalid"))
        if data.confirmed != YES:
            roll_page = f"/organiser/honor-rolls/{unit_id}/{month}"
            return confirmation(page, organiser, question=page.t("confirm_publish"),
                                action=f"{roll_page}/publish", yes=page.t("publish_yes"),
                                fields={"command_id": str(command.command_id),
                                        "publicity_days": str(command.publicity_days)},
                                back=roll_page)
        try:
            await ledger.honor_rolls.publish(organiser.actor, command)
        except Refusal as refusal:
            return await self._render(ledger, page, organiser, reports, unit_id, month,
                                      error=page.refusal(refusal))
        return page.redirect(f"/organiser/honor-rolls/{unit_id}/{month}?done=published")

    @get("/{unit_id:uuid}/{month:str}/{fmt:str}", operation_id="pageExportHonorRoll")
    async def export(self, ledger: NamedDependency[Ledger],
                     organiser: NamedDependency[OrganiserSession],
                     reports: NamedDependency[ReportsClient], unit_id: FromPath[uuid.UUID],
                     month: FromPath[str], fmt: FromPath[str]) -> Response[bytes]:
        """`…/csv`, `…/xlsx`: the roll as shown (published, or the draft), as the reports
        export it: the page's columns."""
        export_format(fmt)
        await scoped_unit(ledger, organiser, unit_id, month)
        return passed_through(await reports.get(
            organiser.tenant_id, f"/api/v1/units/{unit_id}/honor-rolls/{month}/{fmt}"))

    @get("/{unit_id:uuid}/{month:str}/print", operation_id="pagePrintHonorRoll")
    async def print_page(self, ledger: NamedDependency[Ledger],
                         organiser: NamedDependency[OrganiserSession],
                         reports: NamedDependency[ReportsClient], unit_id: FromPath[uuid.UUID],
                         month: FromPath[str]) -> Response[bytes]:
        """The reports service's printable A4 poster, passed through as it is."""
        await scoped_unit(ledger, organiser, unit_id, month)
        return passed_through(await reports.get(
            organiser.tenant_id, f"/api/v1/units/{unit_id}/honor-rolls/{month}/print"))
