"""What every page controller shares: language, rendering, cookies, who is asking.

Sessions are signed cookies (see `ledger.signed_values`), not server-side rows: the member's
remembered identity lasts long (a phone is personal), the organiser's session 12 hours.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from contract.calendar import shanghai
from contract.problems import Refusal
from ledger.adapters.directory import Organisers
from ledger.adapters.page_queries import PageQueries
from ledger.entrypoints.pages.messages import LANGS, Lang, translate
from ledger.handlers import Actor, Ledger
from ledger.page_secrets import PageSecrets
from ledger.rate_limits import SlidingWindow
from ledger.signed_values import Signer

LANG_COOKIE = "lang"
MEMBER_COOKIE = "member"
DEVICE_COOKIE = "device"
ORGANISER_COOKIE = "organiser"
MEMBER_AGE = timedelta(days=180)
ORGANISER_AGE = timedelta(hours=12)


@dataclass
class PageServices:
    """Created once per app: secrets and the in-memory rate limits."""

    secrets: PageSecrets
    signer: Signer = field(init=False)
    # Failed attempts only: a whole activity's phones may share one address (the
    # community's Wi-Fi, a carrier's NAT), and they all succeed. Unknown member numbers
    # always fail, so they are counted exactly like wrong PINs.
    pin_failures_by_ip: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 900))
    pin_failures_by_number: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(5, 900))
    login_failures_by_ip: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 900))
    login_failures_by_name: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(5, 900))
    # Six-digit codes: two are valid at a time, so guessing must stay slow.
    code_failures_by_ip: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 900))
    code_failures_by_activity: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(300, 900))

    def __post_init__(self) -> None:
        self.signer = Signer(self.secrets.pages)

    def device_hash(self, device: str | None) -> str | None:
        """What the ledger stores about the phone: a keyed hash, not the cookie itself."""
        if not device:
            return None
        return hashlib.sha256(self.secrets.pages + b"device\0" + device.encode()).hexdigest()[:20]


def client_address(request: Request) -> str:
    # The direct peer. Behind a reverse proxy, configure uvicorn's --forwarded-allow-ips so
    # this is the real client, or every phone shares the proxy's limit.
    return request.client.host if request.client else "unknown"


class Page:
    """Per request: the language and a renderer that remembers a `?lang=` choice."""

    def __init__(self, request: Request, now: datetime) -> None:
        self.request = request
        self.now = now
        chosen = request.query_params.get("lang")
        self._chosen: Lang | None = chosen if chosen in LANGS else None  # type: ignore[assignment]
        remembered = request.cookies.get(LANG_COOKIE)
        self.lang: Lang = self._chosen or (remembered if remembered in LANGS  # type: ignore[assignment]
                                           else "zh")

    def t(self, key: str) -> str:
        return translate(key, self.lang)

    def refusal(self, refusal: Refusal) -> str:
        return refusal.zh if self.lang == "zh" else refusal.en

    def _cookies(self, cookies: list[Cookie] | None) -> list[Cookie]:
        cookies = list(cookies or [])
        if self._chosen is not None:
            cookies.append(Cookie(key=LANG_COOKIE, value=self._chosen, max_age=365 * 86400,
                                  httponly=True, samesite="lax"))
        return cookies

    def render(self, template: str, *, status_code: int = 200,
               cookies: list[Cookie] | None = None, **context: Any) -> Template:
        other = "en" if self.lang == "zh" else "zh"
        query = {**self.request.query_params.dict(), "lang": other}
        query = {k: v[-1] if isinstance(v, list) else v for k, v in query.items()}
        return Template(
            template_name=template, status_code=status_code, cookies=self._cookies(cookies),
            media_type=MediaType.HTML,
            context={"t": self.t, "lang": self.lang, "now": self.now,
                     "switch_url": f"{self.request.url.path}?{urlencode(query)}",
                     "fmt_time": fmt_time, "fmt_day": fmt_day, "fmt_hours": fmt_hours,
                     **context},
        )

    def redirect(self, path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
        return Redirect(path, status_code=303, cookies=self._cookies(cookies))


def fmt_time(moment: datetime | None) -> str:
    return shanghai(moment).strftime("%H:%M") if moment else ""


def fmt_day(moment: datetime | None) -> str:
    return shanghai(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def fmt_hours(minutes: int | None) -> str:
    """Minutes as hours with at most two decimals: 90 -> "1.5", 100 -> "1.67"."""
    if minutes is None:
        return ""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


def parse_hours(text: str) -> int | None:
    """Hours typed by a person ("1.5", "2") as whole minutes; None when blank.
    Raises ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    hours = float(text)
    if hours != hours or hours < 0 or hours > 24:  # NaN, negative, absurd
        raise ValueError(text)
    return round(hours * 60)


@dataclass(frozen=True)
class MemberSession:
    tenant_id: str
    member_id: uuid.UUID

    @property
    def actor(self) -> Actor:
        return Actor(tenant_id=self.tenant_id, name=f"member:{self.member_id}", role="member",
                     source="form", member_id=self.member_id)


@dataclass(frozen=True)
class OrganiserSession:
    tenant_id: str
    organiser_id: uuid.UUID
    unit_id: uuid.UUID
    name: str

    @property
    def actor(self) -> Actor:
        return Actor(tenant_id=self.tenant_id, name=f"organiser:{self.organiser_id}",
                     role="organiser", source="form", can_write=True,
                     organiser_id=self.organiser_id, scope_unit_id=self.unit_id)


def member_session(services: PageServices, request: Request, tenant_id: str,
                   now: datetime) -> MemberSession | None:
    payload = services.signer.unsign("member", request.cookies.get(MEMBER_COOKIE),
                                      max_age=MEMBER_AGE, now=now)
    if payload is None or payload.get("t") != tenant_id:
        return None
    try:
        return MemberSession(tenant_id, uuid.UUID(payload["m"]))
    except (KeyError, ValueError, TypeError):
        return None


def member_cookie(services: PageServices, tenant_id: str, member_id: uuid.UUID,
                  now: datetime) -> Cookie:
    value = services.signer.sign("member", {"t": tenant_id, "m": str(member_id)}, now)
    return Cookie(key=MEMBER_COOKIE, value=value, max_age=int(MEMBER_AGE.total_seconds()),
                  httponly=True, samesite="lax", path="/")


def device_cookie(request: Request) -> tuple[str, Cookie | None]:
    """The phone's random id, created on its first visit (a cookie, so a new one per browser)."""
    device = request.cookies.get(DEVICE_COOKIE)
    if device and len(device) <= 64:
        return device, None
    device = secrets.token_urlsafe(16)
    return device, Cookie(key=DEVICE_COOKIE, value=device, max_age=5 * 365 * 86400,
                          httponly=True, samesite="lax", path="/")


def expired(key: str, path: str = "/") -> Cookie:
    return Cookie(key=key, value="", max_age=0, expires=0, path=path, httponly=True)


def safe_next(target: str | None, prefix: str, default: str) -> str:
    """Only local paths under `prefix`: a `next` parameter must not send people elsewhere."""
    if target and target.startswith(prefix) and not target.startswith("//") \
            and "\\" not in target:
        return target
    return default


# --- dependency providers ----------------------------------------------------------------


def provide_page(request: Request, ledger: NamedDependency[Ledger]) -> Page:
    return Page(request, ledger.clock())


def provide_queries(state: State) -> PageQueries:
    return PageQueries(state.pool)


def provide_organisers(state: State) -> Organisers:
    return Organisers(state.pool)
