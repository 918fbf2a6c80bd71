"""Organiser sign-in (argon2 via `Organisers.authenticate`), their activities, scheduling.

The activity list pages through the ledger's activity catalogue (newest start first, a
title search and a status filter), limited to the organiser's unit and every unit below.

The session is a signed cookie naming tenant and organiser; every request re-reads the
organiser's account, so a removed account stops working at once. Every form carries
Litestar's CSRF token (see `ledger.entrypoints.pages.router`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect

from contract.bounds import has_controls
from contract.calendar import SHANGHAI
from contract.problems import Refusal
from ledger.adapters.attempts import Attempts
from ledger.adapters.directory import Organisers
from ledger.adapters.listings import ActivityFilter, ActivitySummary, InvalidCursor, Listings
from ledger.domain.activities import ActivityState, ScheduleActivity
from ledger.domain.organisation import OrgTree
from ledger.entrypoints.pages.common import (
    ORGANISER_AGE,
    ORGANISER_COOKIE,
    Limited,
    OrganiserSession,
    Page,
    PageServices,
    limited_check,
    parse_hours,
    safe_next,
)
from ledger.entrypoints.pages.forms import command_id_of, parse_window, required, whole_number
from ledger.entrypoints.pages.views import SHOWN, Shown, shown_status, unit_choices
from ledger.handlers import Ledger

KINDS = ("cleanup", "patrol", "service", "lecture", "meeting", "forum", "other")
PAGE_SIZE = 20
# The review list looks at this many of the newest activities in scope.
REVIEWED_ACTIVITIES = 200


class LoginRequired(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def login_redirect(request: Request, error: LoginRequired) -> Response[Any]:
    return Redirect(f"/organiser/login?next={error.path}", status_code=303)


async def provide_organiser(request: Request, page: NamedDependency[Page],
                            pages: NamedDependency[PageServices],
                            organisers: NamedDependency[Organisers]) -> OrganiserSession:
    payload = pages.signer.unsign("organiser", request.cookies.get(ORGANISER_COOKIE),
                                  max_age=ORGANISER_AGE, now=page.now)
    if payload is None:
        raise LoginRequired(request.url.path)
    try:
        tenant_id, organiser_id = str(payload["t"]), uuid.UUID(payload["o"])
    except (KeyError, ValueError, TypeError):
        raise LoginRequired(request.url.path) from None
    account = await organisers.get(tenant_id, organiser_id)
    if account is None:
        raise LoginRequired(request.url.path)
    return OrganiserSession(tenant_id, organiser_id, account.unit_id, account.name)


class LoginForm(msgspec.Struct, kw_only=True):
    tenant: str = ""
    login: str = ""
    password: str = ""
    next: str = ""


class ScheduleForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    host_unit_id: str = ""
    kind: str = "cleanup"
    category: str = "service"
    title: str = ""
    place: str = ""
    beneficiary: str = ""
    day: str = ""
    starts: str = ""
    ends: str = ""
    capacity: str = ""
    hours_cap: str = ""


@dataclass(frozen=True)
class ActivityRow:
    activity: ActivitySummary
    host: str
    shown: Shown


class ListQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The list's search box, status filter and page, as the query string carries them."""

    q: str = ""
    status: str = ""
    after: str = ""

    def link(self, after: str = "") -> str:
        """The query string of this search's page after `after` (the newest: none)."""
        query = urlencode({k: v for k, v in (("q", self.q), ("status", self.status),
                                             ("after", after)) if v})
        return f"?{query}" if query else ""


async def activities_in_scope(ledger: Ledger, listings: Listings,
                              session: OrganiserSession) -> tuple[OrgTree, list[ActivityState]]:
    """The newest activities the organiser's unit covers, with their state."""
    tree = await ledger.state.tree(session.tenant_id)
    items, _more = await listings.activities(
        session.tenant_id, ActivityFilter(units=tree.subtree(session.unit_id)), None,
        REVIEWED_ACTIVITIES)
    states = [await ledger.state.activity(session.tenant_id, item.activity_id) for item in items]
    return tree, [state for state in states if state is not None]


def status_filter(shown: str, now: datetime) -> dict[str, Any]:
    """The catalogue's filter for a status as the list names it."""
    match shown:
        case "upcoming":
            return {"status": "scheduled", "starts_from": now}
        case "ongoing":
            return {"status": "scheduled", "starts_before": now}
        case "closed" | "cancelled":
            return {"status": shown}
    return {}


class OrganiserPages(Controller):
    path = "/organiser"
    include_in_schema = False

    @get("/", operation_id="pageOrganiserHome")
    async def home(self, page: NamedDependency[Page]) -> Any:
        return page.redirect("/organiser/activities")

    @get("/login", operation_id="pageOrganiserLogin")
    async def login_form(self, page: NamedDependency[Page],
                         next: FromQuery[str | None] = None) -> Any:
        return page.render("login.html", form=LoginForm(next=next or ""))

    @post("/login", operation_id="pageOrganiserLoginSubmit", status_code=303)
    async def login(self, request: Request, page: NamedDependency[Page],
                    pages: NamedDependency[PageServices],
                    organisers: NamedDependency[Organisers],
                    attempts: NamedDependency[Attempts],
                    data: URLEncodedBody[LoginForm]) -> Any:
        form = LoginForm(tenant=data.tenant.strip()[:64], login=data.login.strip()[:128],
                         next=data.next)
        # Not looked up, nor shown again: PostgreSQL cannot even hold a NUL (contract.bounds).
        if has_controls(data.tenant) or has_controls(data.login):
            return page.render("login.html", status_code=422, form=LoginForm(next=form.next),
                               error=page.t("control_characters"))
        if not form.tenant or not form.login or not data.password:
            return page.render("login.html", status_code=422, form=form,
                               error=page.t("required"))
        account = await limited_check(
            attempts, "password", form.tenant, form.login, pages.client_address(request),
            page.now,
            lambda: organisers.authenticate(form.tenant, form.login, data.password[:256]))
        if isinstance(account, Limited):
            return page.render("login.html", status_code=account.status,
                               headers=account.headers, form=form,
                               error=page.limited(account))
        if account is None:
            return page.render("login.html", status_code=422, form=form,
                               error=page.t("login_failed"))
        value = pages.signer.sign("organiser", {"t": account.tenant_id,
                                                "o": str(account.organiser_id)}, page.now)
        cookie = pages.cookie(ORGANISER_COOKIE, value,
                              max_age=int(ORGANISER_AGE.total_seconds()))
        return page.redirect(safe_next(form.next, "/organiser/", "/organiser/activities"),
                             cookies=[cookie])

    @post("/logout", operation_id="pageOrganiserLogout", status_code=303)
    async def logout(self, page: NamedDependency[Page],
                     pages: NamedDependency[PageServices]) -> Any:
        return page.redirect("/organiser/login", cookies=[pages.expired(ORGANISER_COOKIE)])

    @get("/activities", operation_id="pageOrganiserActivities")
    async def activities(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                         listings: NamedDependency[Listings],
                         organiser: NamedDependency[OrganiserSession],
                         done: FromQuery[str | None] = None, q: FromQuery[str] = "",
                         status: FromQuery[str] = "", after: FromQuery[str] = "") -> Any:
        query = ListQuery(q=q.strip()[:100], status=status if status in SHOWN else "",
                          after=after)
        return await self._render(ledger, page, listings, organiser, query,
                                  form=ScheduleForm(day=page.now.astimezone(SHANGHAI)
                                                    .date().isoformat()),
                                  notice=page.t("scheduled_ok") if done else None)

    async def _render(self, ledger: Ledger, page: Page, listings: Listings,
                      organiser: OrganiserSession, query: ListQuery, status_code: int = 200,
                      **extra: Any) -> Any:
        tree = await ledger.state.tree(organiser.tenant_id)
        where = ActivityFilter(units=tree.subtree(organiser.unit_id), title=query.q or None,
                               **status_filter(query.status, page.now))
        try:
            items, following = await listings.activities(organiser.tenant_id, where,
                                                         query.after or None, PAGE_SIZE)
        except InvalidCursor:
            # A mangled "older" link: start again from the newest.
            query = ListQuery(q=query.q, status=query.status)
            items, following = await listings.activities(organiser.tenant_id, where, None,
                                                         PAGE_SIZE)
        rows = [ActivityRow(item, tree.units[item.host_unit_id].name
                            if item.host_unit_id in tree.units else "",
                            shown_status(item.status, item.starts_at, page.now))
                for item in items]
        return page.render("activities.html", status_code=status_code, rows=rows,
                           query=query, statuses=SHOWN,
                           older=query.link(following) if following else None,
                           organiser=organiser, units=unit_choices(tree, organiser.unit_id),
                           kinds=KINDS, command_id=uuid.uuid4(), **extra)

    @post("/activities", operation_id="pageScheduleActivity", status_code=303)
    async def schedule(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                       listings: NamedDependency[Listings],
                       organiser: NamedDependency[OrganiserSession],
                       data: URLEncodedBody[ScheduleForm]) -> Any:
        errors: dict[str, str] = {}
        try:
            # A command refuses a date outside the calendar's years as it is built.
            command = _schedule_command(data, errors, page)
            if command is not None:
                await ledger.activities.schedule(organiser.actor, command)
        except Refusal as refusal:
            errors[refusal.field or "form"] = page.refusal(refusal)
        if errors:
            return await self._render(ledger, page, listings, organiser, ListQuery(),
                                      status_code=422, form=data, errors=errors)
        return page.redirect("/organiser/activities?done=1")


def _schedule_command(data: ScheduleForm, errors: dict[str, str],
                      page: Page) -> ScheduleActivity | None:
    required(((name, getattr(data, name)) for name in ("host_unit_id", "title", "place")),
             errors, page)
    moments = parse_window(data.day, data.starts, data.ends, errors, page)
    capacity = whole_number(data.capacity, "capacity", errors, page)
    cap = None
    try:
        cap = parse_hours(data.hours_cap)
    except ValueError:
        errors["hours_cap"] = page.t("bad_number")
    if data.kind not in KINDS:
        errors["kind"] = page.t("required")
    if data.category not in ("service", "attendance"):
        errors["category"] = page.t("required")
    try:
        host = uuid.UUID(data.host_unit_id)
    except ValueError:
        errors.setdefault("host_unit_id", page.t("required"))
    if errors:
        return None
    return ScheduleActivity(
        command_id=command_id_of(data.command_id), kind=data.kind, category=data.category,  # type: ignore[arg-type]
        host_unit_id=host, title=data.title, place=data.place, beneficiary=data.beneficiary,
        starts_at=moments["starts"],
        ends_at=moments["ends"], capacity=capacity, hours_cap_minutes=cap)
