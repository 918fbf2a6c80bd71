"""The correction flow through the ledger's API on real PostgreSQL: a member's request with
its reason and hours in the review queue, answered as asked, amended or refused (each
answer in the list and the feed), credits beyond presence flagged and bounded by the
window, and the answers' refusals as problem details."""

from __future__ import annotations

import uuid

import httpx

from tests.integration.conftest import Clock, Community, read_feed, register, schedule


async def _left_early(client: httpx.AsyncClient, c: Community, clock: Clock,
                      number: str) -> tuple[str, str, uuid.UUID]:
    """A 2-hour activity; the member checks out after 30 minutes; confirmed (0.5 h)."""
    member = await register(client, c, number)
    activity = await schedule(client, c, clock.now)
    url = f"/api/v1/activities/{activity}"
    checked_in = await client.post(f"{url}/check-ins", headers=c.admin,
                                   json={"member_id": str(member)})
    assert checked_in.status_code == 201, checked_in.text
    clock.advance(minutes=30)
    assert (await client.post(f"{url}/check-outs", headers=c.admin,
                              json={"member_id": str(member)})).status_code == 201
    clock.advance(hours=2)
    pid = checked_in.json()["created_id"]
    confirmed = await client.post(f"{url}/confirmations", headers=c.organiser,
                                  json={"confirmations": [{"participation_id": pid}]})
    assert confirmed.status_code == 201, confirmed.text
    return url, pid, member


async def _ask(client: httpx.AsyncClient, c: Community, url: str, pid: str,
               member: uuid.UUID, minutes: int | None = 120) -> None:
    asked = await client.post(f"{url}/correction-requests", headers=c.admin, json={
        "participation_id": pid, "member_id": str(member), "reason": "签退点早了",
        "requested_minutes": minutes})
    assert asked.status_code == 201, asked.text


async def _requests(client: httpx.AsyncClient, c: Community, url: str) -> list[dict]:
    activity = url.rsplit("/", 1)[1]
    listed = await client.get("/api/v1/correction-requests", headers=c.reader,
                              params={"activity_id": activity})
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def _minutes(client: httpx.AsyncClient, c: Community, url: str) -> int:
    return (await client.get(url, headers=c.reader)).json()["participations"][0]["minutes"]


async def test_accept_as_asked_credits_the_hours_asked_beyond_presence(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    url, pid, member = await _left_early(ledger_client, c, clock, "CF-1")
    await _ask(ledger_client, c, url, pid, member)
    [request] = await _requests(ledger_client, c, url)
    assert (request["status"], request["reason"], request["requested_minutes"]) == (
        "open", "签退点早了", 120)
    accepted = await ledger_client.post(f"{url}/correction-requests/acceptances",
                                        headers=c.organiser, json={"participation_id": pid})
    assert accepted.status_code == 201, accepted.text
    assert await _minutes(ledger_client, c, url) == 120
    [request] = await _requests(ledger_client, c, url)
    assert (request["status"], request["answer"]) == ("answered", "accepted")
    feed = await read_feed(ledger_client, c.reader, 6, stream_prefix="activity-")
    corrected = feed[-1]
    assert corrected["type"] == "ParticipationCorrected"
    assert corrected["data"]["beyond_presence"] is True
    assert corrected["data"]["answer"] == "accepted"
    assert corrected["data"]["corrected_by"] == str(c.organiser_id)
    # Answered: a second acceptance has nothing to answer.
    again = await ledger_client.post(f"{url}/correction-requests/acceptances",
                                     headers=c.organiser, json={"participation_id": pid})
    assert again.status_code == 409 and again.json()["code"] == "no_open_request"


async def test_amend_and_refuse(ledger_client: httpx.AsyncClient, community: Community,
                                clock: Clock) -> None:
    c = community
    url, pid, member = await _left_early(ledger_client, c, clock, "CF-2")
    await _ask(ledger_client, c, url, pid, member, minutes=None)
    amended = await ledger_client.post(f"{url}/correction-requests/amendments",
                                       headers=c.organiser, json={
        "participation_id": pid, "minutes": 75, "reason": "组长证实10:15离开"})
    assert amended.status_code == 201, amended.text
    assert await _minutes(ledger_client, c, url) == 75
    clock.advance(minutes=5)
    await _ask(ledger_client, c, url, pid, member)
    refused = await ledger_client.post(f"{url}/correction-requests/refusals",
                                       headers=c.organiser, json={
        "participation_id": pid, "reason": "已按组长证实的时间认定"})
    assert refused.status_code == 201, refused.text
    assert await _minutes(ledger_client, c, url) == 75
    answers = [(r["answer"], r["requested_minutes"])
               for r in await _requests(ledger_client, c, url)]
    assert answers == [("refused", 120), ("amended", None)]
    feed = await read_feed(ledger_client, c.reader, 8, stream_prefix="activity-")
    assert feed[-1]["type"] == "CorrectionRequestRefused"
    assert feed[-1]["data"]["refused_by"] == str(c.organiser_id)


async def test_answers_refuse_bad_input_as_problems(ledger_client: httpx.AsyncClient,
                                                    community: Community,
                                                    clock: Clock) -> None:
    c = community
    url, pid, member = await _left_early(ledger_client, c, clock, "CF-3")
    await _ask(ledger_client, c, url, pid, member, minutes=None)
    cases = [
        # Nothing asked in hours: accepting "as asked" cannot say what to credit.
        ("acceptances", {"participation_id": pid}, 409, "no_hours_asked", "participation_id"),
        # Beyond the 2-hour window.
        ("amendments", {"participation_id": pid, "minutes": 121, "reason": "多"}, 422,
         "minutes_exceed_window", "minutes"),
        ("amendments", {"participation_id": pid, "minutes": "90", "reason": "多"}, 422,
         "invalid_value", "minutes"),
        ("amendments", {"participation_id": pid, "minutes": -1, "reason": "多"}, 422,
         "invalid_value", "minutes"),
        ("refusals", {"participation_id": pid, "reason": ""}, 422, "reason_required",
         "reason"),
        ("refusals", {"participation_id": pid, "reason": "不", "extra": 1}, 400,
         "invalid_request", "extra"),
        ("refusals", {"participation_id": str(uuid.uuid4()), "reason": "不"}, 404,
         "participation_not_found", "participation_id"),
    ]
    for action, body, status, code, field in cases:
        answer = await ledger_client.post(f"{url}/correction-requests/{action}",
                                          headers=c.organiser, json=body)
        assert answer.status_code == status, (action, body, answer.text)
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert (problem["code"], problem.get("field")) == (code, field), (body, problem)
    # A client that is not an organiser (the member's side) cannot answer.
    member_side = await ledger_client.post(f"{url}/correction-requests/refusals",
                                           headers=c.admin,
                                           json={"participation_id": pid, "reason": "不"})
    assert member_side.status_code == 403
    [request] = await _requests(ledger_client, c, url)
    assert request["status"] == "open"


async def test_a_correction_beyond_presence_within_the_window_is_flagged(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    url, pid, _member = await _left_early(ledger_client, c, clock, "CF-4")
    corrected = await ledger_client.post(f"{url}/corrections", headers=c.organiser, json={
        "participation_id": pid, "minutes": 120, "reason": "忘记签退，组长证实在场"})
    assert corrected.status_code == 201, corrected.text
    too_much = await ledger_client.post(f"{url}/corrections", headers=c.organiser, json={
        "participation_id": pid, "minutes": 121, "reason": "再多一分钟"})
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "minutes_exceed_window"
    assert "2 小时" in too_much.json()["detail"]


async def test_a_bulk_confirmation_names_the_bad_row(ledger_client: httpx.AsyncClient,
                                                     community: Community,
                                                     clock: Clock) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now)
    url = f"/api/v1/activities/{activity}"
    pids = []
    for number in ("CF-5", "CF-6"):
        member = await register(ledger_client, c, number)
        response = await ledger_client.post(f"{url}/check-ins", headers=c.admin,
                                            json={"member_id": str(member)})
        pids.append(response.json()["created_id"])
        clock.advance(minutes=30)
        await ledger_client.post(f"{url}/check-outs", headers=c.admin,
                                 json={"member_id": str(member)})
    refused = await ledger_client.post(f"{url}/confirmations", headers=c.organiser, json={
        "confirmations": [{"participation_id": pids[0]},
                          {"participation_id": pids[1], "minutes": 100}]})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["field"] == "confirmations[1].minutes"
    assert problem["participation_id"] == pids[1]
    roster = (await ledger_client.get(url, headers=c.reader)).json()
    assert all(p["minutes"] is None for p in roster["participations"])
