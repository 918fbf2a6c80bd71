"""The ledger's HTTP API end to end (in-process) on real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx

from tests.integration.conftest import Clock, Community, read_feed, register, schedule


async def test_health_and_every_route_has_an_operation_id(ledger_client: httpx.AsyncClient) -> None:
    assert (await ledger_client.get("/health")).json() == {"status": "ok", "database": True}
    schema = (await ledger_client.get("/schema/openapi.json")).json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations and all(op.get("operationId") for op in operations)
    assert len({op["operationId"] for op in operations}) == len(operations)


async def test_check_in_out_confirm_correct_and_the_feed(
    ledger_client: httpx.AsyncClient, community: Community, clock: Clock
) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0001")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5),
                              hours_cap_minutes=90)
    url = f"/api/v1/activities/{activity}"

    checked_in = await ledger_client.post(
        f"{url}/check-ins", headers={**c.admin, "X-Correlation-ID": "saturday-patrol"},
        json={"member_id": str(member), "method": "qr"})
    assert checked_in.status_code == 201, checked_in.text
    participation = checked_in.json()["created_id"]
    clock.advance(hours=3)
    out = await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                                   json={"member_id": str(member)})
    assert out.status_code == 201, out.text

    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": participation}]})
    assert confirmed.status_code == 201, confirmed.text
    roster = (await ledger_client.get(url, headers=c.reader)).json()
    # Present 3 h, window 2 h from 5 minutes before check-in, capped at 90 minutes.
    assert roster["participations"][0]["minutes"] == 90

    corrected = await ledger_client.post(f"{url}/corrections", headers=c.organiser, json={
        "participation_id": participation, "minutes": 60, "reason": "提前离开一次"})
    assert corrected.status_code == 201, corrected.text
    roster = (await ledger_client.get(url, headers=c.reader)).json()
    assert roster["participations"][0]["minutes"] == 60

    feed = await read_feed(ledger_client, c.reader, 5, stream_prefix="activity-")
    assert [e["type"] for e in feed] == [
        "ActivityScheduled", "CheckedIn", "CheckedOut", "AttendanceConfirmed",
        "ParticipationCorrected"]
    assert feed[1]["metadata"]["correlation_id"] == "saturday-patrol"
    assert feed[1]["metadata"]["causation_id"] == feed[1]["event_id"]  # the command's id
    assert feed[1]["metadata"]["actor"] == "client:admin"
    correction = feed[-1]["data"]
    assert correction["previous_minutes"] == 90 and correction["reason"] == "提前离开一次"
    assert correction["corrected_by"] == str(c.organiser_id)
    stream = (await ledger_client.get(f"/api/v1/streams/activity-{activity}",
                                      headers=c.reader)).json()
    assert [e["version"] for e in stream["events"]] == [1, 2, 3, 4, 5]


async def test_no_personal_data_in_events(ledger_client: httpx.AsyncClient,
                                          community: Community) -> None:
    await register(ledger_client, community, "XH-0002")
    feed = str(await read_feed(ledger_client, community.reader, 2, stream_prefix="member-"))
    assert "张三明" not in feed and "13800000000" not in feed and "XH-0002" not in feed


async def test_retried_command_appends_once(ledger_client: httpx.AsyncClient,
                                            community: Community, clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0003")
    activity = await schedule(ledger_client, c, clock.now)
    command = {"command_id": str(uuid.uuid4()), "member_id": str(member), "method": "qr"}
    url = f"/api/v1/activities/{activity}/check-ins"
    first = await ledger_client.post(url, headers=c.admin, json=command)
    again = await ledger_client.post(url, headers=c.admin, json=command)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["positions"] == first.json()["positions"]
    assert again.json()["created_id"] == first.json()["created_id"]
    assert again.json()["replayed"] is True
    other = await ledger_client.post(url, headers=c.admin,
                                     json={**command, "method": "form"})
    assert other.status_code == 409 and other.json()["code"] == "command_id_reused"
    roster = (await ledger_client.get(f"/api/v1/activities/{activity}", headers=c.reader)).json()
    assert len(roster["participations"]) == 1


async def test_concurrent_check_ins_to_one_activity_all_land(
    ledger_client: httpx.AsyncClient, community: Community, clock: Clock
) -> None:
    c = community
    members = [await register(ledger_client, c, f"XH-1{i:03}") for i in range(12)]
    activity = await schedule(ledger_client, c, clock.now)
    responses = await asyncio.gather(*(
        ledger_client.post(f"/api/v1/activities/{activity}/check-ins", headers=c.admin,
                           json={"member_id": str(m)})
        for m in members
    ))
    assert [r.status_code for r in responses] == [201] * 12
    roster = (await ledger_client.get(f"/api/v1/activities/{activity}", headers=c.reader)).json()
    assert roster["version"] == 13


async def test_problem_details_name_the_field(ledger_client: httpx.AsyncClient,
                                              community: Community, clock: Clock) -> None:
    c = community
    unknown = await ledger_client.post("/api/v1/activities", headers=c.organiser, json={
        "kind": "cleanup", "category": "service", "host_unit_id": str(c.branch), "title": "x",
        "place": "y", "starts_at": clock.now.isoformat(), "ends_at": clock.now.isoformat(),
        "colour": "red"})
    assert unknown.status_code == 400
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["field"] == "colour"

    bad_window = await ledger_client.post("/api/v1/activities", headers=c.organiser, json={
        "kind": "cleanup", "category": "service", "host_unit_id": str(c.branch), "title": "x",
        "place": "y", "starts_at": clock.now.isoformat(),
        "ends_at": (clock.now - timedelta(hours=1)).isoformat()})
    assert bad_window.status_code == 422
    problem = bad_window.json()
    assert problem["field"] == "ends_at" and problem["type"] == "/problems/invalid_window"
    assert problem["invalid_params"][0]["name"] == "ends_at"

    wrong_type = await ledger_client.post("/api/v1/members", headers=c.admin,
                                          json={"kind": "in_service", "registered_on": 5})
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "registered_on"


async def test_refusals_are_problems(ledger_client: httpx.AsyncClient, community: Community,
                                     clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0004")
    activity = await schedule(ledger_client, c, clock.now + timedelta(hours=5))
    early = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                     headers=c.admin, json={"member_id": str(member)})
    assert early.status_code == 409 and early.json()["code"] == "not_started"
    cancelled = await ledger_client.post(f"/api/v1/activities/{activity}/cancel",
                                         headers=c.organiser, json={"reason": "暴雨"})
    assert cancelled.status_code == 201
    clock.advance(hours=5)
    refused = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                       headers=c.admin, json={"member_id": str(member)})
    assert refused.status_code == 409 and refused.json()["code"] == "activity_cancelled"
    assert refused.json()["detail"] == "活动已取消"


async def test_tokens_and_scopes(ledger_client: httpx.AsyncClient, community: Community,
                                 clock: Clock) -> None:
    c = community
    missing = await ledger_client.post("/api/v1/activities", json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    forged = await ledger_client.get("/api/v1/feed", headers={"Authorization": "Bearer lt_x_y"})
    assert forged.status_code == 401
    read_only = await ledger_client.post(f"/api/v1/units/{c.branch}/rename",
                                         headers=c.reader,
                                         json={"name": "新名字", "effective": "2026-01-01"})
    assert read_only.status_code == 403
    # A client token (not an organiser) cannot confirm attendance.
    activity = await schedule(ledger_client, c, clock.now)
    not_organiser = await ledger_client.post(
        f"/api/v1/activities/{activity}/confirmations", headers=c.admin,
        json={"confirmations": [{"participation_id": str(uuid.uuid4())}]})
    assert not_organiser.status_code == 403


async def test_organiser_of_another_community_cannot_confirm(
    ledger_client: httpx.AsyncClient, community: Community, clock: Clock, pool
) -> None:
    from ledger.adapters.directory import Organisers
    from ledger.adapters.tokens import TokenStore
    from tests.integration.conftest import bearer, establish

    c = community
    elsewhere = await establish(ledger_client, c.admin, "community", c.street, "东联社区")
    account = await Organisers(pool).add(c.tenant, unit_id=elsewhere, name="李主任",
                                         login=f"li-{c.tenant}", password=None)
    outsider = bearer((await TokenStore(pool).mint(
        c.tenant, label="李主任", role="organiser", can_write=True, scope_unit_id=elsewhere,
        organiser_id=account.organiser_id)).token)
    member = await register(ledger_client, c, "XH-0005")
    activity = await schedule(ledger_client, c, clock.now)
    url = f"/api/v1/activities/{activity}"
    participation = (await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                              json={"member_id": str(member)})).json()
    clock.advance(hours=1)
    await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                             json={"member_id": str(member)})
    refused = await ledger_client.post(f"{url}/confirmations", headers=outsider, json={
        "confirmations": [{"participation_id": participation["created_id"]}]})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


async def test_request_body_size_is_limited(ledger_client: httpx.AsyncClient,
                                            community: Community) -> None:
    response = await ledger_client.post("/api/v1/units", headers=community.admin,
                                        content=b'{"name": "' + b"x" * 200_000 + b'"}')
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def _cursor_at_head(ledger_client: httpx.AsyncClient, c: Community) -> str | None:
    """Caught up to the head: other sessions' open transactions may hold events back."""
    head = (await ledger_client.get("/api/v1/feed/status", headers=c.reader)).json()
    cursor, seen = None, 0
    while seen < head["head_position"]:
        page = (await ledger_client.get("/api/v1/feed", headers=c.reader,
                                        params={"after": cursor, "wait": 5})).json()
        cursor = page["next_cursor"]
        seen = max([seen] + [e["position"] for e in page["events"]])
    return cursor


async def test_long_poll_hands_over_a_new_event(ledger_client: httpx.AsyncClient,
                                                community: Community) -> None:
    c = community
    cursor = await _cursor_at_head(ledger_client, c)
    waiting = asyncio.create_task(ledger_client.get(
        "/api/v1/feed", headers=c.reader, params={"after": cursor, "wait": 10}))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await register(ledger_client, c, "XH-0006")
    page = (await asyncio.wait_for(waiting, 10)).json()
    assert [e["type"] for e in page["events"]] == ["MemberRegistered", "MemberReported"]


async def test_many_waiters_at_the_head_are_all_handed_the_new_event(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    """They share one read (feed_waiting.SharedFeedReads); each still gets the whole page,
    and one that gives up early does not take the others' answer with it."""
    c = community
    cursor = await _cursor_at_head(ledger_client, c)
    params = {"after": cursor, "wait": 10}
    waiters = [asyncio.create_task(ledger_client.get("/api/v1/feed", headers=c.reader,
                                                     params=params)) for _ in range(60)]
    impatient = asyncio.create_task(ledger_client.get(
        "/api/v1/feed", headers=c.reader, params={**params, "wait": 0.3}))
    await asyncio.sleep(0.5)
    assert (await impatient).json()["events"] == []
    assert not any(w.done() for w in waiters)
    await register(ledger_client, c, "XH-0016")
    pages = [(await asyncio.wait_for(w, 10)).json() for w in waiters]
    assert {len(p["events"]) for p in pages} == {2}
    assert len({tuple(e["event_id"] for e in p["events"]) for p in pages}) == 1
    assert {p["next_cursor"] for p in pages} == {pages[0]["events"][-1]["cursor"]}


async def test_erasure_keeps_the_records(ledger_client: httpx.AsyncClient,
                                         community: Community) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0007")
    erased = await ledger_client.post(f"/api/v1/members/{member}/erasure", headers=c.admin)
    assert erased.status_code == 201
    shown = (await ledger_client.get(f"/api/v1/members/{member}", headers=c.reader)).json()
    assert shown["name"] is None and shown["member_number"] is None and shown["erased"]
    stream = (await ledger_client.get(f"/api/v1/streams/member-{member}",
                                      headers=c.reader)).json()
    assert [e["type"] for e in stream["events"]] == [
        "MemberRegistered", "MemberReported", "MemberDataErased"]


async def test_feed_status_reports_lag(ledger_client: httpx.AsyncClient,
                                       community: Community) -> None:
    status = (await ledger_client.get("/api/v1/feed/status", headers=community.reader)).json()
    assert status["head_position"] > 0 and status["events_held_back"] >= 0
    bad = await ledger_client.get("/api/v1/feed", headers=community.reader,
                                  params={"after": "nonsense"})
    assert bad.status_code == 422 and bad.json()["field"] == "after"


async def test_closing_checks_out_forgotten_check_ins_flagged_for_review(
    ledger_client: httpx.AsyncClient, community: Community, clock: Clock
) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0008")
    activity = await schedule(ledger_client, c, clock.now, hours=2)
    url = f"/api/v1/activities/{activity}"
    participation = (await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                              json={"member_id": str(member)})).json()
    clock.advance(hours=6)  # the member went home without checking out
    closed = await ledger_client.post(f"{url}/close", headers=c.organiser, json={})
    assert closed.status_code == 201, closed.text
    stream = (await ledger_client.get(f"/api/v1/streams/activity-{activity}",
                                      headers=c.reader)).json()["events"]
    auto = [e for e in stream if e["type"] == "CheckedOut"]
    assert len(auto) == 1 and auto[0]["data"]["auto"] is True
    assert auto[0]["data"]["flags"] == ["auto_closed"]
    # Credited by the schedule: the check-out is put at the scheduled end.
    confirmed = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": participation["created_id"]}]})
    assert confirmed.status_code == 201, confirmed.text
    roster = (await ledger_client.get(url, headers=c.reader)).json()
    assert roster["status"] == "closed" and roster["participations"][0]["minutes"] == 120
    late = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                    json={"member_id": str(member)})
    assert late.status_code == 409 and late.json()["code"] == "activity_closed"


async def test_retried_registration_creates_one_member(ledger_client: httpx.AsyncClient,
                                                       community: Community) -> None:
    c = community
    body = {"command_id": str(uuid.uuid4()), "kind": "retired", "registered_on": "2024-03-01",
            "member_number": "XH-0009", "name": "李四", "unit_id": str(c.branch)}
    first = await ledger_client.post("/api/v1/members", headers=c.admin, json=body)
    again = await ledger_client.post("/api/v1/members", headers=c.admin, json=body)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["created_id"] == again.json()["created_id"]
    taken = await ledger_client.post("/api/v1/members", headers=c.admin,
                                     json={**body, "command_id": str(uuid.uuid4())})
    assert taken.status_code == 409 and taken.json()["field"] == "member_number"
