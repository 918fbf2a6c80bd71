"""What every page controller shares: language, rendering, cookies, who is asking.

Sessions are signed cookies (see `ledger.signed_values`), not server-side rows: the member's
remembered identity lasts long (a phone is personal), the organiser's session 12 hours.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import MediaType, Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from contract.calendar import shanghai
from contract.problems import Refusal
from ledger.adapters.attempts import Attempts, Kind
from ledger.adapters.directory import Argon2Busy, Organisers
from ledger.adapters.page_queries import PageQueries
from ledger.domain.activities import hours
from ledger.entrypoints.pages.messages import LANGS, Lang, translate
from ledger.handlers import Actor, Ledger
from ledger.page_secrets import PageSecrets
from ledger.signed_values import Signer

LANG_COOKIE = "lang"
MEMBER_COOKIE = "member"
DEVICE_COOKIE = "device"
ORGANISER_COOKIE = "organiser"
MEMBER_AGE = timedelta(days=180)
ORGANISER_AGE = timedelta(hours=12)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_T = TypeVar("_T")
# How long a phone is asked to wait when every argon2 thread is taken.
BUSY_RETRY_SECONDS = 5


@dataclass
class PageServices:
    """Created once per app: secrets, the cookie setting, the trusted proxies."""

    secrets: PageSecrets
    # `Secure` on every cookie the pages set (COOKIE_SECURE, behind TLS).
    cookie_secure: bool = False
    trusted_proxies: tuple[str, ...] = ()
    signer: Signer = field(init=False)

    def __post_init__(self) -> None:
        self.signer = Signer(self.secrets.pages)
        # Not a dataclass field: Litestar checks a dependency's fields against their types,
        # and cannot check a union of two classes.
        self._proxies: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    def device_hash(self, device: str | None) -> str | None:
        """What the ledger stores about the phone: a keyed hash, not the cookie itself."""
        if not device:
            return None
        return hashlib.sha256(self.secrets.pages + b"device\0" + device.encode()).hexdigest()[:20]

    def cookie(self, key: str, value: str, *, max_age: int, path: str = "/") -> Cookie:
        """Every cookie the pages set: HttpOnly, SameSite=Lax, and Secure when configured."""
        return Cookie(key=key, value=value, max_age=max_age, path=path, httponly=True,
                      samesite="lax", secure=self.cookie_secure)

    def expired(self, key: str, path: str = "/") -> Cookie:
        return Cookie(key=key, value="", max_age=0, expires=0, path=path, httponly=True,
                      samesite="lax", secure=self.cookie_secure)

    def _trusted(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self._proxies)

    def client_address(self, request: Request) -> str:
        """The direct peer, unless it is a trusted proxy: then the rightmost address in
        X-Forwarded-For that is not one. Each proxy appends the address it saw, so only
        what trusted proxies appended is believed; whatever the client sent is further
        left. Run the server without its own proxy-header handling (see docs/SECURITY.md):
        the peer must be the real one here."""
        address = request.client.host if request.client else "unknown"
        if not self._proxies or not self._trusted(address):
            return address
        hops = [hop.strip() for header in request.headers.getall("x-forwarded-for", [])
                for hop in header.split(",")]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                # Not written by a trusted proxy: keep the last address one vouched for.
                return address
            address = hop
            if not self._trusted(hop):
                return hop
        return address


@dataclass(frozen=True)
class Limited:
    """An attempt refused before anything was checked: too many (429) or busy (503)."""

    status: int
    retry_after: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


async def limited_check(attempts: Attempts, kind: Kind, tenant_id: str, subject: str,
                        address: str, now: datetime,
                        check: Callable[[], Awaitable[_T | None]]) -> _T | Limited | None:
    """Run `check` (None: wrong) if the attempt limits allow it, counting the attempt
    (see `ledger.adapters.attempts`); a `Limited` when they don't or argon2 is busy."""
    attempt = await attempts.begin(kind, tenant_id, subject, address, now)
    if attempt.no_such_tenant:
        return None  # wrong, like an unknown member number
    if not attempt.allowed:
        return Limited(429, attempt.retry_after)
    try:
        result = await check()
    except Argon2Busy:
        await attempt.abandoned()
        return Limited(503, BUSY_RETRY_SECONDS)
    if result is not None:
        await attempt.succeeded(now)
    return result


class Page:
    """Per request: the language and a renderer that remembers a `?lang=` choice."""

    def __init__(self, request: Request, now: datetime, services: PageServices) -> None:
        self.request = request
        self.now = now
        self._services = services
        chosen = request.query_params.get("lang")
        self._chosen: Lang | None = chosen if chosen in LANGS else None  # type: ignore[assignment]
        remembered = request.cookies.get(LANG_COOKIE)
        self.lang: Lang = self._chosen or (remembered if remembered in LANGS  # type: ignore[assignment]
                                           else "zh")

    def t(self, key: str) -> str:
        return translate(key, self.lang)

    def refusal(self, refusal: Refusal) -> str:
        return refusal.zh if self.lang == "zh" else refusal.en

    def limited(self, limited: Limited) -> str:
        """What a refused attempt says: how long to wait, or that the server is busy."""
        if limited.status == 503:
            return self.t("busy")
        if limited.retry_after < 60:
            wait = self.t("seconds").format(n=limited.retry_after)
        else:
            wait = self.t("minutes").format(n=math.ceil(limited.retry_after / 60))
        return self.t("too_many").format(wait=wait)

    def duration(self, minutes: int) -> str:
        """A stay as a person says it: "25 分钟", "1 小时 35 分钟", "2 小时"."""
        hours, rest = divmod(max(minutes, 0), 60)
        parts = ([f"{hours} {self.t('hours_unit')}"] if hours else []) + \
            ([f"{rest} {self.t('minutes_unit')}"] if rest or not hours else [])
        return " ".join(parts)

    def _cookies(self, cookies: list[Cookie] | None) -> list[Cookie]:
        cookies = list(cookies or [])
        if self._chosen is not None:
            cookies.append(self._services.cookie(LANG_COOKIE, self._chosen,
                                                 max_age=365 * 86400))
        return cookies

    def render(self, template: str, *, status_code: int = 200,
               cookies: list[Cookie] | None = None, headers: dict[str, str] | None = None,
               **context: Any) -> Template:
        other = "en" if self.lang == "zh" else "zh"
        query = {**self.request.query_params.dict(), "lang": other}
        query = {k: v[-1] if isinstance(v, list) else v for k, v in query.items()}
        return Template(
            template_name=template, status_code=status_code, cookies=self._cookies(cookies),
            headers=headers, media_type=MediaType.HTML,
            context={"t": self.t, "lang": self.lang, "now": self.now,
                     "switch_url": f"{self.request.url.path}?{urlencode(query)}",
                     "fmt_time": fmt_time, "fmt_day": fmt_day, "fmt_hours": fmt_hours,
                     "fmt_duration": self.duration, **context},
        )

    def redirect(self, path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
        return Redirect(path, status_code=303, cookies=self._cookies(cookies))


def fmt_time(moment: datetime | None) -> str:
    return shanghai(moment).strftime("%H:%M") if moment else ""


def fmt_day(moment: datetime | None) -> str:
    return shanghai(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def fmt_hours(minutes: int | None) -> str:
    """Minutes as hours with at most two decimals: 90 -> "1.5", 100 -> "1.67"."""
    return "" if minutes is None else hours(minutes)


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
    return services.cookie(MEMBER_COOKIE, value, max_age=int(MEMBER_AGE.total_seconds()))


def device_cookie(services: PageServices, request: Request) -> tuple[str, Cookie | None]:
    """The phone's random id, created on its first visit (a cookie, so a new one per browser)."""
    device = request.cookies.get(DEVICE_COOKIE)
    if device and len(device) <= 64:
        return device, None
    device = secrets.token_urlsafe(16)
    return device, services.cookie(DEVICE_COOKIE, device, max_age=5 * 365 * 86400)


def safe_next(target: str | None, prefix: str, default: str) -> str:
    """Only local paths under `prefix`: a `next` parameter must not send people elsewhere."""
    if target and target.startswith(prefix) and not target.startswith("//") \
            and "\\" not in target:
        return target
    return default


# --- dependency providers ----------------------------------------------------------------


def provide_page(request: Request, ledger: NamedDependency[Ledger],
                 pages: NamedDependency[PageServices]) -> Page:
    return Page(request, ledger.clock(), pages)


def provide_queries(state: State) -> PageQueries:
    return PageQueries(state.pool)


def provide_organisers(state: State) -> Organisers:
    return Organisers(state.pool)


def provide_attempts(state: State, pages: NamedDependency[PageServices]) -> Attempts:
    return Attempts(state.pool, pages.secrets.pages)
