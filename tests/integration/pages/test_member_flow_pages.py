"""The member's check-in and records pages over HTTP on real PostgreSQL: the poster's
token and its window, the typed code that checks in with one tap, the states before
opening and after 签退, the service worker, and the records page's months, years, chart
and corrections."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx

from contract.calendar import shanghai
from ledger import checkin_codes
from tests.integration.conftest import Clock, Community, register, schedule
from tests.integration.pages.conftest import SECRETS, browser_like, csrf_token

SECRET = SECRETS["CHECKIN_CODE_SECRET"].encode()


async def identified(phone: httpx.AsyncClient, c: Community, number: str, base: str) -> str:
    """Identifies `number` on this phone; the CSRF token to post with."""
    token = csrf_token(await phone.get(f"/t/{c.tenant}/identify"))
    answer = await phone.post(f"/t/{c.tenant}/identify", data={
        "member_number": number, "pin": "1234", "next": base, "_csrf_token": token})
    assert answer.status_code == 303
    return token


async def check_in_flags(client: httpx.AsyncClient, c: Community,
                         activity: uuid.UUID) -> list[list[str]]:
    stream = (await client.get(f"/api/v1/streams/activity-{activity}",
                               headers=c.reader)).json()
    return [e["data"]["flags"] for e in stream["events"] if e["type"] == "CheckedIn"]


def poster(c: Community, activity: uuid.UUID, starts_at: object) -> str:
    day = shanghai(starts_at).date()  # type: ignore[arg-type]
    return checkin_codes.poster_token(SECRET, c.tenant, activity, day)


async def test_the_poster_alone_checks_in_during_the_window_flagged_poster_only(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    await register(ledger_client, c, "XH-0701")
    starts = clock.now + timedelta(hours=1)
    activity = await schedule(ledger_client, c, starts)
    base = f"/t/{c.tenant}/checkin/{activity}"
    token = poster(c, activity, starts)
    async with browser_like(ledger_client) as phone:
        csrf = await identified(phone, c, "XH-0701", base)
        # An hour early (the grace is 30 minutes): no pass, no 签到, the opening time.
        early = await phone.get(f"{base}?p={token}")
        assert early.status_code == 200 and "pass=" not in early.headers.get("set-cookie", "")
        opens = shanghai(starts - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
        assert f"签到将于 {opens}（北京时间）开放" in early.text
        assert 'id="check-in"' not in early.text and 'name="code"' not in early.text

        clock.advance(minutes=40)
        forged = await phone.get(f"{base}?p={token[:-2]}00")
        assert "海报二维码无效" in forged.text and "pass=" not in forged.headers.get(
            "set-cookie", "")
        for junk in ("%E7%AD%BE%E5%88%B0", "x" * 500, ""):
            odd = await phone.get(f"{base}?p={junk}")
            assert odd.status_code == 200 and "海报二维码无效" in odd.text
        scanned = await phone.get(f"{base}?p={token}")
        assert scanned.status_code == 303 and scanned.headers["location"] == base
        page = await phone.get(base)
        assert 'id="check-in"' in page.text
        tapped = await phone.post(f"{base}/in", data={
            "command_id": str(uuid.uuid4()), "client_time": "", "_csrf_token": csrf})
        assert tapped.status_code == 303
    assert await check_in_flags(ledger_client, c, activity) == [["early", "poster_only"]]

    # After the activity ends a genuine poster earns nothing either.
    clock.advance(hours=3)
    async with browser_like(ledger_client) as late:
        await identified(late, c, "XH-0701", base)
        answer = await late.get(f"{base}?p={token}")
        assert answer.status_code == 200 and "pass=" not in answer.headers.get("set-cookie", "")


async def test_a_typed_live_code_checks_in_with_one_tap_and_its_retry_lands_once(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    await register(ledger_client, c, "XH-0702")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    base = f"/t/{c.tenant}/checkin/{activity}"
    async with browser_like(ledger_client) as phone:
        csrf = await identified(phone, c, "XH-0702", base)
        page = await phone.get(base)
        assert 'action="' + base + '/code"' in page.text and "凭签到码签到" in page.text
        wrong = await phone.post(f"{base}/code", data={
            "code": "000000", "command_id": str(uuid.uuid4()), "_csrf_token": csrf})
        assert wrong.status_code == 422 and "签到码已过期或不正确" in wrong.text
        code = checkin_codes.current(SECRET, c.tenant, activity, clock.now).code
        tap = {"code": code, "command_id": str(uuid.uuid4()), "client_time": "",
               "_csrf_token": csrf}
        first = await phone.post(f"{base}/code", data=tap,
                                 headers={"accept": "application/json"})
        assert first.status_code == 200 and first.json()["ok"] is True
        assert first.json()["status"]["state"] == "in"
        # The answer was lost; the phone retries once the code has rotated away.
        clock.advance(minutes=10)
        again = await phone.post(f"{base}/code", data=tap,
                                 headers={"accept": "application/json"})
        assert again.status_code == 200 and again.json()["replayed"] is True
    assert await check_in_flags(ledger_client, c, activity) == [[]]


async def test_after_check_out_the_stay_shows_in_minutes_without_a_big_check_in_button(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    await register(ledger_client, c, "XH-0703")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    base = f"/t/{c.tenant}/checkin/{activity}"
    code = checkin_codes.current(SECRET, c.tenant, activity, clock.now).code
    async with browser_like(ledger_client) as phone:
        csrf = await identified(phone, c, "XH-0703", base)
        await phone.get(f"{base}?c={code}")
        await phone.post(f"{base}/in", data={"command_id": str(uuid.uuid4()),
                                             "_csrf_token": csrf})
        clock.advance(minutes=25)
        inside = await phone.get(base)
        assert "已在场 25 分钟" in inside.text
        await phone.post(f"{base}/out", data={"command_id": str(uuid.uuid4()),
                                              "_csrf_token": csrf})
        done = (await phone.get(base)).text
        assert "已签退" in done and "在场时长 25 分钟" in done and "0 小时" not in done
        assert "本次服务已完成" in done
        # Coming back is possible, but tucked away: no big 签到 button.
        assert 'class="primary big"' not in done and "再次签到" in done
        clock.advance(minutes=70)
        await phone.get(f"{base}?c="
                        f"{checkin_codes.current(SECRET, c.tenant, activity, clock.now).code}")
        await phone.post(f"{base}/in", data={"command_id": str(uuid.uuid4()),
                                             "_csrf_token": csrf})
        assert "已在场 0 分钟" in (await phone.get(base)).text  # just back in
        clock.advance(minutes=65)
        assert "已在场 1 小时 5 分钟" in (await phone.get(base)).text


async def test_the_service_worker_is_served_under_the_tenant_and_forget_clears_it(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    c = community
    worker = await ledger_client.get(f"/t/{c.tenant}/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "caches.open" in worker.text and worker.headers["cache-control"] == "no-cache"
    offline = await ledger_client.get("/static/offline.html")
    assert offline.status_code == 200 and "当前没有网络" in offline.text
    async with browser_like(ledger_client) as phone:
        token = csrf_token(await phone.get(f"/t/{c.tenant}/identify"))
        forgot = await phone.post(f"/t/{c.tenant}/forget", data={"_csrf_token": token})
        assert forgot.status_code == 303
        assert forgot.headers["clear-site-data"] == '"cache", "storage"'


async def test_my_records_show_empty_months_years_a_chart_and_the_correction(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0704")
    # Two months ago (the clock then moves on to today).
    start = clock.now - timedelta(days=62)
    clock.now = start
    activity = await schedule(ledger_client, c, start)
    url = f"/api/v1/activities/{activity}"
    checked_in = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                          json={"member_id": str(member), "method": "qr"})
    participation = checked_in.json()["created_id"]
    clock.advance(minutes=90)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": participation}]})
    assert confirmed.status_code == 201, confirmed.text
    corrected = await ledger_client.post(f"{url}/corrections", headers=c.organiser, json={
        "participation_id": participation, "minutes": 60, "reason": "中途离开半小时"})
    assert corrected.status_code == 201, corrected.text
    clock.advance(days=62)

    async with browser_like(ledger_client) as phone:
        await identified(phone, c, "XH-0704", f"/t/{c.tenant}/me")
        page = (await phone.get(f"/t/{c.tenant}/me")).text
    months = re.findall(r"<tr(?: class=\"empty\")?><td>(\d{4}-\d{2})</td><td>([\d.]+)</td>"
                        r"<td>(\d+)</td>", page)
    first, now = shanghai(start).strftime("%Y-%m"), shanghai(clock.now).strftime("%Y-%m")
    assert months[0][0] == now and months[-1] == (first, "1", "1")
    assert len(months) >= 3 and all(m[1:] == ("0", "0") for m in months[:-1])
    assert '<table class="compact" id="years">' in page
    assert '<svg class="chart"' in page and "<script" not in page.split("<svg")[1].split(
        "</svg>")[0]
    history = page.split('<ol class="history"')[1].split("</ol>")[0]
    assert "组织者更正" in history and "1 小时（原 1.5 小时）" in history
    assert "理由：中途离开半小时" in history
    assert "再服务 99 小时可达 ★" in page
    assert page.count("100 小时") + page.count("100小时") == 1  # said once, in 尚未达到一星
