"""The member's flows at phone width (390×844) in chromium: the poster alone in one step,
the page before check-in opens and after 签退, a reload without network (the service
worker) with a tap made offline, and the records page."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Playwright, expect

from contract.calendar import shanghai
from ledger import checkin_codes
from tests.e2e.conftest import SECRETS, close_checked, screenshot, watch_csp
from tests.e2e.test_checkin_flow import events_of, live_url
from tests.integration.conftest import Clock, Community, register, schedule

pytestmark = pytest.mark.browser
SECRET = SECRETS["CHECKIN_CODE_SECRET"].encode()


@pytest.fixture
async def phone390(playwright_session: Playwright,
                   browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh phone 390×844 wide (an iPhone 12–15 class screen), with touch."""
    profile = dict(playwright_session.devices["Pixel 7"])
    profile.pop("default_browser_type", None)
    profile["viewport"] = {"width": 390, "height": 844}
    context = await browser.new_context(**profile, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    violations = await watch_csp(context)
    yield context
    await close_checked(context, violations)


def poster_url(base: str, c: Community, activity: uuid.UUID, starts_at: object) -> str:
    token = checkin_codes.poster_token(SECRET, c.tenant, activity,
                                       shanghai(starts_at).date())  # type: ignore[arg-type]
    return f"{base}/t/{c.tenant}/checkin/{activity}?p={token}"


async def identify(page: Page, number: str) -> None:
    await page.get_by_label("党员编号").fill(number)
    await page.get_by_label("密码（PIN）").fill("1234")
    async with page.expect_navigation():
        await page.get_by_role("button", name="验证").click()


async def no_wider_than_the_screen(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390


async def check_in_flags(pool: asyncpg.Pool, tenant: str,
                         activity: uuid.UUID) -> list[list[str]]:
    rows = await pool.fetch(
        "SELECT data->'flags' AS flags FROM ledger.events WHERE tenant_id = $1 "
        "AND stream_id = $2 AND type = 'CheckedIn'", tenant, f"activity-{activity}")
    return [json.loads(row["flags"]) for row in rows]


async def test_the_printed_poster_alone_checks_in_with_one_tap(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone390: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0801")
    starts = clock.now - timedelta(minutes=5)
    activity = await schedule(ledger_client, c, starts)
    page = await phone390.new_page()
    # Scan the poster (no live screen on site) → identify → 签到.
    await page.goto(poster_url(base, c, activity, starts))
    await expect(page.get_by_role("heading", name="楼道清理")).to_be_visible()
    await identify(page, "XH-0801")
    await expect(page.get_by_role("button", name="签到", exact=True)).to_be_visible()
    await expect(page.get_by_label("现场签到码（6位数字）")).to_have_count(0)
    await screenshot(page, "m01-poster-ready")
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.get_by_text("签到成功")).to_be_visible()
    await expect(page.locator("#state")).to_contain_text("已签到")
    await no_wider_than_the_screen(page)
    await screenshot(page, "m02-poster-checked-in")
    assert await events_of(pool, c.tenant, activity) == ["ActivityScheduled", "CheckedIn"]
    assert await check_in_flags(pool, c.tenant, activity) == [["poster_only"]]


async def test_a_typed_live_code_checks_in_with_the_one_tap(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone390: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0802")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    page = await phone390.new_page()
    await page.goto(f"{base}/t/{c.tenant}/checkin/{activity}")
    await identify(page, "XH-0802")
    code = live_url(base, c, activity, clock).rsplit("=", 1)[1]
    await page.get_by_label("现场签到码（6位数字）").fill(code)
    await screenshot(page, "m03-typed-code")
    await page.get_by_role("button", name="凭签到码签到").click()
    await expect(page.get_by_text("签到成功")).to_be_visible()
    assert await events_of(pool, c.tenant, activity) == ["ActivityScheduled", "CheckedIn"]
    assert await check_in_flags(pool, c.tenant, activity) == [[]]


async def test_before_opening_the_page_says_when_and_after_check_out_shows_the_stay(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone390: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0803")
    starts = clock.now + timedelta(hours=2)
    activity = await schedule(ledger_client, c, starts)
    page = await phone390.new_page()
    await page.goto(poster_url(base, c, activity, starts))
    await identify(page, "XH-0803")
    opens = shanghai(starts - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    await expect(page.locator("#opens")).to_contain_text(f"签到将于 {opens}（北京时间）开放")
    await expect(page.get_by_role("button", name="签到", exact=True)).to_have_count(0)
    await expect(page.get_by_label("现场签到码（6位数字）")).to_have_count(0)
    await screenshot(page, "m04-before-opening")

    clock.advance(hours=2)
    await page.goto(poster_url(base, c, activity, starts))
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.get_by_text("签到成功")).to_be_visible()
    clock.advance(minutes=25)
    await page.get_by_role("button", name="签退").click()
    await expect(page.get_by_text("签退成功")).to_be_visible()
    await expect(page.locator("#state")).to_contain_text("在场时长 25 分钟")
    await expect(page.locator("#finished")).to_be_visible()
    # Coming back stays possible, but no big 签到 button invites a second check-in.
    await expect(page.get_by_role("button", name="签到", exact=True)).to_be_hidden()
    await expect(page.get_by_text("再次签到")).to_be_visible()
    await no_wider_than_the_screen(page)
    await screenshot(page, "m05-after-check-out")


async def test_an_offline_reload_shows_the_last_page_and_keeps_the_tap(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone390: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0804")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    page = await phone390.new_page()
    await page.goto(live_url(base, c, activity, clock))
    await identify(page, "XH-0804")
    await expect(page.get_by_role("button", name="签到", exact=True)).to_be_visible()
    # The service worker has taken over and kept this page.
    await page.evaluate("navigator.serviceWorker.ready")
    await page.reload()
    await page.wait_for_function("navigator.serviceWorker.controller !== null")

    await phone390.set_offline(True)
    await page.reload()
    await expect(page.get_by_role("heading", name="楼道清理")).to_be_visible()
    await expect(page.locator("#offline-note")).to_contain_text("当前没有网络")
    await screenshot(page, "m06-offline-reload")
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.locator("#progress")).to_contain_text("恢复网络后自动提交")
    assert await events_of(pool, c.tenant, activity) == ["ActivityScheduled"]
    # Reloaded again, still offline: the tap is still waiting, not lost.
    await page.reload()
    await expect(page.locator("#progress")).to_contain_text("恢复网络后自动提交")
    await screenshot(page, "m07-offline-tap-waiting")
    # A member page never opened on this phone: the offline page, not the browser's error.
    other = await phone390.new_page()
    await other.goto(f"{base}/t/{c.tenant}/checkin/{uuid.uuid4()}")
    await expect(other.locator("#offline")).to_contain_text("当前没有网络")
    await screenshot(other, "m08-offline-page")
    await other.close()

    await phone390.set_offline(False)
    await expect(page.get_by_text("签到成功")).to_be_visible(timeout=20_000)
    await expect(page.locator("#offline-note")).to_be_hidden()
    assert await events_of(pool, c.tenant, activity) == ["ActivityScheduled", "CheckedIn"]


async def test_my_records_show_every_month_the_chart_and_a_correction(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone390: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0805")
    today = clock.now
    clock.now = today - timedelta(days=95)
    for hours in (2, 3):
        activity = await schedule(ledger_client, c, clock.now)
        url = f"/api/v1/activities/{activity}"
        checked_in = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                              json={"member_id": str(member), "method": "qr"})
        clock.advance(hours=hours)
        await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                                 json={"member_id": str(member)})
        await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
            "confirmations": [{"participation_id": checked_in.json()["created_id"]}]})
        clock.advance(days=1)
    corrected = await ledger_client.post(f"{url}/corrections", headers=c.organiser, json={
        "participation_id": checked_in.json()["created_id"], "minutes": 90,
        "reason": "中途离开去接孩子"})
    assert corrected.status_code == 201, corrected.text
    clock.now = today

    page = await phone390.new_page()
    await page.goto(f"{base}/t/{c.tenant}/me")
    await identify(page, "XH-0805")
    await expect(page.get_by_role("heading", name="我的服务记录")).to_be_visible()
    await expect(page.locator("svg.chart rect")).not_to_have_count(0)
    rows = page.locator("#months tbody tr")
    assert await rows.count() >= 4  # the first month, the empty ones, this month
    await expect(page.locator("#months tbody tr.empty").first).to_contain_text("0")
    await expect(page.locator("#years")).to_contain_text("3.5")  # 2 h + 1.5 h corrected
    history = page.locator("ol.history")
    await expect(history).to_contain_text("组织者更正")
    await expect(history).to_contain_text("1.5 小时（原 2 小时）")
    await expect(history).to_contain_text("理由：中途离开去接孩子")
    await expect(page.locator("#next-star")).to_have_text("再服务 96.5 小时可达 ★")
    await no_wider_than_the_screen(page)
    await screenshot(page, "m09-my-records")
