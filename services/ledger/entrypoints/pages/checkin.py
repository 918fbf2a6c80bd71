"""The member's check-in page, opened from the poster's or the live screen's QR code.

Flow: the live screen's QR (its rotating code in the URL) or the printed poster's QR (a
signed poster token, `ledger.checkin_codes`) earns the phone a signed *presence pass* for
this activity, kept in a cookie scoped to the activity's path and saying which of the two
it came from; the member identifies once with number + PIN (a long-lived signed cookie);
签到 and 签退 are then one tap each. A member without a pass types the six digits from the
live screen and the same tap checks them in. Before check-in opens the page says when it
opens instead of offering 签到; after 签退 it shows the finished stay.

The buttons are plain forms (work without JS); `checkin.js` takes over when it can,
creating each command id on the phone and retrying until acknowledged, and `sw.js` keeps
the page readable offline (docs/pages.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody

from contract.calendar import shanghai
from contract.problems import Refusal
from ledger import checkin_codes
from ledger.adapters.attempts import Attempts
from ledger.adapters.directory import MemberDirectory
from ledger.adapters.event_store import PostgresEventStore
from ledger.domain.activities import ActivityState, CheckIn, CheckOut
from ledger.entrypoints.pages.common import (
    Limited,
    MemberSession,
    Page,
    PageServices,
    device_cookie,
    limited_check,
    member_session,
)
from ledger.entrypoints.pages.forms import command_id_of
from ledger.entrypoints.pages.views import member_status
from ledger.handlers import Ledger

PASS_COOKIE = "pass"
# How long a scanned code lets this phone check in (covers a slow identify and retries).
PASS_AGE = timedelta(minutes=15)
# How long a refusal message carried in the redirect's URL stays showable.
FLASH_AGE = timedelta(minutes=5)


class CodeForm(msgspec.Struct, kw_only=True):
    code: str = ""
    command_id: str = ""
    client_time: str = ""


class TapForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    client_time: str = ""


def checkin_path(tenant_id: str, activity_id: uuid.UUID) -> str:
    return f"/t/{tenant_id}/checkin/{activity_id}"


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@dataclass(frozen=True)
class Window:
    """When this activity takes check-ins: from the grace before its start to its end."""

    opens_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, ledger: Ledger, activity: ActivityState) -> Window:
        return cls(activity.starts_at - ledger.checkin_grace, activity.ends_at)

    def state(self, now: datetime) -> str:
        return "before" if now < self.opens_at else "after" if now > self.ends_at else "open"


class CheckInPage(Controller):
    path = "/t/{tenant_id:str}/checkin/{activity_id:uuid}"
    include_in_schema = False

    async def _context(self, ledger: Ledger, directory: MemberDirectory, page: Page,
                       request: Request, services: PageServices, tenant_id: str,
                       activity_id: uuid.UUID) -> dict[str, Any] | None:
        activity = await ledger.state.activity(tenant_id, activity_id)
        if activity is None:
            return None
        tree = await ledger.state.tree(tenant_id)
        host = tree.units.get(activity.host_unit_id)
        member = member_session(services, request, tenant_id, page.now)
        window = Window.of(ledger, activity)
        return {
            "activity": activity, "host": host.name if host else "",
            "tenant_id": tenant_id, "base": checkin_path(tenant_id, activity_id),
            "member": member,
            "has_pass": self._pass(services, request, tenant_id, activity_id, page) is not None,
            "window": window, "window_state": window.state(page.now),
            "status": member_status(activity, member.member_id, page.now) if member else None,
            "member_label": await self._label(directory, tenant_id, member),
            "command_id": uuid.uuid4(),
        }

    @staticmethod
    async def _label(directory: MemberDirectory, tenant_id: str,
                     member: MemberSession | None) -> str:
        if member is None:
            return ""
        entry = await directory.get(tenant_id, member.member_id)
        return f"{entry.name}（{entry.member_number}）" if entry and entry.name else ""

    @staticmethod
    def _pass(services: PageServices, request: Request, tenant_id: str,
              activity_id: uuid.UUID, page: Page) -> str | None:
        """Where this phone's pass came from ("code" or "poster"), or None without one."""
        payload = services.signer.unsign("pass", request.cookies.get(PASS_COOKIE),
                                         max_age=PASS_AGE, now=page.now)
        if payload is None or payload.get("t") != tenant_id \
                or payload.get("a") != str(activity_id):
            return None
        return "poster" if payload.get("v") == "poster" else "code"

    def _pass_cookie(self, services: PageServices, tenant_id: str, activity_id: uuid.UUID,
                     page: Page, via: str) -> Cookie:
        value = services.signer.sign("pass", {"t": tenant_id, "a": str(activity_id), "v": via},
                                     page.now)
        return services.cookie(PASS_COOKIE, value, path=checkin_path(tenant_id, activity_id),
                               max_age=int(PASS_AGE.total_seconds()))

    @get("/", operation_id="pageCheckIn", name="checkin")
    async def show(self, request: Request, ledger: NamedDependency[Ledger],
                   directory: NamedDependency[MemberDirectory],
                   page: NamedDependency[Page], pages: NamedDependency[PageServices],
                   attempts: NamedDependency[Attempts],
                   tenant_id: FromPath[str], activity_id: FromPath[uuid.UUID],
                   c: FromQuery[str | None] = None, p: FromQuery[str | None] = None,
                   done: FromQuery[str | None] = None,
                   e: FromQuery[str | None] = None) -> Any:
        context = await self._context(ledger, directory, page, request, pages, tenant_id,
                                      activity_id)
        if context is None:
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("activity_missing"))
        _device, new_device = device_cookie(pages, request)
        cookies = [new_device] if new_device else []
        headers = None
        if c is not None:
            verdict = await _check_code(request, pages, attempts, tenant_id, activity_id, c,
                                        page)
            if verdict is True:
                # Drop the code from the address bar: a reload after it rotates still works.
                cookies.append(self._pass_cookie(pages, tenant_id, activity_id, page, "code"))
                return page.redirect(context["base"], cookies=cookies)
            context.update(code_error=_code_error(page, verdict), typed_code=c)
            headers = verdict.headers if isinstance(verdict, Limited) else None
        elif p is not None:
            activity: ActivityState = context["activity"]
            if not checkin_codes.poster_valid(pages.secrets.checkin_code, tenant_id,
                                              activity_id, p, shanghai(activity.starts_at).date()):
                context["code_error"] = page.t("poster_invalid")
            elif context["window_state"] == "open":
                cookies.append(self._pass_cookie(pages, tenant_id, activity_id, page,
                                                 "poster"))
                return page.redirect(context["base"], cookies=cookies)
            # A genuine poster outside the window: the page says when check-in opens or
            # that it is over, which is all the poster can do then.
        if done in ("in", "out"):
            context["notice"] = page.t("checked_in_ok" if done == "in" else "checked_out_ok")
        if e:
            # Only messages this server signed: a crafted link cannot put words on the page.
            flash = pages.signer.unsign("flash", e, max_age=FLASH_AGE, now=page.now)
            if flash is not None:
                context["error"] = str(flash.get("m", ""))[:300]
        return page.render("checkin.html", cookies=cookies, headers=headers, **context)

    @post("/code", operation_id="pageCheckInCode", status_code=303)
    async def enter_code(self, request: Request, ledger: NamedDependency[Ledger],
                         directory: NamedDependency[MemberDirectory],
                         store: NamedDependency[PostgresEventStore],
                         page: NamedDependency[Page], pages: NamedDependency[PageServices],
                         attempts: NamedDependency[Attempts],
                         tenant_id: FromPath[str], activity_id: FromPath[uuid.UUID],
                         data: URLEncodedBody[CodeForm]) -> Any:
        """The code typed from the live screen, and the check-in it allows, in one tap."""
        context = await self._context(ledger, directory, page, request, pages, tenant_id,
                                      activity_id)
        if context is None:
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("activity_missing"))
        tap = TapForm(command_id=data.command_id, client_time=data.client_time)
        # A retry of a tap that already landed is acknowledged even once its code has
        # rotated away: the member typed it in time, only the network was slow.
        if await _landed(store, tenant_id, tap):
            return await self._tap("in", request, ledger, store, page, pages, tenant_id,
                                   activity_id, tap, evidence="code")
        verdict = await _check_code(request, pages, attempts, tenant_id, activity_id,
                                    data.code, page)
        if verdict is True:
            cookie = self._pass_cookie(pages, tenant_id, activity_id, page, "code")
            if context["member"] is None:
                return page.redirect(context["base"], cookies=[cookie])
            answer = await self._tap("in", request, ledger, store, page, pages, tenant_id,
                                     activity_id, tap, evidence="code")
            answer.cookies.append(cookie)
            return answer
        if wants_json(request):
            message = _code_error(page, verdict)
            status = verdict.status if isinstance(verdict, Limited) else 422
            # Retried by the phone only when limited; a wrong code is final.
            return Response({"ok": False, "code": "code_expired", "message": message,
                             "flash": pages.signer.sign("flash", {"m": message}, page.now)},
                            status_code=status,
                            headers=verdict.headers if isinstance(verdict, Limited) else None)
        context.update(code_error=_code_error(page, verdict), typed_code=data.code)
        if isinstance(verdict, Limited):
            return page.render("checkin.html", status_code=verdict.status,
                               headers=verdict.headers, **context)
        return page.render("checkin.html", status_code=422, **context)

    @post("/in", operation_id="pageCheckInTap", status_code=200)
    async def tap_in(self, request: Request, ledger: NamedDependency[Ledger],
                     store: NamedDependency[PostgresEventStore],
                     page: NamedDependency[Page], pages: NamedDependency[PageServices],
                     tenant_id: FromPath[str], activity_id: FromPath[uuid.UUID],
                     data: URLEncodedBody[TapForm]) -> Any:
        evidence = self._pass(pages, request, tenant_id, activity_id, page)
        if evidence is None and not await _landed(store, tenant_id, data):
            return _refusal(request, page, pages, checkin_path(tenant_id, activity_id),
                            403, "code_expired", page.t("pass_expired"))
        return await self._tap("in", request, ledger, store, page, pages, tenant_id,
                               activity_id, data, evidence=evidence or "code")

    @post("/out", operation_id="pageCheckOutTap", status_code=200)
    async def tap_out(self, request: Request, ledger: NamedDependency[Ledger],
                      store: NamedDependency[PostgresEventStore],
                      page: NamedDependency[Page], pages: NamedDependency[PageServices],
                      tenant_id: FromPath[str], activity_id: FromPath[uuid.UUID],
                      data: URLEncodedBody[TapForm]) -> Any:
        return await self._tap("out", request, ledger, store, page, pages, tenant_id, activity_id,
                               data, evidence="code")

    async def _tap(self, action: str, request: Request, ledger: Ledger,
                   store: PostgresEventStore, page: Page,
                   pages: PageServices, tenant_id: str, activity_id: uuid.UUID,
                   data: TapForm, *, evidence: str) -> Any:
        """Checks in (`evidence`: what proved presence, "code" or "poster") or out."""
        base = checkin_path(tenant_id, activity_id)
        member = member_session(pages, request, tenant_id, page.now)
        if member is None:
            return _refusal(request, page, pages, base, 401, "identify",
                            page.t("identify_needed"))
        device, _ = device_cookie(pages, request)
        try:
            if action == "in":
                outcome = await ledger.activities.check_in(member.actor, activity_id, CheckIn(
                    command_id=command_id_of(data.command_id), member_id=member.member_id,
                    method="qr",
                    client_time=_client_time(data.client_time),
                    device=pages.device_hash(device), poster_only=evidence == "poster"))
            else:
                outcome = await ledger.activities.check_out(member.actor, activity_id, CheckOut(
                    command_id=command_id_of(data.command_id), member_id=member.member_id,
                    method="qr",
                    client_time=_client_time(data.client_time)))
        except Refusal as refusal:
            return _refusal(request, page, pages, base, refusal.status, refusal.code,
                            page.refusal(refusal))
        if not wants_json(request):
            return page.redirect(f"{base}?done={action}")
        activity: ActivityState | None = await ledger.state.activity(tenant_id, activity_id)
        status = member_status(activity, member.member_id, page.now) if activity else None
        return Response({
            "ok": True, "replayed": outcome.replayed,
            "message": page.t("checked_in_ok" if action == "in" else "checked_out_ok"),
            "status": status.as_json() if status else None,
        }, status_code=200)


def _refusal(request: Request, page: Page, pages: PageServices, base: str, status: int,
             code: str, message: str) -> Any:
    """A refused tap: JSON for the phone's script, else back to the page with the message."""
    flash = pages.signer.sign("flash", {"m": message}, page.now)
    if wants_json(request):
        return Response({"ok": False, "code": code, "message": message, "flash": flash},
                        status_code=status)
    return page.redirect(f"{base}?{_query(e=flash)}")


async def _landed(store: PostgresEventStore, tenant_id: str, data: TapForm) -> bool:
    """Whether this tap's command was already appended (a retry whose answer was lost)."""
    try:
        command_id = uuid.UUID(data.command_id)
    except ValueError:
        return False
    return bool(await store.command_events(tenant_id, command_id))


async def _check_code(request: Request, pages: PageServices, attempts: Attempts,
                      tenant_id: str, activity_id: uuid.UUID, code: str,
                      page: Page) -> bool | Limited | None:
    """True for a valid code, None for a wrong or old one, `Limited` when guessing."""

    async def valid() -> bool | None:
        return checkin_codes.is_valid(pages.secrets.checkin_code, tenant_id, activity_id,
                                      code, page.now) or None

    return await limited_check(attempts, "code", tenant_id, str(activity_id),
                               pages.client_address(request), page.now, valid)


def _code_error(page: Page, verdict: bool | Limited | None) -> str:
    # Wrong and expired codes get the same message.
    return page.limited(verdict) if isinstance(verdict, Limited) else page.t("code_expired")


def _client_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _query(**params: str) -> str:
    return urlencode(params)
