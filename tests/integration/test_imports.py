"""Bulk import through the HTTP endpoint and the CLI, on real PostgreSQL."""

from __future__ import annotations

import gc
import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from ledger.adapters.event_store import PostgresEventStore
from ledger.entrypoints.commands.imports import import_file
from ledger.imports import run
from ledger.imports.plan import activity_id
from ledger.imports.rows import FIELDS
from tests.integration.conftest import Clock, Community, register, schedule

CSV = {"Content-Type": "text/csv; charset=utf-8"}


def row(c: Community, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "activity_ref": "2025-03-cleanup", "activity_title": "楼道清理", "kind": "cleanup",
        "category": "service", "host_unit_id": str(c.branch), "place": "3号楼",
        "starts_at": "2025-03-08T09:00:00", "ends_at": "2025-03-08T11:00:00",
        "hours_cap_minutes": "90", "member_number": "IM-1",
        "checked_in_at": "2025-03-08T08:50:00", "checked_out_at": "2025-03-08T11:20:00",
        "minutes": "", "confirmed_by": "", "beneficiary": "",
    }
    fields.update(overrides)
    return fields


def csv(*rows: dict[str, Any]) -> bytes:
    lines = [",".join(FIELDS)] + [",".join(str(r[f]) for f in FIELDS) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def good_file(c: Community) -> bytes:
    return csv(
        row(c, member_number="IM-1"),
        row(c, member_number="IM-2", checked_in_at="2025-03-08T09:30:00", minutes="45"),
        row(c, activity_ref="2025-03-forum", activity_title="党员座谈会", kind="forum",
            category="attendance", place="活动室", beneficiary="在职党员",
            starts_at="2025-03-08T14:00:00+08:00", ends_at="2025-03-08T15:30:00+08:00",
            hours_cap_minutes="",
            checked_in_at="2025-03-08T14:00:00+08:00",
            checked_out_at="2025-03-08T15:30:00+08:00"),
    )


async def members(client: httpx.AsyncClient, c: Community, *numbers: str) -> None:
    for number in numbers:
        await register(client, c, number)


async def stored_count(pool: asyncpg.Pool, tenant: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM ledger.events WHERE tenant_id = $1 AND stream_id LIKE 'activity-%'",
        tenant)


async def test_import_appends_what_the_rules_allow_once(
    ledger_client: httpx.AsyncClient, community: Community, pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = community
    await members(ledger_client, c, "IM-1", "IM-2")
    response = await ledger_client.post("/api/v1/imports", headers={**c.organiser, **CSV},
                                        content=good_file(c))
    assert response.status_code == 201, response.text
    summary = response.json()
    # Per activity: scheduled, 3 per row, closed: 8 for the cleanup, 5 for the forum.
    assert (summary["rows"], summary["activities"], summary["events"]) == (3, 2, 8 + 5)
    assert (summary["events_appended"], summary["events_skipped"]) == (13, 0)

    cleanup = activity_id(c.tenant, "2025-03-cleanup")
    roster = (await ledger_client.get(f"/api/v1/activities/{cleanup}", headers=c.reader)).json()
    assert roster["status"] == "closed"
    # IM-1: present 08:50–11:20, window 09:00–11:00 (times without offset are Shanghai's),
    # capped at 90. IM-2: 45 as recorded.
    assert sorted(p["minutes"] for p in roster["participations"]) == [45, 90]
    assert summary["minutes_credited"] == 135

    store = PostgresEventStore(pool)
    forum = activity_id(c.tenant, "2025-03-forum")
    for activity in (cleanup, forum):
        assert await store.verify_chain(c.tenant, f"activity-{activity}") is None
    stream = await store.read_stream(c.tenant, f"activity-{forum}")
    assert [e.type for e in stream] == ["ActivityScheduled", "CheckedIn", "CheckedOut",
                                        "AttendanceConfirmed", "ActivityClosed"]
    scheduled = msgspec.json.decode(stream[0].data)
    assert (stream[0].schema_version, scheduled["kind"], scheduled["beneficiary"]) == (
        2, "forum", "在职党员")
    confirmed = msgspec.json.decode(stream[3].data)
    assert confirmed["minutes"] == 0 and confirmed["confirmed_by"] == str(c.organiser_id)
    metadata = msgspec.json.decode(stream[1].metadata)
    assert metadata["source"] == "import"
    assert metadata["actor"] == f"organiser:{c.organiser_id}"

    # The re-run knows from one stored hash per activity (recomputed with the stored
    # metadata and recording time) that it stored these already: no event-by-event compare.
    monkeypatch.setattr(run, "_stored_as_planned", None)
    again = await ledger_client.post("/api/v1/imports", headers={**c.organiser, **CSV},
                                     content=good_file(c))
    assert again.status_code == 200, again.text
    assert (again.json()["events_appended"], again.json()["events_skipped"]) == (0, 13)
    assert await stored_count(pool, c.tenant) == 13


async def test_invalid_rows_are_all_reported_and_nothing_is_appended(
    ledger_client: httpx.AsyncClient, community: Community, pool: asyncpg.Pool
) -> None:
    c = community
    await members(ledger_client, c, "IM-1", "IM-2")
    body = csv(
        row(c, member_number="IM-1"),
        row(c, member_number="IM-404"),
        row(c, member_number="IM-2", minutes="100"),
        row(c, activity_ref="elsewhere", host_unit_id=str(uuid.uuid4())),
        row(c, activity_ref="backwards", checked_out_at="2025-03-08T08:00:00"),
    )
    response = await ledger_client.post("/api/v1/imports", headers={**c.organiser, **CSV},
                                        content=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "import_invalid" and problem["error_count"] == 4
    assert [(e["row"], e["field"], e["code"]) for e in problem["errors"]] == [
        (3, "member_number", "unknown_member"),
        (4, "minutes", "minutes_exceed_presence"),
        (5, "host_unit_id", "unit_not_found"),
        (6, "checked_out_at", "before_check_in"),
    ]
    assert problem["field"] == "member_number"
    assert all(e["zh"] and e["en"] for e in problem["errors"])
    assert await stored_count(pool, c.tenant) == 0

    partial = await ledger_client.post("/api/v1/imports?only_valid=true",
                                       headers={**c.organiser, **CSV}, content=body)
    assert partial.status_code == 200, partial.text
    # The cleanup has bad rows and the others are bad themselves: nothing is whole.
    assert (partial.json()["activities"], partial.json()["events_appended"]) == (0, 0)
    assert partial.json()["activities_invalid"] == 3


async def test_a_large_file_gets_through_and_the_error_list_is_capped(
    ledger_client: httpx.AsyncClient, community: Community
) -> None:
    c = community
    # 1,200 rows is well over the JSON API's 64 KiB body limit.
    body = csv(*(row(c, activity_ref=f"A-{i}", member_number=f"IM-X{i}") for i in range(1200)))
    assert len(body) > 64 * 1024
    response = await ledger_client.post("/api/v1/imports?dry_run=true",
                                        headers={**c.organiser, **CSV}, content=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["error_count"] == 1200 and len(problem["errors"]) == 1000
    assert problem["errors"][-1]["row"] == 1001


async def test_dry_run_and_only_valid(ledger_client: httpx.AsyncClient, community: Community,
                                      pool: asyncpg.Pool) -> None:
    c = community
    await members(ledger_client, c, "IM-1", "IM-2")
    dry = await ledger_client.post("/api/v1/imports?dry_run=true",
                                   headers={**c.organiser, **CSV}, content=good_file(c))
    assert dry.status_code == 200, dry.text
    assert (dry.json()["events"], dry.json()["events_appended"]) == (13, 0)
    assert await stored_count(pool, c.tenant) == 0

    body = good_file(c) + csv(row(c, activity_ref="bad", member_number="IM-404")).split(
        b"\n", 1)[1]
    partial = await ledger_client.post("/api/v1/imports?only_valid=true",
                                       headers={**c.organiser, **CSV}, content=body)
    assert partial.status_code == 201, partial.text
    summary = partial.json()
    assert (summary["activities"], summary["activities_invalid"]) == (2, 1)
    assert [(e["row"], e["code"]) for e in summary["errors"]] == [(5, "unknown_member")]
    assert await stored_count(pool, c.tenant) == 13


async def test_json_lines_overlap_with_live_records_and_refs_taken(
    ledger_client: httpx.AsyncClient, community: Community, pool: asyncpg.Pool, clock: Clock
) -> None:
    c = community
    await members(ledger_client, c, "IM-1")
    # A live participation from 1 h ago to now; the import claims the same member then.
    live = await schedule(ledger_client, c, clock.now - timedelta(hours=1))
    member_id = (await pool.fetchval(
        "SELECT member_id FROM ledger.member_directory WHERE tenant_id = $1 "
        "AND member_number = 'IM-1'", c.tenant))
    url = f"/api/v1/activities/{live}"
    for step, at in (("check-ins", clock.now - timedelta(minutes=50)), ("check-outs", clock.now)):
        response = await ledger_client.post(f"{url}/{step}", headers=c.organiser, json={
            "member_id": str(member_id), "method": "organiser", "at": at.isoformat()})
        assert response.status_code == 201, response.text
    start = clock.now - timedelta(minutes=40)
    record = row(c, activity_ref="overlap", starts_at=start.isoformat(),
                 ends_at=(start + timedelta(minutes=30)).isoformat(),
                 checked_in_at=start.isoformat(),
                 checked_out_at=(start + timedelta(minutes=30)).isoformat(), minutes=20)
    ndjson = {**c.organiser, "Content-Type": "application/x-ndjson"}
    response = await ledger_client.post("/api/v1/imports", headers=ndjson,
                                        content=msgspec.json.encode(record) + b"\n")
    assert response.status_code == 422, response.text
    assert [(e["row"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (1, "member_number", "overlapping_participation")]

    first = msgspec.json.encode(row(c)) + b"\n"
    assert (await ledger_client.post("/api/v1/imports", headers=ndjson,
                                     content=first)).status_code == 201
    changed = msgspec.json.encode(row(c, minutes="30")) + b"\n"
    response = await ledger_client.post("/api/v1/imports", headers=ndjson, content=changed)
    assert response.status_code == 422, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("activity_ref", "activity_ref_taken")]


async def test_who_may_import(ledger_client: httpx.AsyncClient, community: Community) -> None:
    c = community
    await members(ledger_client, c, "IM-1")
    for headers, status in ((c.reader, 403), (c.admin, 403), ({}, 401)):
        response = await ledger_client.post("/api/v1/imports", headers={**headers, **CSV},
                                            content=csv(row(c)))
        assert response.status_code == status, response.text
    outside = await ledger_client.post(
        "/api/v1/imports", headers={**c.organiser, **CSV},
        content=csv(row(c, host_unit_id=str(c.street))))
    assert [(e["field"], e["code"]) for e in outside.json()["errors"]] == [
        ("host_unit_id", "forbidden")]
    unsupported = await ledger_client.post("/api/v1/imports",
                                           headers={**c.organiser, "Content-Type": "text/xml"},
                                           content=b"<rows/>")
    assert unsupported.status_code == 415 and unsupported.json()["field"] == "content-type"


async def test_cli_imports_once_and_reports_errors(
    ledger_client: httpx.AsyncClient, community: Community, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    c = community
    await members(ledger_client, c, "IM-1", "IM-2")
    path = tmp_path / "records.csv"
    path.write_bytes(good_file(c))
    login = f"wang-{c.tenant}"
    out, err = io.StringIO(), io.StringIO()
    assert await import_file(pool, path, tenant=c.tenant, organiser=login, out=out,
                             err=err) == 0
    assert "appended 13" in out.getvalue()
    # The import pauses the cyclic collector while it runs, and only then.
    assert gc.isenabled()
    assert "validated 3 rows" in err.getvalue() and "written 13 events" in err.getvalue()
    out = io.StringIO()
    assert await import_file(pool, path, tenant=c.tenant, organiser=login, out=out,
                             err=io.StringIO()) == 0
    assert "appended 0, already imported 13" in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv(row(c, activity_ref="x", member_number="IM-404")))
    out = io.StringIO()
    assert await import_file(pool, bad, tenant=c.tenant, organiser=login, out=out,
                             err=io.StringIO()) == 1
    assert "row 2 member_number" in out.getvalue()
    assert await import_file(pool, bad, tenant=c.tenant, organiser="nobody",
                             out=io.StringIO(), err=io.StringIO()) == 2
    assert await stored_count(pool, c.tenant) == 13
