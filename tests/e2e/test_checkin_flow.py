"""The member's check-in and check-out on a phone, end to end in chromium."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from ledger import checkin_codes
from tests.e2e.conftest import SECRETS, screenshot
from tests.integration.conftest import Clock, Community, register, schedule

pytestmark = pytest.mark.browser


def live_url(base: str, c: Community, activity: uuid.UUID, clock: Clock) -> str:
    code = checkin_codes.current(SECRETS["CHECKIN_CODE_SECRET"].encode(), c.tenant, activity,
                                 clock.now).code
    return f"{base}/t/{c.tenant}/checkin/{activity}?c={code}"


async def events_of(pool: asyncpg.Pool, tenant: str, activity: uuid.UUID) -> list[str]:
    rows = await pool.fetch(
        "SELECT type FROM ledger.events WHERE tenant_id = $1 AND stream_id = $2 "
        "ORDER BY version", tenant, f"activity-{activity}")
    return [row["type"] for row in rows]


async def test_check_in_and_out_on_a_phone(ledger_client: httpx.AsyncClient,
                                           community: Community, clock: Clock,
                                           phone: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await register(ledger_client, c, "XH-0101")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    page = await phone.new_page()

    await page.goto(live_url(base, c, activity, clock))
    await expect(page.get_by_role("heading", name="楼道清理")).to_be_visible()
    await expect(page.get_by_text("3号楼")).to_be_visible()
    await expect(page.get_by_text("第一党支部")).to_be_visible()
    await screenshot(page, "01-checkin-identify")
    await page.get_by_label("党员编号").fill("XH-0101")
    await page.get_by_label("密码（PIN）").fill("1234")
    await page.get_by_role("button", name="验证").click()

    await expect(page.get_by_text("未签到")).to_be_visible()
    await screenshot(page, "02-checkin-ready")
    await page.get_by_role("button", name="签到").click()
    await expect(page.get_by_text("签到成功")).to_be_visible()
    await expect(page.locator("#state")).to_contain_text("已签到")
    await screenshot(page, "03-checked-in")

    clock.advance(minutes=95)
    await page.reload()
    await expect(page.locator("#state")).to_contain_text("1.58")  # 95 minutes so far
    await page.get_by_role("button", name="签退").click()
    await expect(page.get_by_text("签退成功")).to_be_visible()
    await expect(page.locator("#state")).to_contain_text("已签退")
    await screenshot(page, "04-checked-out")
    assert await events_of(pool, c.tenant, activity) == [
        "ActivityScheduled", "CheckedIn", "CheckedOut"]
