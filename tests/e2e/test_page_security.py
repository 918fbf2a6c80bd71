"""What the Content-Security-Policy does in chromium: the watch every browser test relies
on catches inline code, the buttons that replaced inline handlers work, and the reports'
printable honor roll keeps its styles under the policy."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, expect

from ledger.adapters.tokens import TokenStore
from reports.config import Settings
from reports.entrypoints.app import create_app
from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.integration.conftest import Community, serving
from tests.integration.reports.conftest import History, history, shanghai  # noqa: F401

pytestmark = pytest.mark.browser


async def test_inline_code_is_blocked_and_reported(ledger_client: httpx.AsyncClient,
                                                   community: Community,
                                                   browser: Browser) -> None:
    base = str(ledger_client.base_url).rstrip("/")
    context = await browser.new_context()
    violations = await watch_csp(context)
    try:
        page = await context.new_page()
        await page.goto(f"{base}/t/{community.tenant}/identify")
        ran = await page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
            document.body.setAttribute("style", "background: red");
            return window.injected === true;
        }""")
        assert not ran
        # Reports arrive asynchronously, from the page and from the console.
        for _ in range(100):
            if any("style-src" in v for v in violations):
                break
            await asyncio.sleep(0.05)
        assert any("script-src" in v for v in violations)
        assert any("style-src" in v for v in violations)
    finally:
        await context.close()


async def test_the_back_button_works_without_inline_script(
        ledger_client: httpx.AsyncClient, community: Community, browser: Browser) -> None:
    base = str(ledger_client.base_url).rstrip("/")
    context = await browser.new_context()
    violations = await watch_csp(context)
    try:
        page = await context.new_page()
        await page.goto(f"{base}/t/{community.tenant}/identify")
        await page.goto(f"{base}/t/{community.tenant}/checkin/{uuid.uuid4()}")
        await expect(page.get_by_text("没有找到这个活动")).to_be_visible()
        await page.get_by_role("button", name="返回").click()
        await expect(page).to_have_url(f"{base}/t/{community.tenant}/identify")
    finally:
        await close_checked(context, violations)


async def test_the_reports_printable_roll_is_styled_under_the_policy(
        history: History, pool: asyncpg.Pool, database_url: str,  # noqa: F811
        browser: Browser) -> None:
    district = await history.unit("district", None)
    community = await history.unit("community", district, "兴华南里社区")
    for name, minutes in (("张三明", 600), ("李四", 300)):
        person = await history.member(community, name=name)
        await history.served(community, person, shanghai(2025, 6, 2), minutes)
    await history.project()
    token = (await TokenStore(pool).mint(history.tenant_id, label="auditor", role="auditor",
                                         can_write=False)).token
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with serving(app) as base:
        context = await browser.new_context(
            extra_http_headers={"Authorization": f"Bearer {token}"})
        violations = await watch_csp(context)
        try:
            page = await context.new_page()
            await page.goto(f"{base}/api/v1/units/{community}/honor-rolls/2025-06/print"
                            "?draft=true")
            heading = page.get_by_role("heading", name="光荣榜")
            await expect(heading).to_be_visible()
            # The stylesheet from /static/ applies: the roll's red title.
            await expect(heading).to_have_css("color", "rgb(183, 28, 28)")
            await expect(page.get_by_text("张*明")).to_be_visible()
            await screenshot(page, "30-reports-honor-roll-print")
        finally:
            await close_checked(context, violations)
