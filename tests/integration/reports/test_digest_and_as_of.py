"""The employer digest (JSON, CSV, XLSX agree), as-of queries, and /status."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from ledger.adapters.tokens import TokenStore
from reports.config import Settings
from reports.entrypoints.app import create_app

from .conftest import ORGANISER, shanghai


@pytest.fixture
async def client(database_url):
    async with AsyncTestClient(create_app(Settings(database_url=database_url,
                                                   run_projector=False))) as client:
        yield client


async def _headers(pool, tenant, **kwargs):
    minted = await TokenStore(pool).mint(tenant, label="t", role="organiser", can_write=True,
                                         organiser_id=ORGANISER, **kwargs)
    return {"Authorization": f"Bearer {minted.token}"}


async def test_employer_digest(history, pool, client):
    district = await history.unit("district", None)
    branch = await history.unit("branch", district, "一支部")
    served = await history.member(branch, employer="区财政局", name="赵六")
    idle = await history.member(branch, employer="区财政局", name="钱七")
    gone = await history.member(branch, employer="区财政局", name="孙八")
    await history.member(branch, employer="别的单位")
    await history.leave(gone, date(2025, 2, 1))
    await history.served(branch, served, shanghai(2025, 2, 3), 120)
    await history.served(branch, served, shanghai(2025, 4, 3), 60)  # next quarter
    unconfirmed = await history.activity(branch, shanghai(2025, 3, 3))
    await history.check_in(unconfirmed, idle, shanghai(2025, 3, 3))
    await history.project()
    headers = await _headers(pool, history.tenant_id)
    params = {"employer": "区财政局", "quarter": "2025Q1"}
    body = (await client.get("/api/v1/employer-digest", params=params, headers=headers)).json()
    rows = {m["name"]: m for m in body["members"]}
    assert set(rows) == {"赵六", "钱七", "孙八"}
    assert (rows["赵六"]["status"], rows["赵六"]["activities"], rows["赵六"]["minutes"]) == (
        "reported", 1, 120)
    assert (rows["钱七"]["activities"], rows["钱七"]["unconfirmed"]) == (0, 1)
    assert rows["孙八"]["status"] == "left" and rows["孙八"]["unit_name"] is None
    exported = list(csv.reader(io.StringIO((await client.get(
        "/api/v1/employer-digest/csv", params=params, headers=headers)).content.decode(
        "utf-8-sig"))))
    assert [row[1] for row in exported[1:]] == [m["name"] for m in body["members"]]
    sheet = load_workbook(io.BytesIO((await client.get(
        "/api/v1/employer-digest/xlsx", params=params, headers=headers)).content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)] == [
        m["name"] for m in body["members"]]
    page = (await client.get("/api/v1/employer-digest", params={**params, "limit": 2},
                             headers=headers)).json()
    assert page["page"]["total"] == 3 and page["page"]["next_offset"] == 2
    assert len(page["members"]) == 2


async def test_as_of_replays_what_was_recorded_by_then(history, pool, client):
    # The tree and the membership as recorded at the start of the year (as of a date, the
    # unit report sees only what had been recorded by then).
    history.recorded_at = shanghai(2025, 1, 1)
    district = await history.unit("district", None)
    member = await history.member(district)
    history.recorded_at = None
    activity, participation = await history.served(district, member, shanghai(2025, 3, 3), 120)
    # Confirmed on 3 March (served() default date is 1 Jan: re-confirm with a date).
    await history.confirm(activity, member, participation, 120, at=shanghai(2025, 3, 3, 18))
    await history.correct(activity, member, participation, 30, 120,
                          at=shanghai(2025, 3, 20, 10))
    later = await history.activity(district, shanghai(2025, 3, 25))
    later_participation = await history.check_in(later, member, shanghai(2025, 3, 25))
    await history.confirm(later, member, later_participation, 60, at=shanghai(2025, 3, 25, 12))
    await history.revoke(later, member, later_participation, at=shanghai(2025, 3, 28))
    await history.project()
    headers = await _headers(pool, history.tenant_id)

    async def hours(as_of: str | None) -> int:
        params = {"as_of": as_of} if as_of else {}
        response = await client.get(f"/api/v1/members/{member}/hours", params=params,
                                    headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["cumulative_minutes"]

    assert await hours("2025-03-10") == 120
    assert await hours("2025-03-26") == 30 + 60
    assert await hours(None) == 30
    unit = await client.get(f"/api/v1/units/{district}/activity",
                            params={"month": "2025-03", "as_of": "2025-03-10"}, headers=headers)
    assert unit.json()["minutes"] == 120 and unit.json()["activities"] == 1


async def test_status_reports_checkpoints_and_lag(history, pool, client):
    district = await history.unit("district", None)
    await history.member(district)
    await history.project()
    await history.member(district)  # appended, not projected
    assert (await client.get("/status")).status_code == 401
    body = (await client.get("/status", headers=await _headers(pool, history.tenant_id))).json()
    # Only the caller's tenant: the status names no other district.
    assert {p["tenant_id"] for p in body["projections"]} == {history.tenant_id}
    mine = body["projections"]
    assert {p["projection"] for p in mine} == {"organisation", "members", "participation",
                                               "honor_rolls"}
    assert all(p["lag_events"] == 2 for p in mine)  # MemberRegistered + MemberReported
    assert all(p["lag_seconds"] >= 0 for p in mine)
    assert (await client.get("/health")).json() == {"status": "ok"}


async def test_rule_sets_are_versioned_and_drive_the_draft(history, pool, client):
    district = await history.unit("district", None)
    members = [await history.member(district) for _ in range(3)]
    for member, minutes in zip(members, (300, 200, 100), strict=True):
        await history.served(district, member, shanghai(2025, 7, 1), minutes)
    await history.project()
    headers = await _headers(pool, history.tenant_id)
    body = {"name": "街道标准", "min_minutes": 150, "top_n": 5, "tie_break": ["minutes"],
            "kinds": ["cleanup"]}
    first = await client.post("/api/v1/rule-sets", json=body, headers=headers)
    second = await client.post("/api/v1/rule-sets", json={**body, "min_minutes": 50},
                               headers=headers)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    bad = await client.post("/api/v1/rule-sets", json={**body, "kinds": ["dancing"]},
                            headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "kinds"
    scoped = await _headers(pool, history.tenant_id, scope_unit_id=district)
    assert (await client.post("/api/v1/rule-sets", json=body,
                              headers=scoped)).status_code == 403
    listed = (await client.get("/api/v1/rule-sets", headers=headers)).json()["rule_sets"]
    assert [(r["name"], r["version"]) for r in listed][-2:] == [("街道标准", 1), ("街道标准", 2)]

    async def entries(version: int | None) -> int:
        params = {"rule_set": "街道标准", **({"rule_version": version} if version else {})}
        response = await client.get(f"/api/v1/units/{district}/honor-rolls/2025-07",
                                    params=params, headers=headers)
        assert response.status_code == 200, response.text
        return len(response.json()["entries"])

    assert await entries(1) == 2
    assert await entries(None) == 3  # the latest version
    missing = await client.get(f"/api/v1/units/{district}/honor-rolls/2025-07",
                               params={"rule_set": "没有"}, headers=headers)
    assert missing.status_code == 404
