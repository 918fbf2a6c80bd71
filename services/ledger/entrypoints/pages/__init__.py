"""The server-rendered pages: the member's check-in form and own records, the organiser's
activities, roster, live code, poster and review list. See docs/pages.md.

`build()` gives the app factory everything the pages add: one Router (its own
dependencies and exception handlers), the static files, the Jinja template config and a
CSRF config that leaves the bearer-token JSON API (`/api/`) alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from contract.access import PUBLIC, SESSION
from ledger import page_secrets
from ledger.entrypoints.pages.certificates import (
    MemberCertificatePages,
    OrganiserCertificatePages,
)
from ledger.entrypoints.pages.checkin import CheckInPage
from ledger.entrypoints.pages.codes import CodePages
from ledger.entrypoints.pages.common import (
    Page,
    PageServices,
    provide_attempts,
    provide_organisers,
    provide_page,
    provide_queries,
)
from ledger.entrypoints.pages.dashboard import DashboardPages
from ledger.entrypoints.pages.digest import DigestPages
from ledger.entrypoints.pages.honor_rolls import HonorRollPages, provide_reports
from ledger.entrypoints.pages.landing import LandingPage
from ledger.entrypoints.pages.links import LinkPages
from ledger.entrypoints.pages.manage import ManagePages
from ledger.entrypoints.pages.members import MemberPages
from ledger.entrypoints.pages.organisers import (
    LoginRequired,
    OrganiserPages,
    login_redirect,
    provide_organiser,
)
from ledger.entrypoints.pages.review import ReviewPages
from ledger.entrypoints.pages.roster import RosterPages
from ledger.entrypoints.pages.unit_reports import UnitReportPages

PACKAGE = Path(__file__).resolve().parents[2]
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"


@dataclass(frozen=True)
class Pages:
    route_handlers: list[Any]
    template_config: TemplateConfig[Any]
    csrf_config: CSRFConfig


def csrf_refused(request: Request, _error: PermissionDeniedException) -> Response[Any]:
    """A form without a valid CSRF token: a page saying what to do, not a JSON problem."""
    from ledger.entrypoints.pages.messages import translate

    lang = request.cookies.get("lang")
    lang = lang if lang in ("zh", "en") else "zh"
    t = lambda key: translate(key, lang)  # noqa: E731
    return Template(template_name="message.html", status_code=403, media_type=MediaType.HTML,
                    context={"t": t, "lang": lang, "heading": t("error"),
                             "text": t("csrf_failed"), "switch_url": ""})


def build(secrets: page_secrets.PageSecrets | None = None, *, cookie_secure: bool = False,
          trusted_proxies: tuple[str, ...] = ()) -> Pages:
    secrets = secrets or page_secrets.load()
    services = PageServices(secrets, cookie_secure=cookie_secure,
                            trusted_proxies=trusted_proxies)
    router = Router(
        path="/",
        route_handlers=[CheckInPage, MemberPages, OrganiserPages, RosterPages, CodePages,
                        ReviewPages, HonorRollPages, UnitReportPages, DigestPages,
                        LinkPages, OrganiserCertificatePages, MemberCertificatePages,
                        DashboardPages, LandingPage, ManagePages],
        dependencies={
            "pages": Provide(lambda: services, sync_to_thread=False),
            "page": Provide(provide_page, sync_to_thread=False),
            "queries": Provide(provide_queries, sync_to_thread=False),
            "organisers": Provide(provide_organisers, sync_to_thread=False),
            "attempts": Provide(provide_attempts, sync_to_thread=False),
            "organiser": Provide(provide_organiser),
            "reports": Provide(provide_reports, sync_to_thread=False),
        },
        exception_handlers={LoginRequired: login_redirect,
                            PermissionDeniedException: csrf_refused},
        include_in_schema=False,
        opt=SESSION.opt(),
    )
    static = create_static_files_router(
        path="/static", directories=[STATIC], include_in_schema=False, opt=PUBLIC.opt(),
        cache_control=CacheControlHeader(max_age=3600, public=True))
    return Pages(
        route_handlers=[router, static],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        csrf_config=CSRFConfig(
            secret=secrets.csrf, cookie_httponly=True, cookie_samesite="lax",
            cookie_secure=cookie_secure,
            # The JSON API authenticates with bearer tokens, never cookies: no CSRF there.
            exclude=["^/api/", "^/health", "^/schema"]),
    )


__all__ = ["Page", "Pages", "build"]
