"""The reports over HTTP, on histories built through the real event store."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from contract.calendar import SHANGHAI
from contract.events import ActivityDetailsRevised
from contract.report_columns import HONOR_ROLL, UNIT_ACTIVITY
from ledger.adapters.tokens import TokenStore
from reports.config import Settings
from reports.entrypoints.app import create_app

from .conftest import ORGANISER, History, shanghai


@pytest.fixture
async def client(database_url):
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        yield client


async def _token(pool, tenant, **kwargs) -> dict[str, str]:
    minted = await TokenStore(pool).mint(tenant, label="test", role="organiser",
                                         can_write=True, organiser_id=ORGANISER, **kwargs)
    return {"Authorization": f"Bearer {minted.token}"}


async def _tree(history: History) -> dict[str, uuid.UUID]:
    district = await history.unit("district", None, "测试区委")
    street = await history.unit("street", district, "兴华街道")
    community = await history.unit("community", street, "兴华南里社区")
    branch_a = await history.unit("branch", community, "一支部")
    branch_b = await history.unit("branch", community, "二支部")
    return {"district": district, "street": street, "community": community,
            "a": branch_a, "b": branch_b}


async def test_member_hours_month_boundary_and_records(history, pool, client):
    units = await _tree(history)
    member = await history.member(units["a"])
    # 23:30 Shanghai on 31 March is 15:30 UTC the same day: it counts in March.
    activity, participation = await history.served(units["community"], member,
                                                   shanghai(2025, 3, 31, 23, 30), 90)
    await history.correct(activity, member, participation, 60, 90, reason="提前离开")
    # 00:10 Shanghai on 1 April is still 31 March in UTC: it counts in April.
    await history.served(units["community"], member, shanghai(2025, 4, 1, 0, 10), 30,
                         kind="meeting", category="attendance")
    unconfirmed_activity = await history.activity(units["community"], shanghai(2025, 4, 5))
    await history.check_in(unconfirmed_activity, member, shanghai(2025, 4, 5))
    await history.project()
    headers = await _token(pool, history.tenant_id)

    response = await client.get(f"/api/v1/members/{member}/hours", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    months = {m["month"]: m for m in body["months"]}
    assert months["2025-03"]["minutes"] == 60
    assert months["2025-04"]["minutes"] == 0
    assert months["2025-04"]["kinds"][-1]["attendance"] == 1
    assert months["2025-04"]["unconfirmed"] == 1
    assert body["cumulative_minutes"] == 60 and body["unconfirmed"] == 1
    assert body["position"] != "0-0"

    records = (await client.get(f"/api/v1/members/{member}/records?limit=2",
                                headers=headers)).json()
    assert records["page"] == {"limit": 2, "offset": 0, "total": 3, "next_offset": 2}
    march = next(r for r in (await client.get(f"/api/v1/members/{member}/records",
                                          headers=headers)).json()["records"]
             if r["date"] == "2025-03-31")
    assert march["minutes"] == 60 and march["confirmed_by"] == str(ORGANISER)
    assert march["corrections"][0]["reason"] == "提前离开"
    assert march["corrections"][0]["previous_minutes"] == 90


async def test_a_revised_title_shows_on_the_members_records(history, pool, client):
    units = await _tree(history)
    member = await history.member(units["a"])
    activity, _ = await history.served(units["community"], member, shanghai(2025, 5, 10), 60,
                                       title="环境整治")
    await history.project()  # stored first: the revision then changes a stored row
    await history.append(f"activity-{activity}", ActivityDetailsRevised(
        activity_id=activity, title="环境整治（3号楼）", capacity=20, reason="写清楼号"))
    await history.project()
    headers = await _token(pool, history.tenant_id)
    records = (await client.get(f"/api/v1/members/{member}/records",
                                headers=headers)).json()["records"]
    assert [r["activity"] for r in records] == ["环境整治（3号楼）"]


async def test_transfer_and_split_keep_past_months(history, pool, client):
    units = await _tree(history)
    moved = await history.member(units["a"])
    stays = await history.member(units["a"])
    await history.served(units["community"], moved, shanghai(2025, 3, 10), 120)
    await history.served(units["community"], stays, shanghai(2025, 3, 11), 60)
    # April: branch A splits; a new branch C takes `moved` from 1 April.
    branch_c = await history.unit("branch", units["community"], "三支部",
                                  effective=date(2025, 4, 1))
    await history.transfer(moved, units["a"], branch_c, date(2025, 4, 1))
    await history.served(units["community"], moved, shanghai(2025, 4, 10), 30)
    await history.project()
    headers = await _token(pool, history.tenant_id)

    async def minutes(unit: uuid.UUID, month: str) -> int:
        response = await client.get(f"/api/v1/units/{unit}/activity?month={month}",
                                    headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["minutes"]

    assert await minutes(units["a"], "2025-03") == 180
    assert await minutes(branch_c, "2025-03") == 0
    assert await minutes(units["a"], "2025-04") == 0
    assert await minutes(branch_c, "2025-04") == 30
    assert await minutes(units["district"], "2025-03") == 180
    # A late-recorded transfer effective in March moves March's hours, not February's.
    await history.transfer(stays, units["a"], units["b"], date(2025, 3, 1))
    await history.project()
    assert await minutes(units["b"], "2025-03") == 60
    assert await minutes(units["a"], "2025-03") == 120


async def test_community_summary_text(history, pool, client):
    units = await _tree(history)
    members = [await history.member(units["a"]) for _ in range(3)]
    for day in (3, 4):
        await history.served(units["community"], members[0], shanghai(2025, 5, day), 60)
    await history.served(units["a"], members[1], shanghai(2025, 5, 6), 60, kind="patrol")
    await history.served(units["b"], members[2], shanghai(2025, 5, 7), 0, kind="meeting",
                         category="attendance")
    await history.project()
    headers = await _token(pool, history.tenant_id)
    response = await client.get(f"/api/v1/units/{units['community']}/summary?month=2025-05",
                                headers=headers)
    assert response.json()["text"] == (
        "3 名党员报到；开展活动 4 次：环境整治 2 次、巡逻防控 1 次、会议 1 次；"
        "参与 4 人次、3 人，服务 3 小时"
    )


async def test_summary_counts_only_what_was_held(history, pool, client):
    """Hours and distinct participants are in the summary; an activity scheduled later
    this month (a patrol three hours from now) is not counted as held yet."""
    units = await _tree(history)
    members = [await history.member(units["a"]) for _ in range(2)]
    now = datetime.now(SHANGHAI)
    month = now.strftime("%Y-%m")
    earlier = max(now - timedelta(hours=3), now.replace(day=1, hour=0, minute=0))
    await history.served(units["community"], members[0], earlier, 90)
    await history.served(units["a"], members[0], earlier, 45, kind="patrol")
    await history.served(units["a"], members[1], earlier, 45, kind="patrol")
    later = await history.activity(units["a"], now + timedelta(hours=3), kind="patrol")
    await history.project()
    headers = await _token(pool, history.tenant_id)
    answer = await client.get(f"/api/v1/units/{units['community']}/summary?month={month}",
                              headers=headers)
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert (summary["activities"], summary["person_times"], summary["participants"],
            summary["minutes"], summary["hours"]) == (3, 3, 2, 180, 3.0)
    assert summary["text"] == ("2 名党员报到；开展活动 3 次：巡逻防控 2 次、环境整治 1 次；"
                               "参与 3 人次、2 人，服务 3 小时")
    activity = (await client.get(f"/api/v1/units/{units['community']}/activity?month={month}",
                                 headers=headers)).json()
    patrols = next(k for k in activity["kinds"] if k["kind"] == "patrol")
    assert patrols["activities"] == 2, f"the patrol at {later} is still to come"
    # The activity report's exports: the page's columns, a row per kind and the totals.
    shown = [[kind[c.key] for c in UNIT_ACTIVITY] for kind in activity["kinds"]]
    base = f"/api/v1/units/{units['community']}/activity"
    exported = list(csv.reader(io.StringIO((await client.get(
        f"{base}/csv", params={"month": month}, headers=headers)).content.decode("utf-8-sig"))))
    assert exported[0] == [c.zh for c in UNIT_ACTIVITY]
    assert exported[1:-1] == [[str(v) for v in row] for row in shown]
    assert exported[-1] == ["合计", "3", "2", "3", "3.0", "0", "0"]
    sheet = load_workbook(io.BytesIO((await client.get(
        f"{base}/xlsx", params={"month": month}, headers=headers)).content)).active
    assert sheet["A1"].value.startswith("兴华南里社区 ") and sheet["A1"].value.endswith("活动统计")
    assert sheet.freeze_panes == "A3"
    assert [list(r) for r in sheet.iter_rows(min_row=3, max_row=2 + len(shown),
                                             values_only=True)] == shown


async def test_scope_and_auth(history, pool, client):
    units = await _tree(history)
    member = await history.member(units["b"])
    await history.project()
    scoped = await _token(pool, history.tenant_id, scope_unit_id=units["a"])
    assert (await client.get(f"/api/v1/members/{member}/hours")).status_code == 401
    response = await client.get(f"/api/v1/members/{member}/hours", headers=scoped)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    bad = await client.get(f"/api/v1/units/{units['a']}/activity?month=2025-13",
                           headers=scoped)
    assert bad.status_code == 422 and bad.json()["field"] == "month"


async def test_honor_roll_draft_exports_match_screen(history, pool, client):
    units = await _tree(history)
    people = [await history.member(units["a"], name=name) for name in ("张三明", "李四", "王五")]
    for minutes, person in zip((300, 600, 300), people, strict=True):
        await history.served(units["community"], person, shanghai(2025, 6, 2), minutes)
    await history.project()
    headers = await _token(pool, history.tenant_id)
    base = f"/api/v1/units/{units['community']}/honor-rolls/2025-06"
    view = (await client.get(base, headers=headers)).json()
    assert view["status"] == "draft"
    # 王五 and 张三明 tie on every key: they share rank 2.
    assert [e["rank"] for e in view["entries"]] == [1, 2, 2]
    assert view["entries"][0]["name"] == "李四"
    # The columns the pages show (contract.report_columns), in the files too.
    shown = [[e[c.key] if e[c.key] is not None else "" for c in HONOR_ROLL]
             for e in view["entries"]]
    exported = list(csv.reader(io.StringIO(
        (await client.get(f"{base}/csv", headers=headers)).content.decode("utf-8-sig"))))
    assert exported[0] == [c.zh for c in HONOR_ROLL]
    assert exported[0][:3] == ["名次", "姓名", "成员编号"]
    assert exported[1:] == [[str(v) for v in row] for row in shown]
    sheet = load_workbook(io.BytesIO(
        (await client.get(f"{base}/xlsx", headers=headers)).content)).active
    assert sheet["A1"].value == "兴华南里社区 2025年6月 光荣榜"
    assert [c.value for c in sheet[2]] == [c.zh for c in HONOR_ROLL]
    assert sheet.freeze_panes == "A3"
    assert [sheet.column_dimensions[letter].width for letter in "ABCDE"] == [
        c.width for c in HONOR_ROLL]
    rows = [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert rows == [[None if v == "" else v for v in row] for row in shown]
    page = await client.get(f"{base}/print", headers=headers)
    assert "张*明" in page.text and "张三明" not in page.text
