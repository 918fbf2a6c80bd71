"""The committees' pages with the reports service running beside the ledger: the exports
hold exactly the columns and cells the pages show (CSV and XLSX, with the XLSX's title row,
widths and frozen header), the unit tree with its roll-up, the employer digest with its
picker, and an empty month that cannot be published."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from html import unescape

import httpx
import pytest
from openpyxl import load_workbook

from contract.report_columns import EMPLOYER_DIGEST, HONOR_ROLL, UNIT_ACTIVITY
from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as create_reports_app
from tests.integration.conftest import Clock, Community, register, schedule, serving
from tests.integration.pages.conftest import browser_like, csrf_token
from tests.integration.pages.test_honor_roll_pages import _until


def _table(html: str, css_class: str) -> tuple[list[str], list[list[str]]]:
    """The headings and the rows (body and footer) of the page's table of that class."""
    table = re.search(rf'<table class="compact {css_class}">(.*?)</table>', html, re.S).group(1)
    cells = lambda row: [unescape(re.sub(r"<[^>]+>", "", c)).strip()  # noqa: E731
                         for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    rows = [cells(row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return rows[0], rows[1:]


def _values(row) -> list[object]:
    """Cells compared as values: the sheet keeps 5.0 as the number 5, the page shows "5.0"."""
    def value(cell: object) -> object:
        try:
            return float(cell)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return cell
    return [value(cell) for cell in row]


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response: httpx.Response):
    assert response.status_code == 200, response.text
    return load_workbook(io.BytesIO(response.content)).active


@asynccontextmanager
async def _desk(database_url: str, ledger_client: httpx.AsyncClient, c: Community,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    reports_app = create_reports_app(ReportsSettings(database_url=database_url,
                                                     poll_interval=0.1))
    async with serving(reports_app) as reports_url, browser_like(ledger_client) as desk:
        monkeypatch.setenv("REPORTS_URL", reports_url)
        token = csrf_token(await desk.get("/organiser/login"))
        await desk.post("/organiser/login", data={
            "tenant": c.tenant, "login": f"wang-{c.tenant}", "password": "s3cret-pass",
            "_csrf_token": token})
        yield desk


async def _served_last_month(ledger_client: httpx.AsyncClient, c: Community, clock: Clock,
                             number: str, hours: int) -> str:
    """A member of the branch served `hours` at a cleanup some day last month: that month."""
    member = await register(ledger_client, c, number)
    today = clock.now
    clock.now = (today.replace(day=1) - timedelta(days=12)).replace(hour=2, minute=0)
    month = (clock.now + timedelta(hours=8)).strftime("%Y-%m")
    activity = await schedule(ledger_client, c, clock.now, hours=hours)
    url = f"/api/v1/activities/{activity}"
    participation = (await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                              json={"member_id": str(member)})).json()
    clock.advance(hours=hours)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": participation["created_id"]}]})
    assert confirmed.status_code == 201, confirmed.text
    clock.now = today
    return month


async def test_exports_hold_the_columns_and_cells_on_screen(
        database_url: str, ledger_client: httpx.AsyncClient, community: Community,
        clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    c = community
    month = await _served_last_month(ledger_client, c, clock, "XH-EX01", 5)
    async with _desk(database_url, ledger_client, c, monkeypatch) as desk:
        roll_page = f"/organiser/honor-rolls/{c.community}/{month}"
        page = await _until(lambda: desk.get(roll_page), lambda r: "张三明" in r.text)
        assert "标准规则 第1版" in page.text and "standard v1" not in page.text
        headings, rows = _table(page.text, "roll")
        assert headings == [col.zh for col in HONOR_ROLL]
        assert rows == [["1", "张三明", "XH-EX01", "5.0", "1"]]
        assert f'href="{roll_page}/csv"' in page.text and f'href="{roll_page}/xlsx"' in page.text
        exported = _csv(await desk.get(f"{roll_page}/csv"))
        assert exported == [headings, *rows]
        sheet = _xlsx(await desk.get(f"{roll_page}/xlsx"))
        assert sheet["A1"].value == f"兴华南里社区 {int(month[:4])}年{int(month[5:])}月 光荣榜"
        assert [cell.value for cell in sheet[2]] == headings
        assert sheet.freeze_panes == "A3"
        assert [sheet.column_dimensions[letter].width for letter in "ABCDE"] == [
            col.width for col in HONOR_ROLL]
        assert [_values(row) for row in sheet.iter_rows(min_row=3, values_only=True)] == [
            _values(row) for row in rows]

        # The activity report of the same month: the table, its totals row, the files.
        report = await desk.get(f"/organiser/reports/{c.community}/{month}")
        assert report.status_code == 200
        headings, rows = _table(report.text, "activity-report")
        assert headings == [col.zh for col in UNIT_ACTIVITY]
        assert rows == [["环境整治", "1", "1", "1", "5.0", "0", "0"],
                        ["合计", "1", "1", "1", "5.0", "0", "0"]]
        base = f"/organiser/reports/{c.community}/{month}"
        assert _csv(await desk.get(f"{base}/csv")) == [headings, *rows]
        sheet = _xlsx(await desk.get(f"{base}/xlsx"))
        assert sheet["A1"].value.endswith("活动统计") and sheet.freeze_panes == "A3"
        assert [_values(row) for row in sheet.iter_rows(min_row=3, values_only=True)] == [
            _values(row) for row in rows]

        # Out of scope: the street above the organiser's community.
        assert (await desk.get(f"/organiser/reports/{c.street}/{month}")).status_code == 404
        assert (await desk.get(f"/organiser/honor-rolls/{c.street}/{month}/csv")
                ).status_code == 404
        # Only the formats the reports export.
        for other in (f"{base}/pdf", f"/organiser/honor-rolls/{c.community}/{month}/json"):
            assert (await desk.get(other)).status_code == 404, other


async def test_the_tree_rolls_up_and_the_digest_picks_an_employer(
        database_url: str, ledger_client: httpx.AsyncClient, community: Community,
        clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    c = community
    month = await _served_last_month(ledger_client, c, clock, "XH-EX02", 3)
    async with _desk(database_url, ledger_client, c, monkeypatch) as desk:
        await _until(lambda: desk.get(f"/organiser/reports/{c.community}/{month}"),
                     lambda r: "XH-EX02" in r.text or "环境整治" in r.text)
        tree = await desk.get("/organiser/honor-rolls", params={"month": month})
        assert tree.status_code == 200
        # The community holds its branches (nested), with the community's month totals.
        community = tree.text.index("兴华南里社区")
        assert community < tree.text.index("第一党支部") < tree.text.index("第二党支部")
        assert re.search(r'<ul class="tree">.*第一党支部', tree.text[community:], re.S)
        assert "开展活动 1 次 · 参与 1 人、1 人次 · 服务 3 小时" in tree.text
        assert f'href="/organiser/honor-rolls/{c.community}/{month}"' in tree.text
        assert str(c.street) not in tree.text  # above the organiser's scope

        quarter = f"{clock.now.year}Q{(clock.now.month - 1) // 3 + 1}"
        # Last month may lie in the quarter before: ask for the quarter it is in.
        served = f"{month[:4]}Q{(int(month[5:]) - 1) // 3 + 1}"
        picker = await desk.get("/organiser/digest", params={"quarter": served})
        assert picker.status_code == 200
        assert '<option value="区税务局"' in picker.text and "（1 人）" in picker.text
        digest = await desk.get("/organiser/digest", params={"quarter": served,
                                                              "employer": "区税务局"})
        headings, rows = _table(digest.text, "digest")
        assert headings == [col.zh for col in EMPLOYER_DIGEST]
        assert rows[0][:3] == ["XH-EX02", "张三明", "已报到"] and rows[0][6] == "3.0"
        query = {"quarter": served, "employer": "区税务局", "offset": "0"}
        assert _csv(await desk.get("/organiser/digest/csv", params=query)) == [headings, *rows]
        sheet = _xlsx(await desk.get("/organiser/digest/xlsx", params=query))
        assert sheet["A1"].value.startswith("区税务局 ") and sheet.freeze_panes == "A3"
        # Anything not offered re-renders the picker with a message, never an error.
        wrong = await desk.get("/organiser/digest", params={"quarter": quarter,
                                                             "employer": "=HYPERLINK(1)"})
        assert wrong.status_code == 200 and "请从列表中选择" in wrong.text
        assert (await desk.get("/organiser/digest/csv", params={
            "quarter": "1999Q1", "employer": "区税务局"})).status_code == 404
        assert (await desk.get("/organiser/digest/ods", params=query)).status_code == 404


async def test_an_empty_month_is_not_published(
        database_url: str, ledger_client: httpx.AsyncClient, community: Community,
        clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    c = community
    month = await _served_last_month(ledger_client, c, clock, "XH-EX03", 5)
    async with _desk(database_url, ledger_client, c, monkeypatch) as desk:
        # The second branch's members served nothing that month.
        roll_page = f"/organiser/honor-rolls/{c.other_branch}/{month}"
        draft = await _until(lambda: desk.get(roll_page), lambda r: "草稿" in r.text)
        command_id = re.search(r'name="command_id" value="([^"]+)"', draft.text).group(1)
        refused = await desk.post(f"{roll_page}/publish", data={
            "command_id": command_id, "publicity_days": "7", "confirmed": "yes",
            "_csrf_token": csrf_token(draft)})
        assert refused.status_code == 200
        assert "光荣榜为空，不能发布" in refused.text
        answer = await ledger_client.post("/api/v1/honor-rolls", headers=c.organiser, json={
            "unit_id": str(c.other_branch), "month": month})
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "empty_honor_roll"
        assert (await desk.get(roll_page)).text.count("已发布") == 0
