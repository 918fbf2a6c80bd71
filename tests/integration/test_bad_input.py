"""Bad input refused at the ledger's door (issue 9): every case answers the right 4xx as an
RFC 9457 problem naming the field, never a 5xx, and appends nothing; request ids are
bounded before they reach metadata; an unreachable database is 503 with Retry-After."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from ledger.config import Settings
from ledger.entrypoints.app import create_app
from tests.integration.conftest import Clock, Community, Relay, register, schedule, serving

NUL = "a\x00b"
DEEP = "[" * 999 + "]" * 999


@dataclass
class Case:
    label: str
    method: str
    path: str
    status: int
    code: str
    field: str | None
    json: Any = None
    params: dict[str, Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    who: str = "organiser"


def member_body(**fields: Any) -> dict[str, Any]:
    return {"kind": "in_service", "employer": "区税务局", "registered_on": "2024-01-01",
            "member_number": f"N-{uuid.uuid4().hex[:8]}", "name": "张三明", **fields}


def activity_body(c: Community, clock: Clock, **fields: Any) -> dict[str, Any]:
    starts = clock.now + timedelta(days=1)
    return {"kind": "cleanup", "category": "service", "host_unit_id": str(c.branch),
            "title": "楼道清理", "place": "3号楼", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), **fields}


def unit_body(c: Community, **fields: Any) -> dict[str, Any]:
    return {"kind": "group", "parent_id": str(c.branch), "name": "第一小组",
            "effective": "2024-01-01", **fields}


def cases(c: Community, clock: Clock) -> list[Case]:
    epoch = int((clock.now + timedelta(days=1)).timestamp())
    a = "/api/v1/activities/{activity}"
    return [
        # NUL and other control characters, in every kind of text.
        *(Case(f"member {name} {value!r}", "POST", "/api/v1/members", 422,
               "control_characters", name, json=member_body(**{name: value}), who="admin")
          for name, value in [("name", NUL), ("member_number", NUL), ("employer", NUL),
                              ("phone", NUL), ("name", "张\n三"), ("name", "a\x1b[31m"),
                              ("name", "a\x85"), ("pin", "12\x0034")]),
        Case("unit name", "POST", "/api/v1/units", 422, "control_characters", "name",
             json=unit_body(c, name=NUL), who="admin"),
        Case("unit rename", "POST", f"/api/v1/units/{c.branch}/rename", 422,
             "control_characters", "name", json={"name": NUL, "effective": "2024-02-01"},
             who="admin"),
        *(Case(f"activity {name}", "POST", "/api/v1/activities", 422, "control_characters",
               name, json=activity_body(c, clock, **{name: NUL}))
          for name in ("title", "place", "beneficiary")),
        Case("cancel reason", "POST", f"{a}/cancel", 422, "control_characters", "reason",
             json={"reason": NUL}),
        Case("cancel reason with ESC", "POST", f"{a}/cancel", 422, "control_characters",
             "reason", json={"reason": "下雨\x1b"}),
        Case("reschedule reason", "POST", f"{a}/reschedule", 422, "control_characters",
             "reason", json={**{k: v for k, v in activity_body(c, clock).items()
                                if k in ("starts_at", "ends_at")}, "reason": NUL}),
        *(Case(f"revise {name}", "POST", f"{a}/revise", 422, "control_characters", name,
               json={"title": "楼道清理", "reason": "改名", name: value})
          for name, value in (("title", NUL), ("title", "楼道\n清理"), ("reason", NUL))),
        Case("correction reason", "POST", f"{a}/corrections", 422, "control_characters",
             "reason", json={"participation_id": "{participation}", "minutes": 30,
                             "reason": NUL}),
        Case("revocation reason", "POST", f"{a}/revocations", 422, "control_characters",
             "reason", json={"participation_id": "{participation}", "reason": NUL}),
        Case("correction request reason", "POST", f"{a}/correction-requests", 422,
             "control_characters", "reason", who="admin",
             json={"participation_id": "{participation}", "member_id": "{member}",
                   "reason": NUL}),
        Case("leave reason", "POST", "/api/v1/members/{member}/leave", 422,
             "control_characters", "reason", json={"effective": "2025-01-01", "reason": NUL},
             who="admin"),
        Case("check-in device", "POST", f"{a}/check-ins", 422, "control_characters",
             "device", json={"member_id": "{member}", "device": NUL}, who="admin"),
        Case("publish month", "POST", "/api/v1/honor-rolls", 422, "control_characters",
             "month", json={"unit_id": str(c.branch), "month": "2025-0\x00"}),
        Case("publish rule set", "POST", "/api/v1/honor-rolls", 422, "control_characters",
             "rule_set", json={"unit_id": str(c.branch), "month": "2025-01", "rule_set": NUL}),
        Case("objection", "POST", f"/api/v1/honor-rolls/{c.branch}/2025-01/objections", 422,
             "control_characters", "objection", json={"objection": NUL}),
        Case("objection month in the path", "POST",
             f"/api/v1/honor-rolls/{c.branch}/2025-0%001/objections", 422,
             "control_characters", "month", json={"objection": "有异议"}),
        Case("stream id", "GET", "/api/v1/streams/a%00b", 422, "control_characters",
             "stream_id", who="admin"),
        *(Case(f"feed {name}", "GET", "/api/v1/feed", 422, "control_characters", name,
               params={name: NUL}, who="admin") for name in ("type", "stream_prefix", "after")),
        Case("member list q", "GET", "/api/v1/members", 422, "control_characters", "q",
             params={"q": NUL}, who="admin"),
        Case("member list number", "GET", "/api/v1/members", 422, "control_characters",
             "member_number", params={"member_number": NUL}, who="admin"),
        Case("activity list q", "GET", "/api/v1/activities", 422, "control_characters", "q",
             params={"q": NUL}, who="admin"),
        # Numbers out of range, before SQL.
        Case("after_version", "GET", "/api/v1/streams/organisation", 422, "invalid_value",
             "after_version", params={"after_version": "2147483648"}, who="admin"),
        Case("feed cursor", "GET", "/api/v1/feed", 422, "invalid_cursor", "after",
             params={"after": "1-999999999999999999999999999999"}, who="admin"),
        Case("feed limit", "GET", "/api/v1/feed", 422, "invalid_value", "limit",
             params={"limit": "99999999999999999999"}, who="admin"),
        Case("feed wait", "GET", "/api/v1/feed", 422, "invalid_value", "wait",
             params={"wait": "99999999999999999999"}, who="admin"),
        Case("feed lag cursor", "GET", "/api/v1/feed/lag", 422, "invalid_cursor", "after",
             params={"after": "99999999999999999999-1"}, who="admin"),
        Case("position", "GET", "/api/v1/feed/cursors/99999999999999999999", 404,
             "not_found", "position", who="admin"),
        Case("rule_version", "POST", "/api/v1/honor-rolls", 422, "invalid_value",
             "rule_version", json={"unit_id": str(c.branch), "month": "2025-01",
                                   "rule_version": 99999999999}),
        Case("publicity_days", "POST", "/api/v1/honor-rolls", 422, "invalid_value",
             "publicity_days", json={"unit_id": str(c.branch), "month": "2025-01",
                                     "publicity_days": 2**70}),
        Case("capacity", "POST", "/api/v1/activities", 422, "invalid_value", "capacity",
             json=activity_body(c, clock, capacity=2**40)),
        Case("hours cap", "POST", "/api/v1/activities", 422, "invalid_value",
             "hours_cap_minutes", json=activity_body(c, clock, hours_cap_minutes=2**70)),
        Case("requested minutes", "POST", f"{a}/correction-requests", 422, "invalid_value",
             "requested_minutes", who="admin",
             json={"participation_id": "{participation}", "member_id": "{member}",
                   "reason": "少记了", "requested_minutes": 10**30}),
        Case("JSON nested 999 deep", "POST", "/api/v1/activities", 422, "invalid_value",
             "title", content=('{"title": ' + DEEP + "}").encode(),
             headers={"content-type": "application/json"}),
        Case("JSON objects nested 999 deep", "POST", "/api/v1/units", 400, "invalid_request",
             "a", content=('{"a":' * 999 + "1" + "}" * 999).encode(),
             headers={"content-type": "application/json"}, who="admin"),
        # No coercion.
        Case("minutes as text", "POST", f"{a}/confirmations", 422, "invalid_value",
             "confirmations[0].minutes",
             json={"confirmations": [{"participation_id": "{participation}", "minutes": "59"}]}),
        Case("correction minutes as text", "POST", f"{a}/corrections", 422, "invalid_value",
             "minutes", json={"participation_id": "{participation}", "minutes": "30",
                              "reason": "提前离开"}),
        *(Case(f"revised capacity {value!r}", "POST", f"{a}/revise", 422, "invalid_value",
               "capacity", json={"capacity": value, "reason": "人数调整"})
          for value in (0, -1, 2**40, "10", True, 1.5)),
        Case("revised title 201", "POST", f"{a}/revise", 422, "invalid_value", "title",
             json={"title": "题" * 201, "reason": "改名"}),
        Case("revised title blank", "POST", f"{a}/revise", 422, "invalid_title", "title",
             json={"title": "  ", "reason": "改名"}),
        Case("revision without a reason", "POST", f"{a}/revise", 400, "invalid_request",
             "reason", json={"title": "新名称"}),
        Case("capacity as text", "POST", "/api/v1/activities", 422, "invalid_value",
             "capacity", json=activity_body(c, clock, capacity="10")),
        Case("starts_at as epoch", "POST", "/api/v1/activities", 422, "invalid_value",
             "starts_at", json=activity_body(c, clock, starts_at=epoch, ends_at=epoch + 7200)),
        Case("ends_at as epoch", "POST", "/api/v1/activities", 422, "invalid_value",
             "ends_at", json=activity_body(c, clock, ends_at=epoch + 7200)),
        Case("publicity days as text", "POST", "/api/v1/honor-rolls", 422, "invalid_value",
             "publicity_days", json={"unit_id": str(c.branch), "month": "2025-01",
                                     "publicity_days": "7"}),
        Case("a boolean for a number", "POST", "/api/v1/activities", 422, "invalid_value",
             "capacity", json=activity_body(c, clock, capacity=True)),
        # Every string and list bounded.
        Case("employer 60,000", "POST", "/api/v1/members", 422, "invalid_value", "employer",
             json=member_body(employer="x" * 60_000), who="admin"),
        Case("phone 60,000", "POST", "/api/v1/members", 422, "invalid_value", "phone",
             json=member_body(phone="1" * 60_000), who="admin"),
        Case("name 51", "POST", "/api/v1/members", 422, "invalid_value", "name",
             json=member_body(name="名" * 51), who="admin"),
        Case("title 201", "POST", "/api/v1/activities", 422, "invalid_value", "title",
             json=activity_body(c, clock, title="题" * 201)),
        Case("1,500 organiser ids", "POST", "/api/v1/activities", 422, "invalid_value",
             "organiser_ids", json=activity_body(
                 c, clock, organiser_ids=[str(uuid.uuid4()) for _ in range(1500)])),
        Case("a co-organiser who is no organiser", "POST", "/api/v1/activities", 422,
             "unknown_organiser", "organiser_ids",
             json=activity_body(c, clock, organiser_ids=[str(uuid.uuid4())])),
        Case("reason 501", "POST", f"{a}/cancel", 422, "invalid_value", "reason",
             json={"reason": "因" * 501}),
        Case("unit name 101", "POST", "/api/v1/units", 422, "invalid_value", "name",
             json=unit_body(c, name="名" * 101), who="admin"),
        # Dates and times a record cannot carry.
        Case("registered in 9999", "POST", "/api/v1/members", 422, "out_of_calendar",
             "registered_on", json=member_body(registered_on="9999-12-31"), who="admin"),
        Case("unit effective in year 1", "POST", "/api/v1/units", 422, "out_of_calendar",
             "effective", json=unit_body(c, effective="0001-01-01"), who="admin"),
        Case("activity in year 1", "POST", "/api/v1/activities", 422, "out_of_calendar",
             "starts_at", json=activity_body(c, clock, starts_at="0001-01-01T00:00:00+08:00",
                                             ends_at="0001-01-01T02:00:00+08:00")),
        Case("check-in at the end of time", "POST", f"{a}/check-ins", 422, "out_of_calendar",
             "at", json={"member_id": "{member}", "method": "organiser",
                         "at": "9999-12-31T23:00:00-08:00"}),
        Case("publish month 0000-01", "POST", "/api/v1/honor-rolls", 422, "invalid_month",
             "month", json={"unit_id": str(c.branch), "month": "0000-01"}),
        Case("objection month 0000-01", "POST",
             f"/api/v1/honor-rolls/{c.branch}/0000-01/objections", 422, "invalid_month",
             "month", json={"objection": "有异议"}),
        # Headers kept in metadata: refused, never cut.
        Case("X-Request-Id 129", "POST", f"{a}/cancel", 422, "invalid_header",
             "X-Request-Id", json={"reason": "下雨"}, headers={"X-Request-Id": "r" * 129}),
        Case("X-Correlation-Id with a space", "POST", f"{a}/cancel", 422, "invalid_header",
             "X-Correlation-Id", json={"reason": "下雨"},
             headers={"X-Correlation-Id": "a b"}),
        # Errors of the request itself, each with a stable code.
        Case("malformed member id", "GET", "/api/v1/members/not-a-uuid", 404, "not_found",
             "member_id", who="admin"),
        Case("malformed activity id", "POST", "/api/v1/activities/nope/check-ins", 404,
             "not_found", "activity_id", json={"member_id": "{member}"}, who="admin"),
        Case("malformed unit id", "GET", "/api/v1/units/123", 404, "not_found", "unit_id",
             who="admin"),
        Case("no such route", "GET", "/api/v1/nothing", 404, "not_found", None, who="admin"),
        Case("wrong method", "DELETE", "/api/v1/members", 405, "method_not_allowed", None,
             who="admin"),
        Case("body over 64 KiB", "POST", "/api/v1/members", 413, "body_too_large", "body",
             content=b'{"name": "' + b"x" * 70_000 + b'"}',
             headers={"content-type": "application/json"}, who="admin"),
        Case("malformed JSON", "POST", "/api/v1/members", 400, "invalid_request", "body",
             content=b'{"name": ', headers={"content-type": "application/json"},
             who="admin"),
        # msgspec raises UnicodeDecodeError, not a DecodeError, for these (answered 500).
        Case("a lone surrogate encoded in a string", "POST", "/api/v1/units", 400,
             "invalid_request", "body",
             content=b'{"kind": "group", "name": "\xed\xa0\x80"}',
             headers={"content-type": "application/json"}),
        Case("bytes that are not UTF-8 in a string", "POST", "/api/v1/members", 400,
             "invalid_request", "body", content=b'{"name": "\xff\xfe"}',
             headers={"content-type": "application/json"}, who="admin"),
        Case("unknown field", "POST", "/api/v1/members", 400, "invalid_request", "colour",
             json=member_body(colour="red"), who="admin"),
        Case("missing field", "POST", "/api/v1/units", 400, "invalid_request", "name",
             json={"kind": "group", "parent_id": str(c.branch), "effective": "2024-01-01"},
             who="admin"),
    ]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value and "}" in value and \
            value.strip("{}") in ids else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _events(pool: asyncpg.Pool, tenant: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                               tenant)


async def test_bad_input_is_refused_with_a_problem_naming_the_field(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    member = await register(ledger_client, c, "XH-0901")
    activity = await schedule(ledger_client, c, clock.now - timedelta(hours=3))
    checked_in = await ledger_client.post(
        f"/api/v1/activities/{activity}/check-ins", headers=c.organiser,
        json={"member_id": str(member), "method": "organiser",
              "at": (clock.now - timedelta(hours=3)).isoformat()})
    assert checked_in.status_code == 201, checked_in.text
    ids = {"activity": str(activity), "member": str(member),
           "participation": checked_in.json()["created_id"]}
    before = await _events(pool, c.tenant)
    failures = []
    for case in cases(c, clock):
        response = await ledger_client.request(
            case.method, case.path.format(**ids), json=_fill(case.json, ids),
            params=case.params, content=case.content,
            headers={**getattr(c, case.who), **case.headers})
        problem = response.json() if response.headers.get("content-type", "").startswith(
            "application/problem+json") else {}
        got = (response.status_code, problem.get("code"), problem.get("field"))
        if got != (case.status, case.code, case.field) or not problem.get("detail"):
            failures.append(f"{case.label}: {got} {response.text[:300]}")
        elif case.field is not None:
            assert problem["invalid_params"][0]["name"] == case.field
    assert not failures, "\n".join(failures)
    assert await _events(pool, c.tenant) == before, "a refused command appended events"


async def test_request_ids_are_kept_when_sound_and_refused_when_not(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    activity = await schedule(ledger_client, c, clock.now + timedelta(days=1))
    huge = await ledger_client.post(f"/api/v1/activities/{activity}/cancel",
                                    headers={**c.organiser, "X-Request-Id": "r" * 8 * 2**20},
                                    json={"reason": "下雨"})
    assert (huge.status_code, huge.json()["field"]) == (422, "X-Request-Id")
    sound = "req-" + "7" * 124
    cancelled = await ledger_client.post(
        f"/api/v1/activities/{activity}/cancel", json={"reason": "下雨"},
        headers={**c.organiser, "X-Request-Id": sound, "X-Correlation-Id": "batch-42"})
    assert cancelled.status_code == 201, cancelled.text
    stream = await ledger_client.get(f"/api/v1/streams/activity-{activity}", headers=c.admin)
    metadata = stream.json()["events"][-1]["metadata"]
    assert (metadata["request_id"], metadata["correlation_id"]) == (sound, "batch-42")
    assert len(stream.content) < 10_000


async def test_openapi_states_the_bounds(ledger_client: httpx.AsyncClient) -> None:
    schema = (await ledger_client.get("/schema/openapi.json")).json()
    schedule_activity = schema["components"]["schemas"]["ScheduleActivity"]["properties"]
    assert schedule_activity["title"]["maxLength"] == 200
    assert "\\x00-\\x1f" in schedule_activity["title"]["pattern"]
    assert schedule_activity["organiser_ids"]["maxItems"] == 20
    assert schedule_activity["capacity"]["maximum"] == 100_000
    stream = schema["paths"]["/api/v1/streams/{stream_id}"]["get"]["parameters"]
    after_version = next(p for p in stream if p["name"] == "after_version")
    assert after_version["schema"]["maximum"] == 2**31 - 1
    member = schema["paths"]["/api/v1/members/{member_id}"]["get"]["parameters"]
    assert next(p for p in member if p["name"] == "member_id")["schema"]["format"] == "uuid"


async def test_an_unreachable_database_answers_503_with_retry_after(
        relay: Relay, clock: Clock) -> None:
    app = create_app(Settings(database_url=relay.url), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get("/health")).status_code == 200
        await relay.cut()  # the connections drop, new ones are refused
        for attempt in range(3):
            response = await client.get("/health", headers={"X-Request-Id": f"outage-{attempt}"})
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.headers["content-type"] == "application/problem+json"
            assert (response.json()["code"], response.json()["request_id"]) == \
                ("database_unavailable", f"outage-{attempt}")
        await relay.restore()
        # The pool replaces the lost connections: the service recovers by itself.
        for _ in range(50):
            if (await client.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the ledger did not recover after the outage")
