"""An organiser's activities on a desktop in chromium: the four states, the unit picker's
tree, rescheduling, cancelling with a reason behind a confirmation dialog (declined once,
then accepted), closing behind its dialog, and the same two steps with JavaScript off;
revising the title and capacity on a phone and on a desktop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from contract.calendar import SHANGHAI
from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.e2e.test_organiser_pages import activity_events, sign_in
from tests.integration.conftest import Clock, Community, establish, register, schedule

pytestmark = pytest.mark.browser


@pytest.fixture
async def desktop(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        locale="zh-CN", timezone_id="Asia/Shanghai")
    violations = await watch_csp(context)
    yield context
    await close_checked(context, violations)


def card(page: Page, title: str) -> Locator:
    return page.locator("ul.activities li.card", has_text=title)


async def test_states_tree_reschedule_cancel_and_close(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        desktop: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    await establish(ledger_client, c.admin, "group", c.branch, "13号楼党小组")
    await establish(ledger_client, c.admin, "group", c.other_branch, "13号楼党小组")
    later = await schedule(ledger_client, c, clock.now + timedelta(days=2), title="周末清扫")
    now_on = await schedule(ledger_client, c, clock.now - timedelta(minutes=10), title="夜间巡逻")
    page = await desktop.new_page()
    await sign_in(page, base, c)

    await expect(card(page, "周末清扫").locator(".status")).to_have_text("未开始")
    await expect(card(page, "夜间巡逻").locator(".status")).to_have_text("进行中")
    picker = page.get_by_label("主办组织")
    labels = [text.strip() for text in await picker.locator("option").all_inner_texts()]
    assert "13号楼党小组（第一党支部）" in labels and "13号楼党小组（第二党支部）" in labels
    await picker.select_option(label="\u3000\u300013号楼党小组（第二党支部）")
    await screenshot(page, "40-desktop-activities-states-and-tree")

    # Reschedule: a new day, time and place, with the reason.
    await card(page, "周末清扫").get_by_role("link", name="修改/改期/取消").click()
    await expect(page.get_by_role("heading", name="修改活动 · 周末清扫")).to_be_visible()
    new_day = (clock.now + timedelta(days=4)).astimezone(SHANGHAI).date().isoformat()
    await page.get_by_label("日期").fill(new_day)
    await page.get_by_label("开始").fill("14:00")
    await page.get_by_label("结束").fill("16:00")
    await page.get_by_label("地点").fill("5号楼南门")
    await page.get_by_role("button", name="保存修改").click()
    await expect(page.get_by_text("请填写此项")).to_be_visible()  # the reason is missing
    await expect(page.get_by_label("地点")).to_have_value("5号楼南门")
    await page.get_by_label("修改原因").fill("3号楼楼道施工")
    await page.get_by_role("button", name="保存修改").click()
    await expect(page.get_by_text("已修改活动时间地点")).to_be_visible()
    await expect(page.get_by_text(f"{new_day} 14:00–16:00 · 5号楼南门")).to_be_visible()
    kind, data = (await activity_events(pool, c.tenant, later))[-1]
    assert (kind, data["place"], data["reason"]) == ("ActivityRescheduled", "5号楼南门",
                                                      "3号楼楼道施工")

    # Cancel: the dialog declined records nothing; accepted, the activity is cancelled.
    await page.get_by_role("link", name="修改/改期/取消").click()
    await page.get_by_label("取消原因").fill("社区停电")
    await page.get_by_role("button", name="取消活动").click()
    dialog = page.locator("#confirm-cancel")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("确定取消这个活动吗")
    await screenshot(page, "41-desktop-cancel-dialog")
    await dialog.get_by_role("button", name="返回，不操作").click()
    await expect(dialog).to_be_hidden()
    assert (await activity_events(pool, c.tenant, later))[-1][0] == "ActivityRescheduled"
    await page.get_by_role("button", name="取消活动").click()
    await dialog.get_by_role("button", name="确定取消活动").click()
    await expect(page.get_by_text("活动已取消").first).to_be_visible()
    kind, data = (await activity_events(pool, c.tenant, later))[-1]
    assert (kind, data["reason"]) == ("ActivityCancelled", "社区停电")

    # Close the one under way, behind its dialog (Escape first: nothing happens).
    await page.get_by_role("link", name="活动列表").click()
    await expect(card(page, "周末清扫").locator(".status")).to_have_text("已取消")
    await card(page, "夜间巡逻").get_by_role("link", name="签到名单").click()
    await page.get_by_role("button", name="结束活动").click()
    close = page.locator("#confirm-close")
    await expect(close).to_be_visible()
    await screenshot(page, "42-desktop-close-dialog")
    await page.keyboard.press("Escape")
    await expect(close).to_be_hidden()
    assert [t for t, _ in await activity_events(pool, c.tenant, now_on)] == [
        "ActivityScheduled"]
    await page.get_by_role("button", name="结束活动").click()
    await close.get_by_role("button", name="确定结束").click()
    await expect(page.get_by_text("活动已结束").first).to_be_visible()
    await page.get_by_role("link", name="活动列表").click()
    await expect(card(page, "夜间巡逻").locator(".status")).to_have_text("已结束")
    await page.get_by_label("状态").select_option(label="已结束")
    await page.get_by_role("button", name="查找").click()
    await expect(page.locator("ul.activities li.card")).to_have_count(1)
    await screenshot(page, "43-desktop-activities-after")
    assert [t for t, _ in await activity_events(pool, c.tenant, now_on)] == [
        "ActivityScheduled", "ActivityClosed"]


async def test_without_javascript_closing_asks_on_a_page(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        browser: Browser, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=10))
    context = await browser.new_context(java_script_enabled=False,
                                        viewport={"width": 1280, "height": 900})
    violations = await watch_csp(context)
    try:
        page = await context.new_page()
        await sign_in(page, base, c)
        await page.goto(f"{base}/organiser/activities/{activity}")
        await page.get_by_role("button", name="结束活动").click()
        await expect(page.get_by_role("heading", name="请确认")).to_be_visible()
        await expect(page.get_by_text("确定结束这个活动吗")).to_be_visible()
        assert [t for t, _ in await activity_events(pool, c.tenant, activity)] == [
            "ActivityScheduled"]
        await page.get_by_role("button", name="确定结束").click()
        await expect(page.get_by_text("活动已结束").first).to_be_visible()
    finally:
        await close_checked(context, violations)
    assert [t for t, _ in await activity_events(pool, c.tenant, activity)] == [
        "ActivityScheduled", "ActivityClosed"]


async def test_the_title_and_capacity_are_revised_on_a_phone(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool, phone: BrowserContext) -> None:
    await revise_after_people_checked_in(ledger_client, community, clock, pool, phone, "phone")


async def test_the_title_and_capacity_are_revised_on_a_desktop(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool, desktop: BrowserContext) -> None:
    await revise_after_people_checked_in(ledger_client, community, clock, pool, desktop,
                                         "desktop")


async def revise_after_people_checked_in(
        ledger_client: httpx.AsyncClient, c: Community, clock: Clock, pool: asyncpg.Pool,
        context: BrowserContext, device: str) -> None:
    """Two members are in: a capacity of 1 is refused on the form, 2 is taken."""
    base = str(ledger_client.base_url).rstrip("/")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=10),
                              title="楼道清理")
    for number in ("XH-0801", "XH-0802"):
        member = await register(ledger_client, c, f"{number}-{device}")
        checked_in = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                              headers=c.admin, json={"member_id": str(member)})
        assert checked_in.status_code == 201, checked_in.text
    page = await context.new_page()
    await sign_in(page, base, c)
    await card(page, "楼道清理").get_by_role("link", name="修改/改期/取消").click()
    await expect(page.get_by_label("活动名称")).to_have_value("楼道清理")
    await page.get_by_label("活动名称").fill("楼道清理（3号楼）")
    await page.get_by_label("人数上限（不填为不限）").fill("1")
    await page.get_by_label("修改名称或人数的原因").fill("写清楼号，只留已到的人")
    await page.get_by_role("button", name="保存名称和人数").click()
    await expect(page.get_by_text("已有 2 人签到，人数上限不能少于 2")).to_be_visible()
    await expect(page.get_by_label("活动名称")).to_have_value("楼道清理（3号楼）")
    # Nothing is wider than the screen, the refusal included.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, f"48-{device}-revise-refused")
    await page.get_by_label("人数上限（不填为不限）").fill("2")
    await page.get_by_role("button", name="保存名称和人数").click()
    await expect(page.get_by_text("已修改活动名称和人数上限")).to_be_visible()
    await expect(page.locator("#capacity")).to_have_text("已签到 2 / 容量 2 人")
    await screenshot(page, f"49-{device}-revised-roster")
    kind, data = (await activity_events(pool, c.tenant, activity))[-1]
    assert (kind, data["title"], data["capacity"]) == ("ActivityDetailsRevised",
                                                       "楼道清理（3号楼）", 2)
    await page.get_by_role("link", name="活动列表").click()
    await expect(card(page, "楼道清理（3号楼）")).to_have_count(1)
