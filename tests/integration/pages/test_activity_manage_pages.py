"""An organiser's activity pages over HTTP: the four states, the unit picker's tree,
closing and cancelling only after a confirmation, rescheduling and cancelling with a
reason through the ledger's use cases (and their refusals shown on the form)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import asyncpg
import httpx
import msgspec

from contract.calendar import SHANGHAI
from tests.integration.conftest import Clock, Community, establish, register, schedule
from tests.integration.pages.conftest import browser_like, csrf_token


async def sign_in(desk: httpx.AsyncClient, c: Community) -> None:
    form = await desk.get("/organiser/login")
    signed_in = await desk.post("/organiser/login", data={
        "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass",
        "_csrf_token": csrf_token(form)})
    assert signed_in.status_code == 303


async def events(pool: asyncpg.Pool, c: Community, activity: uuid.UUID) -> list[tuple[str, dict]]:
    rows = await pool.fetch(
        "SELECT type, data FROM ledger.events WHERE tenant_id = $1 AND stream_id = $2 "
        "ORDER BY version", c.tenant, f"activity-{activity}")
    return [(row["type"], msgspec.json.decode(row["data"])) for row in rows]


def statuses(page: httpx.Response) -> dict[str, str]:
    """Each listed activity's title and the state shown next to it."""
    return dict(re.findall(r'<strong>([^<]+)</strong> <span class="status [^"]+">([^<]+)</span>',
                           page.text))


async def test_the_list_shows_four_states_and_filters_by_them(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    await schedule(ledger_client, c, clock.now + timedelta(days=1), title="明日清扫")
    await schedule(ledger_client, c, clock.now - timedelta(minutes=10), title="正在巡逻")
    closed = await schedule(ledger_client, c, clock.now - timedelta(days=2), title="上周座谈",
                            kind="forum", category="attendance")
    cancelled = await schedule(ledger_client, c, clock.now + timedelta(days=3), title="雨天取消")
    url = "/api/v1/activities"
    assert (await ledger_client.post(f"{url}/{closed}/close", headers=c.organiser,
                                     json={})).status_code == 201
    assert (await ledger_client.post(f"{url}/{cancelled}/cancel", headers=c.organiser,
                                     json={"reason": "暴雨预警"})).status_code == 201
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        listed = await desk.get("/organiser/activities")
        assert statuses(listed) == {"明日清扫": "未开始", "正在巡逻": "进行中",
                                    "上周座谈": "已结束", "雨天取消": "已取消"}
        assert "进行中/未开始" not in listed.text
        for shown, title in (("upcoming", "明日清扫"), ("ongoing", "正在巡逻"),
                             ("closed", "上周座谈"), ("cancelled", "雨天取消")):
            filtered = await desk.get("/organiser/activities", params={"status": shown})
            assert list(statuses(filtered)) == [title], shown
            assert f'<option value="{shown}" selected>' in filtered.text
        # Only activities that can still change offer to be changed.
        edits = re.findall(r'href="/organiser/activities/([0-9a-f-]+)/edit"', listed.text)
        assert len(edits) == 2 and str(closed) not in edits and str(cancelled) not in edits


async def test_the_unit_picker_is_the_tree_with_namesakes_told_apart(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    c = community
    first = await establish(ledger_client, c.admin, "group", c.branch, "13号楼党小组")
    second = await establish(ledger_client, c.admin, "group", c.other_branch, "13号楼党小组")
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        listed = await desk.get("/organiser/activities")
        options = re.findall(r'<option value="([0-9a-f-]{36})"[^>]*>([^<]+)</option>',
                             listed.text)
        assert options == [
            (str(c.community), "兴华南里社区"),
            (str(c.branch), "\u3000第一党支部"),
            (str(first), "\u3000\u300013号楼党小组（第一党支部）"),
            (str(c.other_branch), "\u3000第二党支部"),
            (str(second), "\u3000\u300013号楼党小组（第二党支部）"),
        ]


async def test_closing_needs_a_confirmation(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    roster = f"/organiser/activities/{activity}"
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        page = await desk.get(roster)
        assert 'data-confirm="confirm-close"' in page.text
        assert '<dialog id="confirm-close"' in page.text
        command_id = re.search(r'action="[^"]+/close"[^>]*>.*?name="command_id" value="([^"]+)"',
                               page.text, re.S).group(1)
        asked = await desk.post(f"{roster}/close", data={
            "command_id": command_id, "_csrf_token": csrf_token(page)})
        assert asked.status_code == 200 and "确定结束这个活动吗" in asked.text
        assert [t for t, _ in await events(pool, c, activity)] == ["ActivityScheduled"]
        assert f'value="{command_id}"' in asked.text
        assert 'name="confirmed" value="yes"' in asked.text
        closed = await desk.post(f"{roster}/close", data={
            "command_id": command_id, "confirmed": "yes", "_csrf_token": csrf_token(asked)})
        assert closed.status_code == 303
        assert [t for t, _ in await events(pool, c, activity)] == [
            "ActivityScheduled", "ActivityClosed"]
        shown = await desk.get(closed.headers["location"])
        assert "活动已结束" in shown.text and "已结束</span>" in shown.text


async def test_reschedule_and_cancel_with_a_reason(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now + timedelta(days=2))
    edit = f"/organiser/activities/{activity}/edit"
    new_day = (clock.now + timedelta(days=5)).astimezone(SHANGHAI).date()
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        form = await desk.get(edit)
        assert form.status_code == 200 and 'value="3号楼"' in form.text
        token = csrf_token(form)
        no_reason = await desk.post(f"/organiser/activities/{activity}/reschedule", data={
            "day": new_day.isoformat(), "starts": "09:00", "ends": "11:00", "place": "5号楼",
            "reason": "", "_csrf_token": token})
        assert no_reason.status_code == 422 and "请填写此项" in no_reason.text
        assert 'value="5号楼"' in no_reason.text  # what was typed survives
        backwards = await desk.post(f"/organiser/activities/{activity}/reschedule", data={
            "day": new_day.isoformat(), "starts": "11:00", "ends": "09:00", "place": "5号楼",
            "reason": "楼道施工", "_csrf_token": token})
        assert backwards.status_code == 422 and "结束时间须晚于开始时间" in backwards.text
        moved = await desk.post(f"/organiser/activities/{activity}/reschedule", data={
            "day": new_day.isoformat(), "starts": "09:00", "ends": "11:30", "place": "5号楼",
            "reason": "3号楼楼道施工", "_csrf_token": token})
        assert moved.status_code == 303
        assert "已修改活动时间地点" in (await desk.get(moved.headers["location"])).text
        kind, data = (await events(pool, c, activity))[-1]
        assert kind == "ActivityRescheduled"
        assert (data["place"], data["reason"]) == ("5号楼", "3号楼楼道施工")
        assert (data["starts_at"], data["ends_at"]) == (f"{new_day.isoformat()}T09:00:00+08:00",
                                                        f"{new_day.isoformat()}T11:30:00+08:00")

        no_cancel_reason = await desk.post(f"/organiser/activities/{activity}/cancel", data={
            "reason": " ", "confirmed": "yes", "_csrf_token": token})
        assert no_cancel_reason.status_code == 422
        asked = await desk.post(f"/organiser/activities/{activity}/cancel", data={
            "reason": "社区停电", "_csrf_token": token})
        assert asked.status_code == 200 and "确定取消这个活动吗" in asked.text
        assert (await events(pool, c, activity))[-1][0] == "ActivityRescheduled"
        cancelled = await desk.post(f"/organiser/activities/{activity}/cancel", data={
            "reason": "社区停电", "confirmed": "yes", "_csrf_token": token})
        assert cancelled.status_code == 303
        kind, data = (await events(pool, c, activity))[-1]
        assert (kind, data["reason"]) == ("ActivityCancelled", "社区停电")
        after = await desk.get(edit)
        assert "活动已结束或已取消，不能修改" in after.text and "/reschedule" not in after.text


async def test_a_refusal_of_the_ledger_shows_on_the_form(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0701")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    checked_in = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                          headers=c.admin, json={"member_id": str(member)})
    assert checked_in.status_code == 201
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        form = await desk.get(f"/organiser/activities/{activity}/edit")
        day = clock.now.astimezone(SHANGHAI).date().isoformat()
        refused = await desk.post(f"/organiser/activities/{activity}/reschedule", data={
            "day": day, "starts": "20:00", "ends": "21:00", "place": "3号楼",
            "reason": "改到晚上", "_csrf_token": csrf_token(form)})
        assert refused.status_code == 422 and "已有人签到，不能改期" in refused.text
        assert (await desk.get(f"/organiser/activities/{uuid.uuid4()}/edit")).status_code == 404
        # A request is answered by accepting, amending or refusing it; nothing else.
        unknown = await desk.post(f"/organiser/activities/{activity}/requests/delete", data={
            "participation_id": str(uuid.uuid4()), "_csrf_token": csrf_token(form)})
        assert unknown.status_code == 404
    assert [t for t, _ in await events(pool, c, activity)] == ["ActivityScheduled", "CheckedIn"]


async def test_bad_input_on_the_forms_is_refused_with_the_page(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now + timedelta(days=2))
    base = f"/organiser/activities/{activity}"
    day = (clock.now + timedelta(days=3)).astimezone(SHANGHAI).date().isoformat()
    good = {"day": day, "starts": "09:00", "ends": "10:00", "place": "5号楼", "reason": "施工"}
    cases = [
        {"day": "0001-01-01", "starts": "00:00", "ends": "01:00"},
        {"day": "9999-12-31", "starts": "23:00", "ends": "23:59"},
        {"day": "2026-02-30"}, {"day": "明天"}, {"starts": "25:00"}, {"ends": "x" * 5000},
        {"place": "5号楼\x00"}, {"place": "楼" * 201}, {"reason": "施工\x1b[2J"},
        {"reason": "因" * 501}, {"place": "   "},
    ]
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        token = csrf_token(await desk.get(f"{base}/edit"))
        for case in cases:
            refused = await desk.post(f"{base}/reschedule",
                                      data={**good, **case, "_csrf_token": token})
            assert refused.status_code == 422, (case, refused.status_code)
            assert refused.headers["content-type"].startswith("text/html"), case
            assert "\x00" not in refused.text and "\x1b" not in refused.text
        revise = {"title": "楼道清理", "capacity": "20", "reason": "改名"}
        for case in ({"title": "清理\x00"}, {"title": "题" * 201}, {"title": " "},
                     {"capacity": "9" * 40}, {"capacity": "0"}, {"capacity": "-3"},
                     {"reason": "改名\x1b[2J"}, {"reason": "因" * 501}):
            refused = await desk.post(f"{base}/revise",
                                      data={**revise, **case, "_csrf_token": token})
            assert refused.status_code == 422, (case, refused.status_code)
            assert refused.headers["content-type"].startswith("text/html"), case
            assert "\x00" not in refused.text and "\x1b" not in refused.text
        for reason, confirmed in (("停电\x00", "yes"), ("停电\x00", ""), ("因" * 501, "yes")):
            refused = await desk.post(f"{base}/cancel", data={
                "reason": reason, "confirmed": confirmed, "_csrf_token": token})
            assert refused.status_code == 422, reason
            assert refused.headers["content-type"].startswith("text/html")
            assert "\x00" not in refused.text
        asked = await desk.post(f"{base}/close", data={
            "command_id": "x\x00y", "_csrf_token": token})
        assert asked.status_code == 200 and "\x00" not in asked.text
    assert [t for t, _ in await events(pool, c, activity)] == ["ActivityScheduled"]


async def test_the_title_and_capacity_are_revised_with_a_reason(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5),
                              title="楼道清理")
    for number in ("XH-0711", "XH-0712"):
        member = await register(ledger_client, c, number)
        checked_in = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                              headers=c.admin, json={"member_id": str(member)})
        assert checked_in.status_code == 201, checked_in.text
    base = f"/organiser/activities/{activity}"
    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c)
        form = await desk.get(f"{base}/edit")
        assert 'name="title" value="楼道清理"' in form.text
        token = csrf_token(form)
        no_reason = await desk.post(f"{base}/revise", data={
            "title": "楼道清理（3号楼）", "capacity": "2", "reason": "", "_csrf_token": token})
        assert no_reason.status_code == 422 and "请填写此项" in no_reason.text
        assert 'value="楼道清理（3号楼）"' in no_reason.text
        for capacity, shown in (("两个", "请填写数字"), ("1", "已有 2 人签到，人数上限不能少于 2")):
            refused = await desk.post(f"{base}/revise", data={
                "title": "楼道清理", "capacity": capacity, "reason": "场地小",
                "_csrf_token": token})
            assert refused.status_code == 422 and shown in refused.text, capacity
        revised = await desk.post(f"{base}/revise", data={
            "title": " 楼道清理（3号楼） ", "capacity": "2", "reason": "写清楼号，满员为止",
            "_csrf_token": token})
        assert revised.status_code == 303
        roster = await desk.get(revised.headers["location"])
        assert "已修改活动名称和人数上限" in roster.text and "已签到 2 / 容量 2 人" in roster.text
        kind, data = (await events(pool, c, activity))[-1]
        assert (kind, data) == ("ActivityDetailsRevised", {
            "activity_id": str(activity), "title": "楼道清理（3号楼）", "capacity": 2,
            "reason": "写清楼号，满员为止"})
        assert "楼道清理（3号楼）" in statuses(await desk.get("/organiser/activities"))
        # Blank lifts the limit.
        lifted = await desk.post(f"{base}/revise", data={
            "title": "楼道清理（3号楼）", "capacity": "", "reason": "不限人数",
            "_csrf_token": token})
        assert lifted.status_code == 303
        assert (await events(pool, c, activity))[-1][1]["capacity"] is None
        closed = await ledger_client.post(f"/api/v1/activities/{activity}/close",
                                          headers=c.organiser, json={})
        assert closed.status_code == 201
        after = await desk.post(f"{base}/revise", data={
            "title": "再改名", "capacity": "", "reason": "改名", "_csrf_token": token})
        assert after.status_code == 422 and "活动已结束" in after.text
        assert "/revise" not in (await desk.get(f"{base}/edit")).text
