"""The organiser's activity list over HTTP: every activity of the street, page by page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from ledger.adapters.directory import Organisers
from tests.integration.conftest import Community, schedule
from tests.integration.pages.conftest import browser_like, csrf_token

START = datetime(2024, 1, 6, 1, 0, tzinfo=UTC)


async def sign_in(desk: httpx.AsyncClient, tenant: str, login: str) -> None:
    form = await desk.get("/organiser/login")
    signed_in = await desk.post("/organiser/login", data={
        "tenant": tenant, "login": login, "password": "street-pass",
        "_csrf_token": csrf_token(form)})
    assert signed_in.status_code == 303


def titles(page: httpx.Response) -> list[str]:
    return re.findall(r"<strong>([^<]+)</strong>", page.text)


def older_link(page: httpx.Response) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">下一页', page.text)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_a_street_organiser_pages_through_every_activity_and_searches(
        ledger_client: httpx.AsyncClient, community: Community, pool: asyncpg.Pool) -> None:
    c = community
    # The oldest is the one to find: far past the first page.
    await schedule(ledger_client, c, START, title="垃圾分类宣传")
    for week in range(1, 25):
        await schedule(ledger_client, c, START + timedelta(weeks=week), title=f"楼道清理{week}")
    organisers = Organisers(pool)
    await organisers.add(c.tenant, unit_id=c.street, name="街道刘主任",
                         login=f"liu-{c.tenant}", password="street-pass")
    await organisers.add(c.tenant, unit_id=c.other_branch, name="二支部",
                         login=f"zhao-{c.tenant}", password="street-pass")

    async with browser_like(ledger_client) as desk:
        await sign_in(desk, c.tenant, f"liu-{c.tenant}")
        first = await desk.get("/organiser/activities")
        assert first.status_code == 200
        assert titles(first)[:2] == ["楼道清理24", "楼道清理23"] and len(titles(first)) == 20
        assert "垃圾分类宣传" not in first.text
        seen = titles(first)
        link = older_link(first)
        while link is not None:
            page = await desk.get(link)
            assert page.status_code == 200 and "回到最新" in page.text
            seen += titles(page)
            link = older_link(page)
        assert len(seen) == len(set(seen)) == 25 and seen[-1] == "垃圾分类宣传"

        found = await desk.get("/organiser/activities", params={"q": "垃圾分类"})
        assert titles(found) == ["垃圾分类宣传"] and older_link(found) is None
        none_closed = await desk.get("/organiser/activities", params={"status": "closed"})
        assert titles(none_closed) == [] and "没有符合条件的活动" in none_closed.text
        mangled = await desk.get("/organiser/activities", params={"after": "%%%"})
        assert mangled.status_code == 200 and titles(mangled)[0] == "楼道清理24"

    async with browser_like(ledger_client) as other_desk:
        await sign_in(other_desk, c.tenant, f"zhao-{c.tenant}")
        theirs = await other_desk.get("/organiser/activities")
        assert titles(theirs) == [] and "还没有活动" in theirs.text
