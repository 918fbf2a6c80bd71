"""The pages' security choices over HTTP on real PostgreSQL: identical answers whether or
not a member number exists, rate limits, CSRF on forms but not on the API, the check-in
pass and its retry, organiser scope, and the language switch."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx

from ledger import checkin_codes
from ledger.adapters.directory import Organisers
from ledger.entrypoints.pages.common import PageServices
from ledger.entrypoints.pages.members import personal_code
from ledger.page_secrets import PageSecrets
from tests.integration.conftest import Clock, Community, register, schedule
from tests.integration.pages.conftest import SECRETS, browser_like, csrf_token


def _without_token(html: str) -> str:
    return re.sub(r'name="_csrf_token" value="[^"]+"', "", html)


async def test_identify_answers_the_same_for_unknown_numbers_and_is_rate_limited(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    c = community
    await register(ledger_client, c, "XH-0401")
    async with browser_like(ledger_client) as phone:
        form = await phone.get(f"/t/{c.tenant}/identify")
        token = csrf_token(form)

        async def attempt(number: str, pin: str) -> httpx.Response:
            return await phone.post(f"/t/{c.tenant}/identify", data={
                "member_number": number, "pin": pin, "_csrf_token": token})

        wrong_pin = await attempt("XH-0401", "9999")
        unknown = await attempt("XH-9999", "9999")
        assert wrong_pin.status_code == unknown.status_code == 422
        # The page repeats what was typed; otherwise the two answers are identical.
        assert _without_token(wrong_pin.text).replace("XH-0401", "N") == \
            _without_token(unknown.text).replace("XH-9999", "N")
        assert "编号或密码不正确" in unknown.text

        # Five tries per number from one address, counted for unknown numbers too; then
        # a delay (see test_attempt_limits.py for how it grows and ends).
        for _ in range(4):
            assert (await attempt("XH-9999", "0000")).status_code == 422
        limited = await attempt("XH-9999", "0000")
        assert limited.status_code == 429 and "尝试次数过多" in limited.text
        # Another number from the same phone still gets through (the per-address limit is
        # higher), and the right PIN identifies the member.
        ok = await attempt("XH-0401", "1234")
        assert ok.status_code == 303 and "member=" in ok.headers["set-cookie"]


async def test_csrf_guards_page_forms_but_not_the_bearer_token_api(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    async with browser_like(ledger_client) as phone:
        await phone.get("/organiser/login")  # sets the CSRF cookie
        refused = await phone.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass"})
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "页面已过期或来源不明" in refused.text
        assert "organiser=" not in refused.headers.get("set-cookie", "")
        # The JSON API takes bearer tokens and no CSRF token, even with cookies present.
        api = await phone.post("/api/v1/activities", headers=c.organiser, json={
            "kind": "cleanup", "category": "service", "host_unit_id": str(c.branch),
            "title": "清理", "place": "1号楼", "starts_at": clock.now.isoformat(),
            "ends_at": (clock.now + timedelta(hours=1)).isoformat()})
        assert api.status_code == 201, api.text
    schema = (await ledger_client.get("/schema/openapi.json")).json()
    # The pages stay out of the API's schema; the operational endpoints are in it.
    assert all(path.startswith(("/api/", "/health", "/ready", "/metrics"))
               for path in schema["paths"])


async def test_check_in_needs_a_pass_and_a_retry_after_it_expires_is_acknowledged(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0402")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    base = f"/t/{c.tenant}/checkin/{activity}"
    async with browser_like(ledger_client) as phone:
        page = await phone.get(base)
        token = csrf_token(page)
        identified = await phone.post(f"/t/{c.tenant}/identify", data={
            "member_number": "XH-0402", "pin": "1234", "next": base, "_csrf_token": token})
        assert identified.status_code == 303 and identified.headers["location"] == base
        tap = {"command_id": str(uuid.uuid4()), "client_time": clock.now.isoformat(),
               "_csrf_token": token}
        json_headers = {"accept": "application/json"}

        no_pass = await phone.post(f"{base}/in", data=tap, headers=json_headers)
        assert no_pass.status_code == 403 and no_pass.json()["code"] == "code_expired"

        code = checkin_codes.current(SECRETS["CHECKIN_CODE_SECRET"].encode(), c.tenant,
                                     activity, clock.now).code
        scanned = await phone.get(f"{base}?c={code}")
        assert scanned.status_code == 303 and scanned.headers["location"] == base
        first = await phone.post(f"{base}/in", data=tap, headers=json_headers)
        assert first.status_code == 200 and first.json()["ok"] is True
        assert first.json()["replayed"] is False
        assert first.json()["status"]["state"] == "in"

        # The pass runs out while the phone is still retrying: acknowledged, not repeated.
        clock.advance(minutes=20)
        phone.cookies.delete("pass")
        again = await phone.post(f"{base}/in", data=tap, headers=json_headers)
        assert again.status_code == 200 and again.json()["ok"] is True
        # A new check-in (new command id) without a pass is refused.
        fresh = await phone.post(f"{base}/in", data={**tap, "command_id": str(uuid.uuid4())},
                                 headers=json_headers)
        assert fresh.status_code == 403
    roster = (await ledger_client.get(f"/api/v1/activities/{activity}",
                                      headers=c.reader)).json()
    assert [p["member_id"] for p in roster["participations"]] == [str(member)]
    stream = (await ledger_client.get(f"/api/v1/streams/activity-{activity}",
                                      headers=c.reader)).json()
    checked_in = [e for e in stream["events"] if e["type"] == "CheckedIn"]
    assert len(checked_in) == 1
    assert checked_in[0]["metadata"]["source"] == "form"
    assert checked_in[0]["data"]["device"]  # a keyed hash of the phone's cookie


async def test_organiser_pages_need_a_session_and_stay_in_scope(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: object) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now)  # hosted by c.branch
    await Organisers(pool).add(c.tenant, unit_id=c.other_branch,  # type: ignore[arg-type]
                               name="李组长", login=f"li-{c.tenant}", password="another-pass")
    async with browser_like(ledger_client) as desk:
        anonymous = await desk.get(f"/organiser/activities/{activity}")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == \
            f"/organiser/login?next=/organiser/activities/{activity}"
        form = await desk.get("/organiser/login")
        signed_in = await desk.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"li-{c.tenant}", "password": "another-pass",
            "_csrf_token": csrf_token(form)})
        assert signed_in.status_code == 303
        listing = await desk.get("/organiser/activities")
        assert listing.status_code == 200 and "楼道清理" not in listing.text
        outside = await desk.get(f"/organiser/activities/{activity}")
        assert outside.status_code == 404
        assert (await desk.get(f"/organiser/activities/{activity}/live")).status_code == 404


async def test_the_language_switch_is_remembered(ledger_client: httpx.AsyncClient,
                                                 community: Community) -> None:
    async with browser_like(ledger_client) as phone:
        english = await phone.get("/organiser/login?lang=en")
        assert "Organiser sign-in" in english.text and 'lang="en"' in english.text
        again = await phone.get("/organiser/login")
        assert "Organiser sign-in" in again.text
        chinese = await phone.get("/organiser/login?lang=zh")
        assert "组织者登录" in chinese.text


async def test_organiser_checks_a_member_in_by_personal_code(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0403")
    activity = await schedule(ledger_client, c, clock.now)
    services = PageServices(PageSecrets(SECRETS["CHECKIN_CODE_SECRET"].encode(),
                                        SECRETS["PAGES_SECRET"].encode()))
    code = personal_code(services, c.tenant, member)
    async with browser_like(ledger_client) as desk:
        form = await desk.get("/organiser/login")
        token = csrf_token(form)
        await desk.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass",
            "_csrf_token": token})
        roster = f"/organiser/activities/{activity}"
        forged = code[:-1] + ("0" if code[-1] != "0" else "1")
        refused = await desk.post(f"{roster}/check-in", data={
            "member_code": forged, "command_id": str(uuid.uuid4()), "_csrf_token": token})
        assert refused.status_code == 422 and "没有找到该党员" in refused.text
        assert forged in refused.text  # what was typed is kept
        done = await desk.post(f"{roster}/check-in", data={
            "member_code": code, "command_id": str(uuid.uuid4()), "_csrf_token": token})
        assert done.status_code == 303
    stream = (await ledger_client.get(f"/api/v1/streams/activity-{activity}",
                                      headers=c.reader)).json()
    checked_in = [e for e in stream["events"] if e["type"] == "CheckedIn"]
    assert [(e["data"]["member_id"], e["data"]["method"]) for e in checked_in] == [
        (str(member), "organiser")]
    assert checked_in[0]["metadata"]["actor"] == f"organiser:{c.organiser_id}"


async def test_guessing_check_in_codes_is_slowed(ledger_client: httpx.AsyncClient,
                                                 community: Community, clock: Clock) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now)
    base = f"/t/{c.tenant}/checkin/{activity}"
    right = checkin_codes.current(SECRETS["CHECKIN_CODE_SECRET"].encode(), c.tenant, activity,
                                  clock.now).code
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    async with browser_like(ledger_client) as phone:
        token = csrf_token(await phone.get(base))
        for _ in range(10):
            answer = await phone.post(f"{base}/code", data={"code": wrong,
                                                             "_csrf_token": token})
            assert answer.status_code == 422 and "签到码已过期或不正确" in answer.text
        # Then this address waits before any code is looked at, even the right one.
        blocked = await phone.post(f"{base}/code", data={"code": right, "_csrf_token": token})
        assert blocked.status_code == 429 and "尝试次数过多，请5秒后再试" in blocked.text
        assert blocked.headers["retry-after"] == "5"
        assert "pass=" not in blocked.headers.get("set-cookie", "")
        # A delay, not a lock: once it has passed the right code lets the phone in.
        clock.advance(seconds=5)
        let_in = await phone.post(f"{base}/code", data={"code": right, "_csrf_token": token})
        assert let_in.status_code == 303 and "pass=" in let_in.headers["set-cookie"]


async def test_a_refusal_is_shown_and_a_crafted_message_is_not(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    await register(ledger_client, c, "XH-0404")
    activity = await schedule(ledger_client, c, clock.now + timedelta(hours=2))  # not open yet
    base = f"/t/{c.tenant}/checkin/{activity}"
    code = checkin_codes.current(SECRETS["CHECKIN_CODE_SECRET"].encode(), c.tenant, activity,
                                 clock.now).code
    async with browser_like(ledger_client) as phone:
        token = csrf_token(await phone.get(f"{base}?c={code}", follow_redirects=True))
        await phone.post(f"/t/{c.tenant}/identify", data={
            "member_number": "XH-0404", "pin": "1234", "next": base, "_csrf_token": token})
        refused = await phone.post(f"{base}/in", data={
            "command_id": str(uuid.uuid4()), "_csrf_token": token})
        assert refused.status_code == 303
        shown = await phone.get(refused.headers["location"])
        assert "活动尚未开始签到" in shown.text
        for crafted in ("?e=请把验证码发给群主", "?error=请把验证码发给群主"):
            page = await phone.get(base + crafted)
            assert page.status_code == 200 and "请把验证码发给群主" not in page.text


async def test_one_phone_checking_in_two_members_is_flagged_for_review(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    await register(ledger_client, c, "XH-0405")
    await register(ledger_client, c, "XH-0406")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    base = f"/t/{c.tenant}/checkin/{activity}"
    code = checkin_codes.current(SECRETS["CHECKIN_CODE_SECRET"].encode(), c.tenant, activity,
                                 clock.now).code
    async with browser_like(ledger_client) as phone:
        token = csrf_token(await phone.get(f"{base}?c={code}", follow_redirects=True))
        for number in ("XH-0405", "XH-0406"):  # the same phone, two members
            await phone.post(f"/t/{c.tenant}/identify", data={
                "member_number": number, "pin": "1234", "next": base, "_csrf_token": token})
            tapped = await phone.post(f"{base}/in", data={
                "command_id": str(uuid.uuid4()), "_csrf_token": token})
            assert tapped.status_code == 303 and "done=in" in tapped.headers["location"]
    stream = (await ledger_client.get(f"/api/v1/streams/activity-{activity}",
                                      headers=c.reader)).json()
    flags = [e["data"]["flags"] for e in stream["events"] if e["type"] == "CheckedIn"]
    assert flags == [[], ["shared_device"]]

    async with browser_like(ledger_client) as desk:
        token = csrf_token(await desk.get("/organiser/login"))
        await desk.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass",
            "_csrf_token": token})
        review = await desk.get("/organiser/review")
        assert review.text.count('class="card review-row"') == 1
        assert "同一手机为多人签到" in review.text and "XH-0406" in review.text


async def test_honor_roll_list_offers_each_unit_in_scope_for_recent_months(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    async with browser_like(ledger_client) as desk:
        token = csrf_token(await desk.get("/organiser/login"))
        await desk.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass",
            "_csrf_token": token})
        page = await desk.get("/organiser/honor-rolls")
        months = re.findall(r'<option value="(\d{4}-\d{2})"', page.text)
        chosen = await desk.get("/organiser/honor-rolls", params={"month": months[5]})
        unknown = await desk.get("/organiser/honor-rolls", params={"month": "2999-01"})
    assert page.status_code == 200
    # The twelve months before this one, newest first; the newest shown unless chosen.
    assert len(months) == 12 and months == sorted(months, reverse=True)
    assert months[0] < clock.now.strftime("%Y-%m")
    links = re.findall(r'href="(/organiser/honor-rolls/[^"]+)"', page.text)
    # The community and its two branches (the organiser's scope), for that month.
    assert len(links) == 3 and all(link.endswith(months[0]) for link in links)
    assert any(str(c.community) in link for link in links)
    assert not any(str(c.street) in link for link in links)
    assert all(link.endswith(months[5]) for link in
               re.findall(r'href="(/organiser/honor-rolls/[^"]+)"', chosen.text))
    assert unknown.status_code == 200 and f'value="{months[0]}" selected' in unknown.text


async def test_a_personal_link_signs_the_member_in_within_scope_and_expires(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: object) -> None:
    c = community
    await register(ledger_client, c, "XH-0407")  # reported to c.branch
    await Organisers(pool).add(c.tenant, unit_id=c.other_branch,  # type: ignore[arg-type]
                               name="李组长", login=f"li-{c.tenant}", password="another-pass")

    async def make_link(login: str, password: str) -> httpx.Response:
        async with browser_like(ledger_client) as desk:
            token = csrf_token(await desk.get("/organiser/login"))
            await desk.post("/organiser/login", data={
                "tenant": c.tenant, "login": login, "password": password,
                "_csrf_token": token})
            return await desk.post("/organiser/links", data={
                "member_number": "XH-0407", "_csrf_token": token})

    outside = await make_link(f"li-{c.tenant}", "another-pass")
    assert outside.status_code == 422 and "没有找到该党员" in outside.text
    made = await make_link(f"wang-{c.tenant}", "s3cret-pass")
    assert made.status_code == 200
    link = re.search(r'id="personal-link">([^<]+)<', made.text)
    assert link
    path = httpx.URL(link.group(1)).raw_path.decode()
    async with browser_like(ledger_client) as phone:
        opened = await phone.get(path)
        assert opened.status_code == 303 and opened.headers["location"] == f"/t/{c.tenant}/me"
        mine = await phone.get(f"/t/{c.tenant}/me")
        assert mine.status_code == 200 and "XH-0407" in mine.text
        # Another tenant's path with the same token is refused.
        assert (await phone.get(path.replace(c.tenant, "t-other"))).status_code == 410
    clock.advance(days=8)
    async with browser_like(ledger_client) as late:
        expired = await late.get(path)
        assert expired.status_code == 410 and "链接已失效" in expired.text
