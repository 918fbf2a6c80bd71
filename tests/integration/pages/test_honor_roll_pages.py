"""The organiser's honor-roll pages, with the reports service really running beside the
ledger: last month's draft and summary, publishing (which freezes the roll through the
ledger), the printable poster."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import asyncpg
import httpx
import pytest

from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as create_reports_app
from tests.integration.conftest import Clock, Community, register, schedule, serving
from tests.integration.pages.conftest import browser_like, csrf_token


async def _until(fetch, predicate, seconds: float = 20.0) -> httpx.Response:
    """Fetch until the projection has caught up (it runs beside, woken by NOTIFY)."""
    for _ in range(int(seconds / 0.2)):
        response = await fetch()
        if predicate(response):
            return response
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened; last answer {response.status_code}: "
                         f"{response.text[:300]}")


async def test_organiser_drafts_publishes_and_prints_last_months_roll(
        database_url: str, ledger_client: httpx.AsyncClient, community: Community,
        clock: Clock, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    c = community
    member = await register(ledger_client, c, "XH-HR01")
    today = clock.now
    # Ten in the morning (Shanghai), some day last month: a month that is over.
    clock.now = (today.replace(day=1) - timedelta(days=12)).replace(hour=2, minute=0)
    month = (clock.now + timedelta(hours=8)).strftime("%Y-%m")
    activity = await schedule(ledger_client, c, clock.now, hours=5)
    url = f"/api/v1/activities/{activity}"
    participation = (await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                              json={"member_id": str(member)})).json()
    clock.advance(hours=5)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": participation["created_id"]}]})
    assert confirmed.status_code == 201, confirmed.text
    clock.now = today

    reports_app = create_reports_app(ReportsSettings(
        database_url=database_url, poll_interval=0.1))
    async with serving(reports_app) as reports_url, browser_like(ledger_client) as desk:
        monkeypatch.setenv("REPORTS_URL", reports_url)
        token = csrf_token(await desk.get("/organiser/login"))
        await desk.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass",
            "_csrf_token": token})
        roll_page = f"/organiser/honor-rolls/{c.community}/{month}"

        draft = await _until(lambda: desk.get(roll_page), lambda r: "张三明" in r.text)
        assert "草稿" in draft.text and "XH-HR01" in draft.text
        assert re.search(r"<td>5(\.0)?</td>", draft.text), "5 confirmed hours"
        assert "本月概况" in draft.text  # the community summary from the reports service

        command_id = re.search(r'name="command_id" value="([^"]+)"', draft.text).group(1)
        assert '<dialog id="confirm-publish"' in draft.text
        # Unconfirmed (no JavaScript, or the dialog bypassed): asked again, nothing recorded.
        asked = await desk.post(f"{roll_page}/publish", data={
            "command_id": command_id, "publicity_days": "9",
            "_csrf_token": csrf_token(draft)})
        assert asked.status_code == 200 and "确定发布本月光荣榜吗" in asked.text
        assert 'name="publicity_days" value="9"' in asked.text
        assert await pool.fetchval(
            "SELECT count(*) FROM ledger.events WHERE tenant_id = $1 AND stream_id = $2",
            c.tenant, f"honor-roll-{c.community}-{month}") == 0
        published = await desk.post(f"{roll_page}/publish", data={
            "command_id": command_id, "publicity_days": "7", "confirmed": "yes",
            "_csrf_token": csrf_token(draft)})
        assert published.status_code == 303, published.text
        frozen = await _until(lambda: desk.get(roll_page), lambda r: "已发布" in r.text)
        assert "张三明" in frozen.text and "公示至" in frozen.text

        poster = await desk.get(f"{roll_page}/print")
        # The poster goes on the wall: names masked, as the privacy rules ask.
        assert poster.status_code == 200 and "张*明" in poster.text
        assert "张三明" not in poster.text

        no_csrf = await desk.post(f"{roll_page}/publish", data={"command_id": command_id})
        assert no_csrf.status_code == 403

    stream = await pool.fetch(
        "SELECT type, data->>'published_by' AS who FROM ledger.events "
        "WHERE tenant_id = $1 AND stream_id = $2", c.tenant, f"honor-roll-{c.community}-{month}")
    assert [(r["type"], r["who"]) for r in stream] == [("HonorRollPublished",
                                                        str(c.organiser_id))]
    # The tokens minted for the pages' calls to the reports service are all revoked.
    assert await pool.fetchval(
        "SELECT count(*) FROM ledger.api_tokens WHERE tenant_id = $1 AND label LIKE 'pages:%' "
        "AND revoked_at IS NULL", c.tenant) == 0
