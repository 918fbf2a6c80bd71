"""At phone width in chromium: the personal-link page fits the screen and copies the
link; the landing page of each service; and `/schema` showing its viewer with every
request to another host blocked (an intranet)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from reports.config import Settings
from reports.entrypoints.app import create_app
from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.e2e.test_organiser_pages import sign_in
from tests.integration.conftest import Community, register, serving

pytestmark = pytest.mark.browser


async def page_width(page: Page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth")


async def test_the_personal_link_fits_a_phone_and_is_copied(
        ledger_client: httpx.AsyncClient, community: Community, phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0601")
    await phone.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await phone.new_page()
    await sign_in(page, base, c)
    await page.get_by_role("link", name="个人签到链接").click()
    await page.get_by_label("党员编号").fill("XH-0601")
    await page.get_by_role("button", name="生成链接").click()
    link = page.locator("#personal-link")
    await expect(link).to_be_visible()
    url = await link.get_attribute("href")
    assert url and "/welcome/" in url and len(url) > 100
    assert await page_width(page) <= 360
    box = await link.bounding_box()
    assert box and box["x"] + box["width"] <= 360 and box["height"] > 40  # wrapped
    await page.get_by_role("button", name="复制链接").click()
    await expect(page.get_by_text("已复制")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == url
    # The text stays selectable by hand.
    assert await link.evaluate("e => getComputedStyle(e).userSelect") != "none"
    await screenshot(page, "44-phone-personal-link")


async def test_without_clipboard_access_the_link_is_selected_for_copying_by_hand(
        ledger_client: httpx.AsyncClient, community: Community, phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0602")
    # As over plain http on an intranet: no Clipboard API and no copy command.
    await phone.add_init_script("""
        Object.defineProperty(navigator, "clipboard", {value: undefined});
        document.execCommand = () => false;""")
    page = await phone.new_page()
    await sign_in(page, base, c)
    await page.goto(f"{base}/organiser/links")
    await page.get_by_label("党员编号").fill("XH-0602")
    await page.get_by_role("button", name="生成链接").click()
    await page.get_by_role("button", name="复制链接").click()
    await expect(page.get_by_text("无法自动复制")).to_be_visible()
    url = await page.locator("#personal-link").get_attribute("href")
    assert await page.evaluate("window.getSelection().toString()") == url


async def test_the_ledger_landing_page_on_a_phone(
        ledger_client: httpx.AsyncClient, community: Community, phone: BrowserContext) -> None:
    base = str(ledger_client.base_url).rstrip("/")
    page = await phone.new_page()
    await page.goto(f"{base}/")
    await expect(page.get_by_role("heading", name="党员、志愿者")).to_be_visible()
    await expect(page.get_by_role("heading", name="活动组织者")).to_be_visible()
    await expect(page.get_by_role("heading", name="社区、街道委员会")).to_be_visible()
    assert await page_width(page) <= 360
    await screenshot(page, "45-phone-landing")
    await page.get_by_role("link", name="登录").click()
    await expect(page.get_by_role("heading", name="组织者登录")).to_be_visible()
    await page.goto(f"{base}/?lang=en")
    await expect(page.get_by_role("heading", name="Members and volunteers")).to_be_visible()
    await screenshot(page, "46-phone-landing-en")


@pytest.fixture
async def reports_url(database_url: str, community: Community) -> AsyncIterator[str]:
    async with serving(create_app(Settings(database_url=database_url,
                                           run_projector=False))) as url:
        yield url


async def test_the_reports_landing_page_on_a_phone(reports_url: str,
                                                   phone: BrowserContext) -> None:
    page = await phone.new_page()
    await page.goto(f"{reports_url}/")
    await expect(page.get_by_role("heading", name="社区志愿服务报表")).to_be_visible()
    await expect(page.get_by_role("heading", name="Community volunteer reports")).to_be_visible()
    assert await page_width(page) <= 360
    await screenshot(page, "47-phone-reports-landing")
    await page.get_by_role("link", name="运行状态").click()
    await expect(page.locator("body")).to_contain_text('"ok"')


@pytest.fixture
async def intranet(browser: Browser) -> AsyncIterator[tuple[BrowserContext, list[str]]]:
    """A desktop whose requests to any host but 127.0.0.1 fail, as on an intranet."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    violations = await watch_csp(context)
    blocked: list[str] = []

    async def refuse(route: Route) -> None:
        blocked.append(route.request.url)
        await route.abort()

    await context.route(lambda url: not url.startswith("http://127.0.0.1"), refuse)
    yield context, blocked
    await close_checked(context, violations)


async def test_schema_viewers_work_without_the_internet(
        ledger_client: httpx.AsyncClient, reports_url: str,
        intranet: tuple[BrowserContext, list[str]]) -> None:
    context, blocked = intranet
    page = await context.new_page()
    ledger = str(ledger_client.base_url).rstrip("/")
    for base, title, name in ((ledger, "社区志愿服务台账 Ledger API", "48-schema-ledger"),
                              (reports_url, "社区志愿服务报表 — reports", "49-schema-reports")):
        await page.goto(f"{base}/schema")
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text(title)
        await expect(page.locator(".opblock").first).to_be_visible()
        await screenshot(page, name)
    assert blocked == []
