"""The landing page at `/` of each service: a page (not a JSON 404), Chinese first, whose
every link answers; a phone that remembers a member links to that member's records."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar.testing import AsyncTestClient

from reports.config import Settings
from reports.entrypoints.app import create_app
from tests.integration.conftest import Community, register
from tests.integration.pages.conftest import browser_like, csrf_token

LOCAL_LINK = re.compile(r'href="(/[^"]*)"')


async def assert_links_answer(client: httpx.AsyncClient | AsyncTestClient,  # type: ignore[type-arg]
                              page: httpx.Response) -> list[str]:
    links = sorted(set(LOCAL_LINK.findall(page.text)))
    for link in links:
        answer = await client.get(link)
        # An organiser's page without a session sends to the sign-in page: it exists.
        assert answer.status_code in (200, 303), (link, answer.status_code)
    return links


async def test_the_ledger_landing_page_says_where_everyone_goes(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    async with browser_like(ledger_client) as phone:
        page = await phone.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in page.text
        for words in ("党员、志愿者", "扫描海报", "个人签到链接", "活动组织者", "社区、街道委员会",
                      "光荣榜", "接口文档"):
            assert words in page.text, words
        links = await assert_links_answer(phone, page)
        assert {"/organiser/login", "/organiser/activities", "/organiser/review",
                "/organiser/honor-rolls", "/schema"} <= set(links)
        assert not any(link.endswith("/me") for link in links)  # nobody remembered yet
        english = await phone.get("/", params={"lang": "en"})
        assert "Members and volunteers" in english.text and '<html lang="en">' in english.text

        await register(ledger_client, community, "XH-0901")
        form = await phone.get(f"/t/{community.tenant}/identify")
        identified = await phone.post(f"/t/{community.tenant}/identify", data={
            "member_number": "XH-0901", "pin": "1234", "_csrf_token": csrf_token(form)})
        assert identified.status_code == 303
        remembered = await phone.get("/", params={"lang": "zh"})
        assert f'href="/t/{community.tenant}/me"' in remembered.text
        assert (await phone.get(f"/t/{community.tenant}/me")).status_code == 200


@pytest.mark.usefixtures("pool")
async def test_the_reports_landing_page_links_its_documentation(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        page = await client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.text.index("社区志愿服务报表") < page.text.index("Community volunteer reports")
        links = await assert_links_answer(client, page)
        assert {"/schema", "/schema/openapi.json", "/health", "/static/landing.css"} <= set(links)
