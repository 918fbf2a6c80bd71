"""The committee dashboard in chromium at desktop width: the organiser of a community
opens 服务看板 and reads the year by month and by branch, as charts and tables."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from contract.calendar import local_date
from reports.config import Settings
from reports.entrypoints.app import create_app
from tests.e2e.conftest import screenshot
from tests.e2e.test_certificates import desktop  # noqa: F401
from tests.e2e.test_organiser_pages import sign_in
from tests.integration.conftest import Clock, Community, register, serving
from tests.integration.test_certificates import served

pytestmark = pytest.mark.browser


async def test_the_dashboard_shows_the_year_by_month_and_branch(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        desktop: BrowserContext, database_url: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    first = await register(ledger_client, c, "XH-0801")
    await register(ledger_client, c, "XH-0802")  # reported, has not served
    other = await register(ledger_client, c, "XH-0803", c.other_branch)
    await served(ledger_client, c, clock, first, 90)
    await served(ledger_client, c, clock, other, 60)
    clock.advance(minutes=5)
    reports = create_app(Settings(database_url=database_url, poll_interval=0.1))
    async with serving(reports) as reports_url, httpx.AsyncClient(base_url=reports_url) as api:
        monkeypatch.setenv("REPORTS_URL", reports_url)
        for _ in range(200):
            status = (await api.get("/status", headers=c.admin)).json()
            if all(p["lag_events"] == 0 for p in status["projections"]):
                break
            await asyncio.sleep(0.1)

        page = await desktop.new_page()
        await sign_in(page, base, c)
        await page.get_by_role("link", name="服务看板").click()
        year = local_date(clock.now - timedelta(minutes=200)).year
        await expect(page.get_by_role("heading", name=f"兴华南里社区 · {year}年服务看板")) \
            .to_be_visible()
        await expect(page.locator("#year-hours")).to_have_text("2.5")
        await expect(page.locator("#year-person-times")).to_have_text("2")
        await expect(page.get_by_role("img", name=f"兴华南里社区 {year}年每月服务时长")) \
            .to_be_visible()
        await expect(page.locator("svg[role=img]")).to_have_count(4)
        await expect(page.locator("#months-table tbody tr")).to_have_count(12)
        # Three in-service members reported, two took part: 66.7% this month.
        await expect(page.locator("#months-table")).to_contain_text("66.7%")
        await expect(page.locator("#units-table tbody tr")).to_have_count(2)
        await expect(page.locator("#units-table")).to_contain_text("第一党支部")
        await screenshot(page, "65-dashboard-desktop")
        await page.get_by_role("link", name=f"{year - 1}年").first.click()
        await expect(page.get_by_role("heading", name=f"兴华南里社区 · {year - 1}年服务看板")) \
            .to_be_visible()
        await expect(page.locator("#year-hours")).to_have_text("0")
