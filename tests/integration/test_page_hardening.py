"""Security headers on every response of both services (pages, JSON, exports, static
files, errors), the templates holding nothing the policy forbids, and COOKIE_SECURE."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from contract.security_headers import CONTENT_SECURITY_POLICY, SCHEMA_VIEWER_POLICY
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger_app
from reports.config import Settings
from reports.entrypoints.app import create_app
from tests.integration.conftest import Clock, Community, register, serving
from tests.integration.pages.conftest import SECRETS, browser_like, csrf_token
from tests.integration.reports.conftest import History, history, shanghai  # noqa: F401

SERVICES = Path(__file__).resolve().parents[2] / "services"


@pytest.fixture(autouse=True)
def page_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def assert_hardened(response: httpx.Response, policy: str = CONTENT_SECURITY_POLICY) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    assert response.headers.get("content-security-policy") == policy, where
    assert "frame-ancestors 'none'" in policy
    assert response.headers.get("x-frame-options") == "DENY", where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "same-origin", where


async def test_every_ledger_response_carries_the_headers(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    c = community
    async with browser_like(ledger_client) as phone:
        login = await phone.get("/organiser/login")
        assert login.status_code == 200
        responses = [
            login,
            await phone.get(f"/t/{c.tenant}/identify"),
            await phone.post("/organiser/login", data={"tenant": c.tenant}),  # no CSRF: 403
            await phone.post("/organiser/login", data={"tenant": c.tenant, "login": "x",
                                                       "password": "y",
                                                       "_csrf_token": csrf_token(login)}),
            await phone.get("/organiser/activities"),  # a redirect to sign in
            await phone.get("/static/app.css"),
            await phone.get("/health"),
            await phone.get("/api/v1/units"),  # 401 problem
            await phone.get("/api/v1/units", headers=c.reader),
            await phone.get("/no/such/page"),
        ]
    assert {r.status_code for r in responses} >= {200, 303, 401, 403, 404, 422}
    for response in responses:
        assert_hardened(response)
    for path in ("/schema", "/schema/openapi.json"):
        assert_hardened(await ledger_client.get(path), SCHEMA_VIEWER_POLICY)


async def test_every_reports_response_carries_the_headers(
        history: History, pool: asyncpg.Pool, database_url: str) -> None:  # noqa: F811
    district = await history.unit("district", None)
    community = await history.unit("community", district, "兴华南里社区")
    person = await history.member(community, name="张三明")
    await history.served(community, person, shanghai(2025, 6, 2), 600)
    await history.project()
    token = (await TokenStore(pool).mint(history.tenant_id, label="auditor", role="auditor",
                                         can_write=False)).token
    auth = {"Authorization": f"Bearer {token}"}
    roll = f"/api/v1/units/{community}/honor-rolls/2025-06"
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        responses = [
            await client.get(f"{roll}/print", params={"draft": "true"}, headers=auth),
            await client.get(f"{roll}/csv", params={"draft": "true"}, headers=auth),
            await client.get(f"{roll}/xlsx", params={"draft": "true"}, headers=auth),
            await client.get(roll, params={"draft": "true"}, headers=auth),
            await client.get("/static/honor_roll.css"),
            await client.get(f"/public/{history.tenant_id}/honor-rolls/{community}/2025-06/page"),
            await client.get("/status"),
            await client.get("/status", headers=auth),
            await client.get("/health"),
        ]
        assert [r.status_code for r in responses] == [200] * 5 + [404, 401, 200, 200]
        assert "text/csv" in responses[1].headers["content-type"]
        for response in responses:
            assert_hardened(response)
        assert_hardened(await client.get("/schema"), SCHEMA_VIEWER_POLICY)


# What a Content-Security-Policy without 'unsafe-inline' blocks.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:",
                    re.IGNORECASE)


def test_no_template_holds_inline_script_style_or_handlers() -> None:
    templates = sorted(SERVICES.glob("*/**/templates/*.html"))
    assert len(templates) > 10
    offending = {str(path.relative_to(SERVICES)): INLINE.findall(path.read_text())
                 for path in templates}
    assert {path: found for path, found in offending.items() if found} == {}


@pytest.fixture
async def secure_ledger(database_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_ledger_app(LedgerSettings(database_url=database_url, cookie_secure=True),
                            clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def cookies_set(response: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in
            response.headers.get_list("set-cookie")}


async def test_cookie_secure_marks_every_page_cookie(
        secure_ledger: httpx.AsyncClient, ledger_client: httpx.AsyncClient,
        community: Community) -> None:
    await register(secure_ledger, community, "XH-0801")
    form = await secure_ledger.get(f"/t/{community.tenant}/identify?lang=en")
    # A client keeps Secure cookies to itself over plain http: the test hands them back.
    csrf = form.cookies["csrftoken"]
    sent = {"Cookie": f"csrftoken={csrf}"}
    signed_in = await secure_ledger.post(f"/t/{community.tenant}/identify", headers=sent, data={
        "member_number": "XH-0801", "pin": "1234", "_csrf_token": csrf_token(form)})
    assert signed_in.status_code == 303, signed_in.text
    signed_out = await secure_ledger.post(f"/t/{community.tenant}/forget", headers=sent,
                                          data={"_csrf_token": csrf_token(form)})
    cookies = {**cookies_set(form), **cookies_set(signed_in)}
    assert set(cookies) >= {"csrftoken", "lang", "member"}
    expired = cookies_set(signed_out)["member"]
    for header in [*cookies.values(), expired]:
        assert "; secure" in header.lower() and "httponly" in header.lower(), header
    # Not set (the default): plain http in development keeps working.
    plain = await ledger_client.get(f"/t/{community.tenant}/identify?lang=en")
    assert all("secure" not in header.lower() for header in cookies_set(plain).values())
