"""The organiser's pages in chromium: sign in, schedule, live code, poster, roster, close,
review (with a member's correction request), bulk confirm, correction; and a form without
its CSRF token refused."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import httpx
import msgspec
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.conftest import screenshot
from tests.integration.conftest import Clock, Community, register, schedule

pytestmark = pytest.mark.browser


async def sign_in(page: Page, base: str, c: Community) -> None:
    await page.goto(f"{base}/organiser/activities")
    await expect(page.get_by_role("heading", name="组织者登录")).to_be_visible()
    await page.get_by_label("区（租户）编号").fill(c.tenant)
    await page.get_by_label("登录名").fill(f"wang-{c.tenant}")
    await page.get_by_label("密码").fill("wrong-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_text("登录名或密码不正确")).to_be_visible()
    # What was typed survives, except the password.
    await expect(page.get_by_label("登录名")).to_have_value(f"wang-{c.tenant}")
    await page.get_by_label("密码").fill("s3cret-pass")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name="活动列表")).to_be_visible()


async def activity_events(pool: asyncpg.Pool, tenant: str,
                          activity: uuid.UUID) -> list[tuple[str, dict]]:
    rows = await pool.fetch(
        "SELECT type, data FROM ledger.events WHERE tenant_id = $1 AND stream_id = $2 "
        "ORDER BY version", tenant, f"activity-{activity}")
    return [(row["type"], msgspec.json.decode(row["data"])) for row in rows]


async def test_roster_close_review_bulk_confirm_and_correct(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    stays = await register(ledger_client, c, "XH-0201")
    forgets = await register(ledger_client, c, "XH-0202")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5), hours=2)
    url = f"/api/v1/activities/{activity}"
    for member in (stays, forgets):
        response = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                            json={"member_id": str(member)})
        assert response.status_code == 201, response.text
    clock.advance(minutes=90)
    response = await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                                        json={"member_id": str(stays)})
    assert response.status_code == 201, response.text

    page = await phone.new_page()
    await sign_in(page, base, c)
    await screenshot(page, "10-organiser-activities")
    await page.get_by_role("link", name="签到名单").first.click()
    await expect(page.get_by_role("heading", name="楼道清理")).to_be_visible()
    await expect(page.get_by_text("仍在场")).to_be_visible()
    await screenshot(page, "11-roster-live")

    await page.get_by_role("button", name="结束活动").click()
    await page.locator("#confirm-close").get_by_role("button", name="确定结束").click()
    await expect(page.get_by_text("活动已结束").first).to_be_visible()
    await expect(page.get_by_text("未签退，自动签退")).to_be_visible()

    await page.get_by_role("link", name="待复核记录").click()
    await expect(page.locator(".review-row")).to_have_count(1)
    await expect(page.locator(".review-row")).to_contain_text("未签退，自动签退")
    await screenshot(page, "12-review")

    await page.get_by_role("link", name="楼道清理").click()
    stays_row = page.locator(".card", has_text="XH-0201")
    await stays_row.get_by_label("时长（小时）").fill("1")
    await page.get_by_role("button", name="确认所选人员的时长").click()
    await expect(page.get_by_text("已确认").first).to_be_visible()
    await screenshot(page, "13-roster-confirmed")

    # A correction of the first member's hours, with its reason, on their row.
    fix = page.locator("li.card", has_text="XH-0201").locator("details.fix")
    await fix.locator("summary").click()
    await fix.get_by_label("时长（小时）").fill("1.25")
    await fix.get_by_label("原因").first.fill("核对签到表后补记15分钟")
    await fix.get_by_role("button", name="更正").click()
    await expect(page.get_by_text("已更正")).to_be_visible()

    events = await activity_events(pool, c.tenant, activity)
    assert [t for t, _ in events] == [
        "ActivityScheduled", "CheckedIn", "CheckedIn", "CheckedOut", "CheckedOut",
        "ActivityClosed", "AttendanceConfirmed", "AttendanceConfirmed",
        "ParticipationCorrected"]
    confirmed = {d["member_id"]: d["minutes"] for t, d in events if t == "AttendanceConfirmed"}
    # 60 typed for the one who stayed 90 minutes; the forgotten check-out is credited by
    # the rules: closed "now" (before the scheduled end), so present 90 minutes.
    assert confirmed == {str(stays): 60, str(forgets): 90}
    auto = [d for t, d in events if t == "CheckedOut" and d["auto"]]
    assert [d["member_id"] for d in auto] == [str(forgets)]
    correction = events[-1][1]
    assert correction["reason"] == "核对签到表后补记15分钟"
    assert (correction["previous_minutes"], correction["minutes"]) == (60, 75)
    assert correction["corrected_by"] == str(c.organiser_id)

    await page.get_by_role("link", name="待复核记录").click()
    await expect(page.get_by_text("没有待复核的记录")).to_be_visible()


async def test_review_shows_the_members_reason_and_hours_until_answered(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0301")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5), hours=4)
    url = f"/api/v1/activities/{activity}"
    checked_in = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                          json={"member_id": str(member)})
    participation = checked_in.json()["created_id"]
    clock.advance(minutes=180)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": participation}]})
    assert confirmed.status_code == 201, confirmed.text
    asked = await ledger_client.post(f"{url}/correction-requests", headers=c.admin, json={
        "participation_id": participation, "member_id": str(member),
        "reason": "中途回家半小时，应扣除", "requested_minutes": 150})
    assert asked.status_code == 201, asked.text

    page = await phone.new_page()
    await sign_in(page, base, c)
    await page.get_by_role("link", name="待复核记录").click()
    row = page.locator(".review-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("本人申请更正")
    await expect(row).to_contain_text("中途回家半小时，应扣除")
    await expect(row).to_contain_text("申请 2.5 小时")
    await expect(row).to_contain_text("认定时长：3 小时")
    await screenshot(page, "15-review-correction-request")

    # The roster shows the same request next to the record it is about.
    await row.get_by_role("link", name="更正").click()
    record = page.locator("li.card", has_text="XH-0301")
    await expect(record).to_contain_text("申请 2.5 小时")
    fix = record.locator("details.fix")
    await fix.locator("summary").click()
    await fix.get_by_label("时长（小时）").fill("2.5")
    await fix.get_by_label("原因").first.fill("核实签到表，按申请更正")
    await fix.get_by_role("button", name="更正").click()
    await expect(page.get_by_text("已更正")).to_be_visible()
    # Answered: no open request on the row; its history keeps what was asked.
    await expect(record.locator(".request")).to_have_count(0)
    await expect(record.locator("ol.history")).to_contain_text("核实签到表，按申请更正")

    await page.get_by_role("link", name="待复核记录").click()
    await expect(page.get_by_text("没有待复核的记录")).to_be_visible()
    status, answer = await pool.fetchrow(
        "SELECT status, answer FROM ledger.correction_requests WHERE tenant_id = $1 "
        "AND participation_id = $2", c.tenant, uuid.UUID(participation))
    assert (status, answer) == ("answered", "corrected")


async def test_schedule_live_code_and_poster(ledger_client: httpx.AsyncClient,
                                             community: Community, clock: Clock,
                                             phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    page = await phone.new_page()
    await sign_in(page, base, c)
    await page.get_by_label("活动名称").fill("周末巡逻")
    await page.get_by_label("地点").fill("东门岗亭")
    await page.get_by_label("开始").fill("19:00")
    await page.get_by_label("结束").fill("18:00")  # wrong: before the start
    await page.get_by_role("button", name="安排活动").click()
    await expect(page.get_by_text("结束时间须晚于开始时间")).to_be_visible()
    await expect(page.get_by_label("活动名称")).to_have_value("周末巡逻")
    await expect(page.get_by_label("地点")).to_have_value("东门岗亭")
    await page.get_by_label("结束").fill("21:00")
    await page.get_by_role("button", name="安排活动").click()
    await expect(page.get_by_text("活动已安排")).to_be_visible()
    await expect(page.get_by_text("周末巡逻")).to_be_visible()

    await page.get_by_role("link", name="现场签到码").first.click()
    code = await page.locator("#live-code").inner_text()
    assert len(code) == 6 and code.isdigit()
    await expect(page.locator(".qr svg")).to_be_visible()
    await screenshot(page, "14-live-code")
    await page.go_back()
    await page.get_by_role("link", name="打印海报").first.click()
    await expect(page.get_by_text("扫码签到；首次使用需输入党员编号和密码")).to_be_visible()
    # The poster says when its QR code works (the check-in window of the activity's day).
    await expect(page.get_by_text("签到时段内有效，请勿转发到群里")).to_be_visible()
    assert "?p=" in (await page.locator(".url").inner_text())
    await screenshot(page, "15-poster")


async def test_a_form_without_its_csrf_token_is_refused(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext, pool: asyncpg.Pool) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0301")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    page = await phone.new_page()
    await sign_in(page, base, c)
    await page.goto(f"{base}/organiser/activities/{activity}")
    await page.get_by_label("代为签到").fill("XH-0301")
    # What a forged cross-site form would send: the session cookie but no token.
    await page.evaluate("document.querySelectorAll('[name=_csrf_token]')"
                        ".forEach(e => e.remove())")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="签到", exact=True).click()
    assert (await answer.value).status == 403
    await expect(page.get_by_text("页面已过期或来源不明")).to_be_visible()
    await screenshot(page, "16-csrf-refused")
    assert [t for t, _ in await activity_events(pool, c.tenant, activity)] == [
        "ActivityScheduled"]

    # With its token the same form works (method "organiser").
    await page.goto(f"{base}/organiser/activities/{activity}")
    await page.get_by_label("代为签到").fill("XH-0301")
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.get_by_text("已代为签到")).to_be_visible()
    events = await activity_events(pool, c.tenant, activity)
    assert events[-1][0] == "CheckedIn"
    assert events[-1][1]["method"] == "organiser"
    assert events[-1][1]["member_id"] == str(member)


async def test_the_roster_refreshes_itself_but_not_while_typing(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0302")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    page = await phone.new_page()
    await page.clock.install()  # the page's timers run on a clock the test moves
    await sign_in(page, base, c)
    await page.goto(f"{base}/organiser/activities/{activity}")
    await expect(page.get_by_text("还没有人签到")).to_be_visible()

    response = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                        headers=c.admin, json={"member_id": str(member)})
    assert response.status_code == 201, response.text
    async with page.expect_navigation():
        await page.clock.run_for(31_000)
    await expect(page.get_by_text("XH-0302", exact=True)).to_be_visible()

    await page.get_by_label("代为签到").fill("half-typed")
    await page.locator("h1").click()  # typed, then looked away: still no reload
    await page.clock.run_for(61_000)
    await expect(page.get_by_label("代为签到")).to_have_value("half-typed")
