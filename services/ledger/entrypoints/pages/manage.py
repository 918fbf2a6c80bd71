"""Changing an activity on the pages: its title and capacity (`ActivityDetailsRevised`), its
time and place (rescheduling, `ActivityRescheduled`) and cancelling it with a reason
(`ActivityCancelled`), through the same use case as the API (`ledger.activities.manage`),
which checks scope and state again. Cancelling asks for a confirmation first
(pages/confirm.py); a refusal (someone has checked in, hours are confirmed, fewer places
than people already there) re-renders the form with what was typed and the ledger's
message."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody

from contract.bounds import has_controls
from contract.calendar import SHANGHAI
from contract.problems import Refusal
from ledger.domain.activities import (
    ActivityState,
    CancelActivity,
    RescheduleActivity,
    ReviseActivityDetails,
)
from ledger.entrypoints.pages.common import OrganiserSession, Page
from ledger.entrypoints.pages.confirm import YES, confirmation
from ledger.entrypoints.pages.forms import command_id_of, parse_window, required, whole_number
from ledger.entrypoints.pages.views import shown_status
from ledger.handlers import Ledger
from ledger.handlers.activities import Management


class ReviseForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    title: str = ""
    # Blank: no limit.
    capacity: str = ""
    reason: str = ""


class RescheduleForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    day: str = ""
    starts: str = ""
    ends: str = ""
    place: str = ""
    reason: str = ""


class CancelForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    reason: str = ""
    confirmed: str = ""


_Form = ReviseForm | RescheduleForm | CancelForm


def _echo(form: _Form) -> _Form:
    """What was typed, to show again, without any field holding a control character
    (refused, and not to be written back into the page: contract.bounds)."""
    clear = {name: "" for name in form.__struct_fields__
             if has_controls(getattr(form, name))}
    return msgspec.structs.replace(form, **clear)


def _details(activity: ActivityState) -> ReviseForm:
    capacity = "" if activity.capacity is None else str(activity.capacity)
    return ReviseForm(title=activity.title, capacity=capacity)


def _as_typed(activity: ActivityState) -> RescheduleForm:
    starts, ends = activity.starts_at.astimezone(SHANGHAI), activity.ends_at.astimezone(SHANGHAI)
    return RescheduleForm(day=starts.date().isoformat(), starts=starts.strftime("%H:%M"),
                          ends=ends.strftime("%H:%M"), place=activity.place)


class ManagePages(Controller):
    path = "/organiser/activities/{activity_id:uuid}"
    include_in_schema = False

    async def _render(self, ledger: Ledger, page: Page, organiser: OrganiserSession,
                      activity_id: uuid.UUID, status_code: int = 200, **extra: Any) -> Any:
        tenant = organiser.tenant_id
        activity = await ledger.state.activity(tenant, activity_id)
        tree = await ledger.state.tree(tenant)
        if activity is None or not tree.covers(organiser.unit_id, activity.host_unit_id):
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("activity_missing"))
        extra.setdefault("revised", _details(activity))
        extra.setdefault("moved", _as_typed(activity))
        extra.setdefault("cancel", CancelForm())
        return page.render("activity_edit.html", status_code=status_code, activity=activity,
                           shown=shown_status(activity.status, activity.starts_at, page.now),
                           organiser=organiser, new_id=uuid.uuid4, **extra)

    @get("/edit", operation_id="pageEditActivity")
    async def edit(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                   organiser: NamedDependency[OrganiserSession],
                   activity_id: FromPath[uuid.UUID]) -> Any:
        return await self._render(ledger, page, organiser, activity_id)

    async def _change(self, ledger: Ledger, page: Page, organiser: OrganiserSession,
                      activity_id: uuid.UUID, data: _Form, errors: dict[str, str],
                      command: Callable[[], Management], *, form: str, done: str) -> Any:
        """Issue the form's command unless what was typed is wrong already; the form again
        with what was typed and why (`form`: its name on the page), or the roster."""
        if not errors:
            try:
                # Built here: a command refuses a date outside the calendar's years.
                await ledger.activities.manage(organiser.actor, activity_id, command())
            except Refusal as refusal:
                errors[refusal.field or "form"] = page.refusal(refusal)
        if errors:
            return await self._render(ledger, page, organiser, activity_id, status_code=422,
                                      **{form: _echo(data), f"{form}_errors": errors})
        return page.redirect(f"/organiser/activities/{activity_id}?done={done}")

    @post("/revise", operation_id="pageReviseActivity", status_code=303)
    async def revise(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     organiser: NamedDependency[OrganiserSession],
                     activity_id: FromPath[uuid.UUID], data: URLEncodedBody[ReviseForm]) -> Any:
        errors: dict[str, str] = {}
        required((("title", data.title), ("reason", data.reason)), errors, page)
        capacity = whole_number(data.capacity, "capacity", errors, page)
        return await self._change(
            ledger, page, organiser, activity_id, data, errors,
            lambda: ReviseActivityDetails(command_id=command_id_of(data.command_id),
                                          title=data.title, capacity=capacity,
                                          reason=data.reason),
            form="revised", done="revised")

    @post("/reschedule", operation_id="pageRescheduleActivity", status_code=303)
    async def reschedule(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                         organiser: NamedDependency[OrganiserSession],
                         activity_id: FromPath[uuid.UUID],
                         data: URLEncodedBody[RescheduleForm]) -> Any:
        errors: dict[str, str] = {}
        moments = parse_window(data.day, data.starts, data.ends, errors, page)
        required((("place", data.place), ("reason", data.reason)), errors, page)
        return await self._change(
            ledger, page, organiser, activity_id, data, errors,
            lambda: RescheduleActivity(command_id=command_id_of(data.command_id),
                                       starts_at=moments["starts"], ends_at=moments["ends"],
                                       place=data.place, reason=data.reason),
            form="moved", done="rescheduled")

    @post("/cancel", operation_id="pageCancelActivity", status_code=303)
    async def cancel(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     organiser: NamedDependency[OrganiserSession],
                     activity_id: FromPath[uuid.UUID], data: URLEncodedBody[CancelForm]) -> Any:
        if not data.reason.strip() or has_controls(data.reason):
            problem = "control_characters" if data.reason.strip() else "required"
            return await self._render(ledger, page, organiser, activity_id, status_code=422,
                                      cancel=_echo(data),
                                      cancel_errors={"reason": page.t(problem)})
        command_id = command_id_of(data.command_id)
        if data.confirmed != YES:
            return confirmation(page, organiser, question=page.t("confirm_cancel"),
                                action=f"/organiser/activities/{activity_id}/cancel",
                                fields={"command_id": str(command_id), "reason": data.reason},
                                yes=page.t("cancel_yes"),
                                back=f"/organiser/activities/{activity_id}/edit")
        command = CancelActivity(command_id=command_id, reason=data.reason)
        try:
            await ledger.activities.manage(organiser.actor, activity_id, command)
        except Refusal as refusal:
            return await self._render(ledger, page, organiser, activity_id,
                                      status_code=refusal.status, cancel=_echo(data),
                                      cancel_errors={refusal.field or "form":
                                                     page.refusal(refusal)})
        return page.redirect(f"/organiser/activities/{activity_id}?done=cancelled")
