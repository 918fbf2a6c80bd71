"""The correction flow in chromium at desktop width: a member who checked out too early
asks on three records (reason, hours); the organiser accepts one as asked, amends one and
refuses one from the review list; credits beyond presence stay flagged there; the roster is
searched and shows its capacity and each row's history; a bulk confirmation with one bad
figure names that row and keeps every typed figure; and the member sees each record's
history (asked → accepted / amended / refused, by whom, when, why)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.e2e.test_organiser_pages import activity_events, sign_in
from tests.integration.conftest import Clock, Community, register, schedule

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
TITLES = ("周六楼道清理", "周日垃圾分类", "周一小广告清除")


async def _left_early(client: httpx.AsyncClient, c: Community, clock: Clock,
                      member: uuid.UUID, title: str) -> uuid.UUID:
    """A 2-hour activity (capacity 10) the member left after 30 minutes; confirmed."""
    activity = await schedule(client, c, clock.now - timedelta(minutes=5), title=title,
                              capacity=10)
    url = f"/api/v1/activities/{activity}"
    checked_in = await client.post(f"{url}/check-ins", headers=c.admin,
                                   json={"member_id": str(member)})
    assert checked_in.status_code == 201, checked_in.text
    clock.advance(minutes=30)
    assert (await client.post(f"{url}/check-outs", headers=c.admin,
                              json={"member_id": str(member)})).status_code == 201
    confirmed = await client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": checked_in.json()["created_id"]}]})
    assert confirmed.status_code == 201, confirmed.text
    clock.advance(hours=3)
    return activity


async def _identify(page: Page, base: str, c: Community, number: str) -> None:
    await page.goto(f"{base}/t/{c.tenant}/me")
    await page.get_by_label("党员编号").fill(number)
    await page.get_by_label("密码（PIN）").fill("1234")
    await page.get_by_role("button", name="验证").click()
    await expect(page.get_by_role("heading", name="我的服务记录")).to_be_visible()


async def test_member_asks_organiser_accepts_amends_refuses_and_both_see_the_history(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        browser: Browser, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0701")
    activities = [await _left_early(ledger_client, c, clock, member, t) for t in TITLES]

    member_side = await browser.new_context(viewport=DESKTOP, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    organiser_side = await browser.new_context(viewport=DESKTOP, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    member_violations = await watch_csp(member_side)
    organiser_violations = await watch_csp(organiser_side)
    try:
        mine = await member_side.new_page()
        await _identify(mine, base, c, "XH-0701")
        for title in TITLES:
            record = mine.locator("li.record", has_text=title)
            await record.get_by_text("申请更正").click()
            await record.get_by_label("原因").fill(f"{title}：签退点早了，实际干到结束")
            await record.get_by_label("您认为应为多少小时（可不填）").fill("2")
            await record.get_by_role("button", name="提交").click()
            await expect(mine.get_by_text("更正申请已提交")).to_be_visible()
        await screenshot(mine, "40-member-asks")

        organiser = await organiser_side.new_page()
        await sign_in(organiser, base, c)
        await organiser.get_by_role("link", name="待复核记录").click()
        rows = organiser.locator(".review-row")
        await expect(rows).to_have_count(3)
        accepted, amended, refused = (rows.filter(has_text=t) for t in TITLES)
        await expect(accepted).to_contain_text("申请 2 小时")
        await expect(accepted).to_contain_text("签退点早了，实际干到结束")
        await screenshot(organiser, "41-review-requests")

        await accepted.get_by_role("button", name="按申请认定（2 小时）").click()
        await expect(organiser.get_by_text("已按申请认定")).to_be_visible()
        await amended.get_by_label("时长（小时）").fill("1.5")
        await amended.get_by_label("修改认定的原因").fill("组长证实10:30离开")
        await amended.get_by_role("button", name="修改认定").click()
        await expect(organiser.get_by_text("已修改认定")).to_be_visible()
        # A refusal needs its reason: the browser asks for it before anything is sent.
        await refused.get_by_label("不予更正的原因").fill("签到表显示9:30离开")
        await refused.get_by_role("button", name="不予更正").click()
        await expect(organiser.get_by_text("已答复：不予更正")).to_be_visible()

        # Credits beyond the time present stay in the review list, flagged, with history.
        await expect(rows).to_have_count(2)
        await expect(rows.filter(has_text=TITLES[2])).to_have_count(0)
        for row, kind, hours in ((accepted, "按申请认定", "2 小时"),
                                 (amended, "修改认定", "1.5 小时")):
            await expect(row).to_contain_text("超过在场时间认定")
            await expect(row.locator("ol.history")).to_contain_text(kind)
            await expect(row.locator("ol.history")).to_contain_text(hours)
            await expect(row.locator("ol.history")).to_contain_text("王书记")
            await expect(row.locator(".answer")).to_have_count(0)
        await screenshot(organiser, "42-review-answered")

        # The roster: capacity, search, and the row's own history and actions.
        await organiser.goto(f"{base}/organiser/activities/{activities[2]}")
        await expect(organiser.locator("#capacity")).to_have_text("已签到 1 / 容量 10 人")
        row = organiser.locator("li.card", has_text="XH-0701")
        await expect(row.locator("ol.history")).to_contain_text("不予更正")
        await expect(row.locator("ol.history")).to_contain_text("签到表显示9:30离开")
        await expect(row.locator("details.fix summary")).to_have_text("更正 / 撤销")
        await organiser.get_by_label("搜索姓名或党员编号").fill("nobody-here")
        await organiser.get_by_role("button", name="查找").click()
        await expect(organiser.get_by_text("没有符合条件的人员")).to_be_visible()
        await organiser.get_by_label("搜索姓名或党员编号").fill("0701")
        await organiser.get_by_role("button", name="查找").click()
        await expect(organiser.locator("ul.roster > li")).to_have_count(1)
        await screenshot(organiser, "43-roster-search-history")

        # The member sees the three answers: what, by whom, when, why.
        await mine.reload()
        for title, kind, why in ((TITLES[0], "按申请认定", "签退点早了"),
                                 (TITLES[1], "修改认定", "组长证实10:30离开"),
                                 (TITLES[2], "不予更正", "签到表显示9:30离开")):
            history = mine.locator("li.record", has_text=title).locator("ol.history")
            await expect(history).to_contain_text("本人申请")
            await expect(history).to_contain_text(kind)
            await expect(history).to_contain_text(why)
            await expect(history).to_contain_text("经办 王书记")
        await expect(mine.locator("li.record", has_text=TITLES[0])).to_contain_text(
            "已确认：2 小时")
        await screenshot(mine, "44-member-history")
    finally:
        await close_checked(member_side, member_violations)
        await close_checked(organiser_side, organiser_violations)

    kinds = [[t for t, _ in await activity_events(pool, c.tenant, a)][-1] for a in activities]
    assert kinds == ["ParticipationCorrected", "ParticipationCorrected",
                     "CorrectionRequestRefused"]
    [*_, (_, accepted_event)] = await activity_events(pool, c.tenant, activities[0])
    assert (accepted_event["minutes"], accepted_event["answer"],
            accepted_event["beyond_presence"]) == (120, "accepted", True)


async def test_a_bulk_confirmation_names_the_bad_row_and_keeps_the_input(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        browser: Browser, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    members = [await register(ledger_client, c, n) for n in ("XH-0702", "XH-0703")]
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    url = f"/api/v1/activities/{activity}"
    for member in members:
        assert (await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                         json={"member_id": str(member)})).status_code == 201
    clock.advance(minutes=30)
    for member in members:
        assert (await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                                         json={"member_id": str(member)})).status_code == 201
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    violations = await watch_csp(context)
    try:
        page = await context.new_page()
        await sign_in(page, base, c)
        await page.goto(f"{base}/organiser/activities/{activity}")
        await expect(page.locator("#capacity")).to_have_text("已签到 2 人（不限人数）")
        good = page.locator("li.card", has_text="XH-0702")
        bad = page.locator("li.card", has_text="XH-0703")
        await good.get_by_label("时长（小时）").fill("0.4")
        await bad.get_by_label("时长（小时）").fill("1")
        await page.get_by_role("button", name="确认所选人员的时长").click()
        error = page.get_by_role("alert")
        await expect(error).to_contain_text("张三明（XH-0703）")
        await expect(error).to_contain_text("最多 0.5 小时")
        await expect(error).not_to_contain_text("分钟")
        await expect(bad).to_have_class(re.compile(r"\bbad-row\b"))
        # Every typed figure is back.
        await expect(good.get_by_label("时长（小时）")).to_have_value("0.4")
        await expect(bad.get_by_label("时长（小时）")).to_have_value("1")
        await screenshot(page, "45-bulk-bad-row")
        assert [t for t, _ in await activity_events(pool, c.tenant, activity)][-1] == \
            "CheckedOut"

        # Not a number: named too, and nothing is lost.
        await bad.get_by_label("时长（小时）").fill("一小时")
        await page.get_by_role("button", name="确认所选人员的时长").click()
        await expect(page.get_by_role("alert")).to_contain_text("张三明（XH-0703）")
        await expect(page.get_by_role("alert")).to_contain_text("小时数")
        await expect(good.get_by_label("时长（小时）")).to_have_value("0.4")

        await bad.get_by_label("时长（小时）").fill("0.5")
        await page.get_by_role("button", name="确认所选人员的时长").click()
        await expect(page.get_by_text("已确认").first).to_be_visible()
    finally:
        await close_checked(context, violations)
    confirmed = {d["member_id"]: d["minutes"]
                 for t, d in await activity_events(pool, c.tenant, activity)
                 if t == "AttendanceConfirmed"}
    assert confirmed == {str(members[0]): 24, str(members[1]): 30}
