"""Bad input refused at the reports' door (issue 9), exports that never hold a live formula,
and an unreachable database answering 503 with Retry-After."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import httpx
import pytest
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from ledger.adapters.tokens import TokenStore
from reports.config import Settings
from reports.entrypoints.app import create_app
from tests.integration.conftest import Relay, serving

from .conftest import ORGANISER, History, shanghai

FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture
async def client(database_url):
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        yield client


async def _headers(pool, tenant: str) -> dict[str, str]:
    minted = await TokenStore(pool).mint(tenant, label="test", role="organiser",
                                         can_write=True, organiser_id=ORGANISER)
    return {"Authorization": f"Bearer {minted.token}"}


async def test_bad_input_is_refused_with_a_problem_naming_the_field(history: History, pool,
                                                                    client) -> None:
    district = await history.unit("district", None, "测试区委")
    community = await history.unit("community", district, "兴华南里社区")
    member = await history.member(community)
    await history.served(community, member, shanghai(2025, 3, 3), 60)
    await history.project()
    headers = await _headers(pool, history.tenant_id)
    unit, roll = f"/api/v1/units/{community}", f"/api/v1/units/{community}/honor-rolls"
    hours, records = f"/api/v1/members/{member}/hours", f"/api/v1/members/{member}/records"
    digest = "/api/v1/employer-digest"
    rule_set = {"name": "季度", "min_minutes": 60, "top_n": 10, "tie_break": ["minutes"],
                "kinds": ["cleanup"]}
    public = f"/public/{history.tenant_id}/honor-rolls/{community}"
    cases: list[tuple[str, str, dict | None, int, str, str | None]] = [
        # (method, path, JSON body, status, code, field)
        ("GET", f"{digest}?employer=x&quarter=0000Q1", None, 422, "invalid_quarter", "quarter"),
        ("GET", f"{digest}/csv?employer=x&quarter=0000Q1", None, 422, "invalid_quarter",
         "quarter"),
        ("GET", f"{digest}?employer=a%00&quarter=2025Q1", None, 422, "control_characters",
         "employer"),
        ("GET", f"{digest}?employer=x&quarter=2025Q1&offset=99999999999999999999", None, 422,
         "invalid_value", "offset"),
        ("GET", f"{digest}?employer=x&quarter=2025Q1&limit=0", None, 422, "invalid_value",
         "limit"),
        ("GET", f"{digest}?quarter=2025Q1", None, 400, "invalid_request", "employer"),
        ("GET", f"{unit}/employer-digest?employer=x&quarter=0000Q1", None, 422,
         "invalid_quarter", "quarter"),
        ("GET", f"{unit}/employer-digest/xlsx?employer={'x' * 201}&quarter=2025Q1", None, 422,
         "invalid_value", "employer"),
        ("GET", f"{unit}/employer-digest/employers?quarter=2025Q5", None, 422,
         "invalid_value", "quarter"),
        ("GET", f"{unit}/employer-digest/employers?quarter=2025Q1&limit=5001", None, 422,
         "invalid_value", "limit"),
        ("GET", f"/api/v1/units/{uuid.uuid4()}/employer-digest/employers?quarter=2025Q1",
         None, 404, "unit_not_found", "unit_id"),
        ("GET", f"{unit}/activity/csv?month=0000-01", None, 422, "invalid_month", "month"),
        ("GET", f"{unit}/activity/xlsx?month=2025-01&as_of=9999-12-31", None, 422,
         "out_of_calendar", "as_of"),
        ("GET", f"{unit}/activity/csv", None, 400, "invalid_request", "month"),
        ("GET", f"{unit}/activity?month=0000-01", None, 422, "invalid_month", "month"),
        ("GET", f"{unit}/activity?month=9999-12", None, 422, "invalid_month", "month"),
        ("GET", f"{unit}/activity?month=2025-01&as_of=9999-12-31", None, 422,
         "out_of_calendar", "as_of"),
        ("GET", f"{unit}/summary?month=0000-01", None, 422, "invalid_month", "month"),
        ("GET", f"{unit}/activity?month=2025-01%0A", None, 422, "control_characters", "month"),
        ("GET", f"{roll}/0000-01", None, 422, "invalid_month", "month"),
        ("GET", f"{roll}/0000-01/csv", None, 422, "invalid_month", "month"),
        ("GET", f"{roll}/0000-01/xlsx", None, 422, "invalid_month", "month"),
        ("GET", f"{roll}/0000-01/print", None, 422, "invalid_month", "month"),
        ("GET", f"{roll}/2025-0%001", None, 422, "control_characters", "month"),
        ("GET", f"{roll}/2025-03?rule_version=99999999999", None, 422, "invalid_value",
         "rule_version"),
        ("GET", f"{roll}/2025-03?rule_set=a%00", None, 422, "control_characters", "rule_set"),
        ("GET", f"{roll}/2025-03?rule_set={'a' * 51}", None, 422, "invalid_value", "rule_set"),
        ("GET", f"{roll}/2025-03?wait_for=99999999999999999999", None, 422, "invalid_value",
         "wait_for"),
        ("GET", f"{hours}?as_of=9999-12-31", None, 422, "out_of_calendar", "as_of"),
        ("GET", f"{hours}?as_of=0001-01-01", None, 422, "out_of_calendar", "as_of"),
        ("GET", f"{hours}?from_month=2025-05&to_month=2025-01", None, 422, "invalid_range",
         "from_month"),
        ("GET", f"{hours}?from_month=0000-01", None, 422, "invalid_month", "from_month"),
        ("GET", f"{records}?offset=99999999999999999999", None, 422, "invalid_value",
         "offset"),
        ("GET", f"{records}?wait_for=99999999999999999999", None, 422, "invalid_value",
         "wait_for"),
        ("GET", f"{records}?wait_for=1%00", None, 422, "control_characters", "wait_for"),
        # A position no event has is never applied: refused after the (5 s) wait, not 503.
        ("GET", f"{records}?wait_for=9223372036854775807", None, 422, "unknown_position",
         "wait_for"),
        ("GET", "/api/v1/members/nope/hours", None, 404, "not_found", "member_id"),
        ("GET", "/api/v1/units/123/activity?month=2025-01", None, 404, "not_found", "unit_id"),
        ("GET", "/api/v1/nothing", None, 404, "not_found", None),
        ("DELETE", "/api/v1/rule-sets", None, 405, "method_not_allowed", None),
        ("POST", "/api/v1/rule-sets", {**rule_set, "name": "a\x00"}, 422,
         "control_characters", "name"),
        ("POST", "/api/v1/rule-sets", {**rule_set, "min_minutes": "60"}, 422,
         "invalid_value", "min_minutes"),
        ("POST", "/api/v1/rule-sets", {**rule_set, "top_n": 2**70}, 422, "invalid_value",
         "top_n"),
        ("POST", "/api/v1/rule-sets", {**rule_set, "kinds": ["cleanup"] * 5000}, 422,
         "invalid_value", "kinds"),
        ("POST", "/api/v1/rule-sets", {**rule_set, "kinds": ["cleanup", "cleanup"]}, 422,
         "invalid_value", "kinds"),
        ("POST", "/api/v1/rule-sets", {**rule_set, "colour": "red"}, 400, "invalid_request",
         "colour"),
        ("GET", f"/public/a%00b/honor-rolls/{community}/2025-01", None, 422,
         "control_characters", "tenant_id"),
        ("GET", f"/public/{'x' * 65}/honor-rolls/{community}/2025-01", None, 404, "not_found",
         "tenant_id"),
        ("GET", f"{public}/0000-01", None, 404, "not_found", None),
    ]
    failures = []
    for method, path, body, status, code, field in cases:
        response = await client.request(method, path, json=body, headers=headers)
        problem = response.json() if response.headers.get("content-type", "").startswith(
            "application/problem+json") else {}
        got = (response.status_code, problem.get("code"), problem.get("field"))
        if got != (status, code, field) or not problem.get("detail"):
            failures.append(f"{method} {path[:80]}: {got} {response.text[:300]}")
    assert not failures, "\n".join(failures)


async def test_exports_never_hold_a_live_formula(history: History, pool, client) -> None:
    district = await history.unit("district", None, "测试区委")
    community = await history.unit("community", district, "兴华南里社区")
    evil = await history.member(community, name=FORMULA, employer="+区税务局")
    plain = await history.member(community, name="李四", employer="+区税务局")
    await history.served(community, evil, shanghai(2025, 6, 3), 300)
    await history.served(community, plain, shanghai(2025, 6, 4), 240)
    await history.project()
    headers = await _headers(pool, history.tenant_id)
    base = f"/api/v1/units/{community}/honor-rolls/2025-06"

    rows = list(csv.reader(io.StringIO(
        (await client.get(f"{base}/csv", headers=headers)).content.decode("utf-8-sig"))))
    names = [row[1] for row in rows[1:]]
    assert names == ["'" + FORMULA, "李四"]
    sheet = load_workbook(io.BytesIO(
        (await client.get(f"{base}/xlsx", headers=headers)).content)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=3)]
    assert [(c.value, c.data_type) for c in cells] == [("'" + FORMULA, "s"), ("李四", "s")]

    digest = {"employer": "+区税务局", "quarter": "2025Q2"}
    table = list(csv.reader(io.StringIO((await client.get(
        "/api/v1/employer-digest/csv", params=digest, headers=headers)).content
        .decode("utf-8-sig"))))
    assert sorted(row[1] for row in table[1:]) == sorted(["'" + FORMULA, "李四"])
    book = load_workbook(io.BytesIO((await client.get(
        "/api/v1/employer-digest/xlsx", params=digest, headers=headers)).content)).active
    assert all(c.data_type != "f" for row in book.iter_rows() for c in row)
    # The title row names the employer: it is a cell like any other.
    assert book["A1"].value.startswith("'+区税务局")


async def test_an_unreachable_database_answers_503_with_retry_after(relay: Relay,
                                                                    tenant: str) -> None:
    app = create_app(Settings(database_url=relay.url, run_projector=False))
    # Served in this event loop (the test client runs the app in another), as the relay is.
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get("/health")).status_code == 200
        await relay.cut()
        for path in ("/health", f"/public/{tenant}/honor-rolls/{uuid.uuid4()}/2025-01"):
            response = await client.get(path, headers={"X-Request-Id": "outage-r"})
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.headers["content-type"] == "application/problem+json"
            assert (response.json()["code"], response.json()["request_id"]) == \
                ("database_unavailable", "outage-r")
        await relay.restore()
        for _ in range(50):
            if (await client.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the reports did not recover after the outage")


async def test_the_reports_schema_states_the_bounds(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    rule_set = schema["components"]["schemas"]["NewRuleSet"]["properties"]
    assert rule_set["name"]["maxLength"] == 50 and rule_set["top_n"]["maximum"] == 1000
    records = schema["paths"]["/api/v1/members/{member_id}/records"]["get"]["parameters"]
    assert next(p for p in records if p["name"] == "offset")["schema"]["maximum"] == 2**31 - 1
