"""The member's own page, the check-in without JavaScript, and the English switch."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import msgspec
import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.e2e.test_checkin_flow import events_of, live_url
from tests.integration.conftest import Clock, Community, register, schedule

pytestmark = pytest.mark.browser


async def test_check_in_works_without_javascript(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        browser: Browser, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0501")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    context = await browser.new_context(java_script_enabled=False,
                                        viewport={"width": 360, "height": 760})
    violations = await watch_csp(context)
    try:
        page = await context.new_page()
        await page.goto(live_url(base, c, activity, clock))
        await page.get_by_label("党员编号").fill("XH-0501")
        await page.get_by_label("密码（PIN）").fill("1234")
        await page.get_by_role("button", name="验证").click()
        await page.get_by_role("button", name="签到").click()
        await expect(page.get_by_text("签到成功")).to_be_visible()
        clock.advance(minutes=30)
        await page.get_by_role("button", name="签退").click()
        await expect(page.get_by_text("签退成功")).to_be_visible()
    finally:
        await close_checked(context, violations)
    assert await events_of(pool, c.tenant, activity) == [
        "ActivityScheduled", "CheckedIn", "CheckedOut"]


async def test_member_page_hours_stars_and_a_correction_request(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0502")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    url = f"/api/v1/activities/{activity}"
    checked_in = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                          json={"member_id": str(member)})
    clock.advance(minutes=100)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": checked_in.json()["created_id"]}]})
    assert confirmed.status_code == 201, confirmed.text

    page = await phone.new_page()
    await page.goto(f"{base}/t/{c.tenant}/me")
    await page.get_by_label("党员编号").fill("XH-0502")
    await page.get_by_label("密码（PIN）").fill("1234")
    await page.get_by_role("button", name="验证").click()
    await expect(page.get_by_role("heading", name="我的服务记录")).to_be_visible()
    await expect(page.locator("#total-hours")).to_have_text("1.67")
    await expect(page.get_by_text("尚未达到一星")).to_be_visible()
    await expect(page.locator("#months tbody tr")).to_have_count(1)
    await expect(page.locator(".personal svg")).to_be_visible()
    await screenshot(page, "20-member-records")

    await page.get_by_text("申请更正").click()
    await page.get_by_label("原因").fill("实际服务到11点，漏记20分钟")
    await page.get_by_label("您认为应为多少小时（可不填）").fill("2")
    await page.get_by_role("button", name="提交").click()
    await expect(page.get_by_text("更正申请已提交")).to_be_visible()
    types = await events_of(pool, c.tenant, activity)
    assert types[-1] == "CorrectionRequested"
    row = await pool.fetchrow(
        "SELECT data, metadata FROM ledger.events WHERE tenant_id = $1 AND stream_id = $2 "
        "AND type = 'CorrectionRequested'", c.tenant, f"activity-{activity}")
    data, metadata = msgspec.json.decode(row["data"]), msgspec.json.decode(row["metadata"])
    assert data["requested_minutes"] == 120 and data["reason"] == "实际服务到11点，漏记20分钟"
    assert metadata["source"] == "form" and metadata["actor"] == f"member:{member}"

    # The organiser sees the request in the review list until it is answered.
    desk = await phone.browser.new_context(viewport={"width": 360, "height": 760})  # type: ignore[union-attr]
    desk_violations = await watch_csp(desk)
    try:
        organiser = await desk.new_page()
        await organiser.goto(f"{base}/organiser/review")
        await organiser.get_by_label("区（租户）编号").fill(c.tenant)
        await organiser.get_by_label("登录名").fill(f"wang-{c.tenant}")
        await organiser.get_by_label("密码").fill("s3cret-pass")
        await organiser.get_by_role("button", name="登录").click()
        review = organiser.locator(".review-row")
        await expect(review).to_contain_text("本人申请更正")
        await expect(review).to_contain_text("实际服务到11点，漏记20分钟")
        await expect(review).to_contain_text("申请 2 小时")
    finally:
        await close_checked(desk, desk_violations)


async def test_english_switch_on_the_check_in_page(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    page = await phone.new_page()
    await page.goto(live_url(base, c, activity, clock))
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Identify yourself")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Member number")).to_be_visible()
    await screenshot(page, "21-checkin-english")


async def test_a_refused_tap_is_explained_and_not_retried(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0503")
    first = await register(ledger_client, c, "XH-0504")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5), capacity=1)
    page = await phone.new_page()
    await page.goto(live_url(base, c, activity, clock))
    await page.get_by_label("党员编号").fill("XH-0503")
    await page.get_by_label("密码（PIN）").fill("1234")
    async with page.expect_navigation():
        await page.get_by_role("button", name="验证").click()
    # The last place is taken while the page is open.
    taken = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                     headers=c.admin, json={"member_id": str(first)})
    assert taken.status_code == 201, taken.text
    await page.get_by_role("button", name="签到").click()
    await expect(page.get_by_role("alert")).to_contain_text("活动人数已满")
    assert await page.evaluate(f"localStorage.getItem('pending-tap:{activity}')") is None
    await screenshot(page, "07-checkin-refused")
    assert await events_of(pool, c.tenant, activity) == ["ActivityScheduled", "CheckedIn"]
