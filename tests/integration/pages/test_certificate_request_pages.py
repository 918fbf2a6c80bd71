"""A member asks for a certificate on their page and the organiser answers on theirs, over
HTTP on real PostgreSQL: one open request at a time, issued as asked (the request's months)
or refused with a reason the member reads, and the list read model agreeing."""

from __future__ import annotations

import asyncpg
import httpx

from contract.calendar import month_of
from tests.integration.conftest import Clock, Community, register
from tests.integration.pages.conftest import browser_like, csrf_token
from tests.integration.pages.test_activity_manage_pages import sign_in
from tests.integration.pages.test_member_flow_pages import identified
from tests.integration.test_certificates import served


async def requests(pool: asyncpg.Pool, c: Community) -> list[tuple[str, str | None, str | None]]:
    rows = await pool.fetch(
        "SELECT status, number, reason FROM ledger.certificate_requests WHERE tenant_id = $1 "
        "ORDER BY requested_at", c.tenant)
    return [tuple(row) for row in rows]


async def test_a_member_asks_and_the_organiser_issues_or_refuses(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    await register(ledger_client, c, "XH-0901")
    member = await register(ledger_client, c, "XH-0902")
    await served(ledger_client, c, clock, member, 90, title="楼道清理")
    month = month_of(clock.now)
    mine = f"/t/{c.tenant}/me/certificates"
    async with browser_like(ledger_client) as phone, browser_like(ledger_client) as desk:
        token = await identified(phone, c, "XH-0902", mine)
        page = await phone.get(mine)
        assert page.status_code == 200 and f'value="{month}"' in page.text
        command_id = page.text.split('name="command_id" value="')[1].split('"')[0]
        asked = await phone.post(f"{mine}/requests", data={
            "command_id": command_id, "first_month": month, "last_month": month,
            "_csrf_token": token})
        assert asked.status_code == 303
        shown = await phone.get(asked.headers["location"])
        assert "申请已提交" in shown.text and "待审核" in shown.text
        assert "/me/certificates/requests" not in shown.text  # waiting: no second form
        # The same form sent again is the same request; another one waits its turn.
        again = await phone.post(f"{mine}/requests", data={
            "command_id": command_id, "first_month": month, "last_month": month,
            "_csrf_token": token})
        assert again.status_code == 303
        other = await phone.post(f"{mine}/requests", data={
            "first_month": month, "last_month": month, "_csrf_token": token})
        assert other.status_code == 409 and "待处理的证明申请" in other.text
        for bad in ({"first_month": "2026-13"}, {"last_month": "9999-01"},
                    {"first_month": "2026-0\x001"}):
            refused = await phone.post(f"{mine}/requests", data={
                "first_month": month, "last_month": month, **bad, "_csrf_token": token})
            assert refused.status_code == 422 and "\x00" not in refused.text, bad
        assert await requests(pool, c) == [("open", None, None)]

        await sign_in(desk, c)
        listed = await desk.get("/organiser/certificates")
        assert "待处理的证明申请" in listed.text and "XH-0902" in listed.text
        action = listed.text.split('action="/organiser/certificates/requests/')[1]
        request_id = action.split('"')[0]
        form = {"member_id": str(member), "_csrf_token": csrf_token(listed)}
        answer = f"/organiser/certificates/requests/{request_id}"
        no_reason = await desk.post(answer, data={**form, "answer": "refuse", "reason": " "})
        assert no_reason.status_code == 422 and "不予出具须填写原因" in no_reason.text
        issued = await desk.post(answer, data={**form, "answer": "issue", "reason": "",
                                               "contact": "社区服务站 0591-1234567"})
        assert issued.status_code == 303
        printed = await desk.get(issued.headers["location"])
        assert "1.5" in printed.text and "社区服务站 0591-1234567" in printed.text
        twice = await desk.post(answer, data={**form, "answer": "refuse", "reason": "重复"})
        assert twice.status_code == 409 and "该证明已出具" in twice.text
        [(status, number, _)] = await requests(pool, c)
        assert status == "issued" and number and number in issued.headers["location"]
        assert "没有待处理的申请" in (await desk.get("/organiser/certificates")).text

        answered = await phone.get(mine)
        assert "已出具" in answered.text and f"{mine}/{number}" in answered.text
        assert (await phone.get(f"{mine}/{number}")).status_code == 200

        # Asked again (answered, so allowed), refused this time with a reason.
        asked = await phone.post(f"{mine}/requests", data={
            "first_month": f"{month[:4]}-01", "last_month": month, "_csrf_token": token})
        assert asked.status_code == 303
        listed = await desk.get("/organiser/certificates")
        request_id = listed.text.split(
            'action="/organiser/certificates/requests/')[1].split('"')[0]
        refused = await desk.post(f"/organiser/certificates/requests/{request_id}", data={
            **form, "answer": "refuse", "reason": "请按实际服务月份申请"})
        assert refused.status_code == 303 and "已答复" in (
            await desk.get(refused.headers["location"])).text
        answered = await phone.get(mine)
        assert "未予出具" in answered.text and "请按实际服务月份申请" in answered.text
    assert [s for s, _, _ in await requests(pool, c)] == ["issued", "refused"]
