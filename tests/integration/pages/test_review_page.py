"""The organiser's review list over HTTP: members' correction requests come from the
ledger's catalogue of them, whatever the activity's age, within the organiser's scope."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pytest

from ledger.adapters.directory import Organisers
from ledger.entrypoints.pages import organisers
from tests.integration.conftest import Clock, Community, register, schedule
from tests.integration.pages.conftest import browser_like, csrf_token


async def review_as(client: httpx.AsyncClient, tenant: str, login: str, password: str,
                    lang: str = "zh") -> str:
    async with browser_like(client) as desk:
        form = await desk.get("/organiser/login")
        signed_in = await desk.post("/organiser/login", data={
            "tenant": tenant, "login": login, "password": password,
            "_csrf_token": csrf_token(form)})
        assert signed_in.status_code == 303
        page = await desk.get("/organiser/review", params={"lang": lang})
        assert page.status_code == 200
        return page.text


async def test_an_old_activitys_request_is_listed_with_reason_and_hours(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    c = community
    # Flags are looked for in the newest activity only; requests everywhere.
    monkeypatch.setattr(organisers, "REVIEWED_ACTIVITIES", 1)
    member = await register(ledger_client, c, "XH-0601")
    today = clock.now
    clock.now = today - timedelta(days=200)
    old = await schedule(ledger_client, c, clock.now - timedelta(minutes=5), hours=3)
    url = f"/api/v1/activities/{old}"
    record = (await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                       json={"member_id": str(member)})).json()["created_id"]
    clock.advance(minutes=60)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    for reason, minutes in (("忘记签到，其实早来了半小时", 90), ("补充：有签到表为证", None)):
        asked = await ledger_client.post(f"{url}/correction-requests", headers=c.admin, json={
            "participation_id": record, "member_id": str(member), "reason": reason,
            "requested_minutes": minutes})
        assert asked.status_code == 201, asked.text
    clock.now = today
    await schedule(ledger_client, c, clock.now + timedelta(days=1), title="新的活动")

    page = await review_as(ledger_client, c.tenant, f"wang-{c.tenant}", "s3cret-pass")
    assert page.count('class="card review-row"') == 1
    assert "XH-0601" in page and "本人申请更正" in page
    assert "忘记签到，其实早来了半小时" in page and "申请 1.5 小时" in page
    assert "补充：有签到表为证" in page
    assert page.count("申请理由") == 2 and page.count("小时</strong>") == 1
    english = await review_as(ledger_client, c.tenant, f"wang-{c.tenant}", "s3cret-pass",
                              lang="en")
    assert "asks for 1.5 h" in english

    # Another branch's organiser sees none of it.
    await Organisers(pool).add(c.tenant, unit_id=c.other_branch, name="李组长",
                               login=f"li-{c.tenant}", password="another-pass")
    elsewhere = await review_as(ledger_client, c.tenant, f"li-{c.tenant}", "another-pass")
    assert "XH-0601" not in elsewhere and "没有待复核的记录" in elsewhere

    # Confirming answers both requests: the record leaves the list.
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": record}]})
    assert confirmed.status_code == 201, confirmed.text
    page = await review_as(ledger_client, c.tenant, f"wang-{c.tenant}", "s3cret-pass")
    assert "没有待复核的记录" in page
