"""The committees' pages in chromium: at desktop width the unit tree with its roll-ups, the
honor roll and the activity report with their CSV/XLSX buttons (the downloaded files hold
the columns on screen), the employer digest with its picker; at phone width the public
masked roll and an unpublished month; and the wall poster printed to PDF on one A4 page."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, BrowserContext, Page, expect

from ledger.adapters.tokens import TokenStore
from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as create_reports_app
from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.e2e.test_organiser_pages import sign_in
from tests.integration.conftest import Clock, Community, register, schedule, serving
from tests.integration.reports.conftest import History, history, shanghai  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
async def desktop(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A committee's office computer."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        locale="zh-CN", timezone_id="Asia/Shanghai",
                                        accept_downloads=True)
    violations = await watch_csp(context)
    yield context
    await close_checked(context, violations)


@pytest.fixture
async def reports_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    app = create_reports_app(ReportsSettings(database_url=database_url, poll_interval=0.1))
    async with serving(app) as url:
        monkeypatch.setenv("REPORTS_URL", url)
        monkeypatch.setenv("REPORTS_PUBLIC_URL", url)
        yield url


async def _last_month_served(ledger_client: httpx.AsyncClient, c: Community,
                             clock: Clock) -> str:
    """Two members of the branch served at a cleanup last month (5 and 4 hours)."""
    members = [await register(ledger_client, c, number) for number in ("XH-CM01", "XH-CM02")]
    today = clock.now
    clock.now = (today.replace(day=1) - timedelta(days=12)).replace(hour=1, minute=0)
    month = (clock.now + timedelta(hours=8)).strftime("%Y-%m")
    activity = await schedule(ledger_client, c, clock.now, hours=5)
    url = f"/api/v1/activities/{activity}"
    ids = []
    for member in members:
        answer = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                          json={"member_id": str(member)})
        ids.append(answer.json()["created_id"])
    clock.advance(hours=4)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(members[1])})
    clock.advance(hours=1)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(members[0])})
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": i} for i in ids]})
    assert confirmed.status_code == 201, confirmed.text
    clock.now = today
    return month


async def _screen_table(page: Page, selector: str) -> list[list[str]]:
    return await page.eval_on_selector(selector, """table => [...table.rows].map(
        row => [...row.cells].map(cell => cell.textContent.trim()))""")


def _values(rows) -> list[list[object]]:
    """As values: the sheet keeps 5.0 as the number 5 where the page shows "5.0"."""
    def value(cell: object) -> object:
        try:
            return float(cell)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return cell
    return [[value(cell) for cell in row] for row in rows]


async def _download(page: Page, name: str) -> bytes:
    async with page.expect_download() as info:
        await page.get_by_role("link", name=name).click()
    download = await info.value
    return (await download.path()).read_bytes()


async def test_committee_exports_the_tables_on_screen_and_reads_the_digest(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        desktop: BrowserContext, reports_url: str) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    month = await _last_month_served(ledger_client, c, clock)
    page = await desktop.new_page()
    await sign_in(page, base, c)

    # The tree: the community with its branches under it, and its month's totals.
    await page.get_by_role("link", name="光荣榜").first.click()
    await page.get_by_label("月份").select_option(month)
    await page.get_by_role("button", name="查看").click()
    community = page.locator("li.unit-community")
    for _ in range(50):  # the reports project beside the ledger
        if "服务 9 小时" in (await community.locator(".totals").all_inner_texts() or [""])[0]:
            break
        await page.wait_for_timeout(200)
        await page.reload()
    await expect(community.locator("> .totals")).to_have_text(
        "开展活动 1 次 · 参与 2 人、2 人次 · 服务 9 小时")
    await expect(community.locator("li.unit-branch")).to_have_count(2)
    await screenshot(page, "60-committee-unit-tree")

    # The community's honor roll: the table, then the same table in both files.
    await community.get_by_role("link", name="光荣榜").first.click()
    await expect(page.get_by_text("标准规则 第1版")).to_be_visible()
    screen = await _screen_table(page, "table.roll")
    assert screen[0] == ["名次", "姓名", "成员编号", "服务时长（小时）", "参加活动（次）"]
    assert [row[2] for row in screen[1:]] == ["XH-CM01", "XH-CM02"]
    exported = list(csv.reader(io.StringIO(
        (await _download(page, "导出 CSV")).decode("utf-8-sig"))))
    assert exported == screen
    sheet = load_workbook(io.BytesIO(await _download(page, "导出 Excel"))).active
    assert sheet["A1"].value.startswith("兴华南里社区 ") and sheet.freeze_panes == "A3"
    assert _values(sheet.iter_rows(min_row=2, values_only=True)) == _values(screen)
    await screenshot(page, "61-committee-honor-roll")

    # The activity report of the month, and its files.
    await page.get_by_role("link", name="活动统计").click()
    screen = await _screen_table(page, "table.activity-report")
    assert screen[-1] == ["合计", "1", "2", "2", "9.0", "0", "0"]
    exported = list(csv.reader(io.StringIO(
        (await _download(page, "导出 CSV")).decode("utf-8-sig"))))
    assert exported == screen
    sheet = load_workbook(io.BytesIO(await _download(page, "导出 Excel"))).active
    assert _values(sheet.iter_rows(min_row=2, values_only=True)) == _values(screen)
    await screenshot(page, "62-committee-activity-report")

    # The employer digest: pick the quarter the month is in, then the employer.
    await page.get_by_role("link", name="双报到反馈").click()
    quarter = f"{month[:4]}Q{(int(month[5:]) - 1) // 3 + 1}"
    await page.get_by_label("季度").select_option(quarter)
    await page.get_by_role("button", name="查看").click()
    await page.get_by_label("工作单位").select_option("区税务局")
    await page.get_by_role("button", name="查看").click()
    await expect(page.get_by_role("heading", name=f"区税务局 · {quarter}")).to_be_visible()
    screen = await _screen_table(page, "table.digest")
    assert screen[0][:3] == ["成员编号", "姓名", "报到状态"]
    assert sorted(row[0] for row in screen[1:]) == ["XH-CM01", "XH-CM02"]
    sheet = load_workbook(io.BytesIO(await _download(page, "导出 Excel"))).active
    assert _values(sheet.iter_rows(min_row=2, values_only=True)) == _values(screen)
    await screenshot(page, "63-committee-employer-digest")


async def test_the_public_roll_fits_a_phone_and_an_unpublished_month_says_so(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        phone: BrowserContext, reports_url: str) -> None:
    c = community
    month = await _last_month_served(ledger_client, c, clock)
    for _ in range(100):
        published = await ledger_client.post("/api/v1/honor-rolls", headers=c.organiser,
                                             json={"unit_id": str(c.community), "month": month})
        if published.status_code != 422:  # the reports have not projected the month yet
            break
        await asyncio.sleep(0.2)
    assert published.status_code == 201, published.text
    page = await phone.new_page()
    public = f"{reports_url}/public/{c.tenant}/honor-rolls/{c.community}/{month}/page"
    answer = await page.goto(public)
    assert answer.status == 200
    await expect(page.get_by_role("heading", name="光荣榜")).to_be_visible()
    await expect(page.get_by_text("张*明").first).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the public roll is {width} px wide on a 360 px phone"
    await screenshot(page, "64-public-roll-phone")

    other = f"{reports_url}/public/{c.tenant}/honor-rolls/{c.other_branch}/{month}/page"
    answer = await page.goto(other)
    assert answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    await expect(page.get_by_text("该月光荣榜尚未发布")).to_be_visible()
    await screenshot(page, "65-public-roll-unpublished-phone")
    # A client that asks for JSON gets the problem document.
    async with httpx.AsyncClient() as client:
        problem = await client.get(other, headers={"Accept": "application/json"})
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")


def pdf_pages(pdf: bytes) -> int:
    """Page objects in the PDF (`/Type /Page`, not the `/Pages` tree nodes)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


async def test_the_wall_poster_prints_on_one_a4_page(
        history: History, pool: asyncpg.Pool, database_url: str,  # noqa: F811
        browser: Browser) -> None:
    district = await history.unit("district", None)
    community = await history.unit("community", district, "兴华南里社区")
    # Twelve candidates with long names: the standard rules' ten ranks (and a tie) fill
    # the poster as full as a real month does.
    for index in range(12):
        person = await history.member(community, name=f"欧阳{'明' * (index % 3 + 1)}{index}")
        await history.served(community, person, shanghai(2025, 6, 2 + index % 20),
                             600 - 20 * (index // 2))
    await history.project()
    token = (await TokenStore(pool).mint(history.tenant_id, label="auditor", role="auditor",
                                         can_write=False)).token
    app = create_reports_app(ReportsSettings(database_url=database_url, run_projector=False))
    async with serving(app) as base:
        context = await browser.new_context(
            extra_http_headers={"Authorization": f"Bearer {token}"})
        violations = await watch_csp(context)
        try:
            page = await context.new_page()
            await page.goto(f"{base}/api/v1/units/{community}/honor-rolls/2025-06/print")
            await expect(page.get_by_text("本月开展活动 12 次")).to_be_visible()
            await expect(page.get_by_text("（盖章）")).to_be_visible()
            await expect(page.locator(".issuer .org")).to_have_text("兴华南里社区")
            await expect(page.locator("tbody tr")).to_have_count(10)
            await screenshot(page, "66-honor-roll-poster")
            pdf = await page.pdf(format="A4", print_background=True)
            assert pdf.startswith(b"%PDF")
            assert pdf_pages(pdf) == 1, f"the poster printed on {pdf_pages(pdf)} pages"
        finally:
            await close_checked(context, violations)
