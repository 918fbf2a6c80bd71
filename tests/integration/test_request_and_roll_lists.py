"""The lists of members' correction requests (the review queue) and of published honor
rolls: filters, cursor pages, scope, strict input."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from contract.events import HonorRollEntry, HonorRollObjectionRecorded, HonorRollPublished
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.listings import encode_cursor
from ledger.adapters.tokens import TokenStore
from tests.integration.conftest import Clock, Community, bearer, register, schedule
from tests.integration.test_lists_api import every_page, scoped

REQUESTS = "/api/v1/correction-requests"
ROLLS = "/api/v1/honor-rolls"


async def check_in(client: httpx.AsyncClient, c: Community, activity: uuid.UUID,
                   member: uuid.UUID) -> str:
    response = await client.post(f"/api/v1/activities/{activity}/check-ins", headers=c.admin,
                                 json={"member_id": str(member)})
    assert response.status_code == 201, response.text
    return response.json()["created_id"]


async def ask(client: httpx.AsyncClient, c: Community, activity: uuid.UUID,
              member: uuid.UUID, participation: str, reason: str,
              minutes: int | None = None) -> str:
    """The member's request; its id is the id of the event it appended."""
    response = await client.post(f"/api/v1/activities/{activity}/correction-requests",
                                 headers=c.admin, json={
        "participation_id": participation, "member_id": str(member), "reason": reason,
        "requested_minutes": minutes})
    assert response.status_code == 201, response.text
    return response.json()["event_ids"][0]


async def test_correction_requests_pages_filters_and_scope(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool) -> None:
    c = community
    ours, theirs = c.branch, c.other_branch
    first, second = [await register(ledger_client, c, f"CR-{i}") for i in (1, 2)]
    outsider = await register(ledger_client, c, "CR-9", theirs)
    early = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    later = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    elsewhere = await schedule(ledger_client, c, clock.now - timedelta(minutes=5),
                               host_unit_id=str(theirs))
    kept = await check_in(ledger_client, c, early, first)
    forgot = await check_in(ledger_client, c, later, second)
    away = await check_in(ledger_client, c, elsewhere, outsider)

    revoked = await ask(ledger_client, c, early, first, kept, "少记了一小时", 150)
    clock.advance(minutes=1)
    other = await ask(ledger_client, c, elsewhere, outsider, away, "我在别的支部")
    clock.advance(minutes=1)
    # Two at one instant: the cursor's tie-break on the id must not lose either.
    both = {await ask(ledger_client, c, later, second, forgot, "忘记签退", 60),
            await ask(ledger_client, c, later, second, forgot, "再次申请", 90)}
    answered = await ledger_client.post(f"/api/v1/activities/{early}/revocations",
                                        headers=c.organiser,
                                        json={"participation_id": kept, "reason": "代签"})
    assert answered.status_code == 201, answered.text

    items, pages = await every_page(ledger_client, REQUESTS, c.reader, limit=2)
    assert pages == 2
    assert [i["request_id"] for i in items[2:]] == [other, revoked]
    assert {i["request_id"] for i in items[:2]} == both
    stamps = [i["requested_at"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    oldest = items[-1]
    assert {k: oldest[k] for k in ("activity_id", "host_unit_id", "member_id",
                                   "participation_id", "reason", "requested_minutes",
                                   "status", "answer")} == {
        "activity_id": str(early), "host_unit_id": str(ours), "member_id": str(first),
        "participation_id": kept, "reason": "少记了一小时", "requested_minutes": 150,
        "status": "answered", "answer": "revoked"}
    assert oldest["answered_at"] is not None
    assert items[2]["requested_minutes"] is None and items[2]["answered_at"] is None

    async def found(headers: dict[str, str] = c.reader, **params: Any) -> set[str]:
        items, _pages = await every_page(ledger_client, REQUESTS, headers, **params)
        return {item["request_id"] for item in items}

    assert await found(status="open") == {other, *both}
    assert await found(status="answered") == {revoked}
    assert await found(unit_id=str(theirs)) == {other}
    assert await found(unit_id=str(c.community)) == {revoked, other, *both}
    assert await found(activity_id=str(later)) == both
    assert await found(member_id=str(first)) == {revoked}

    branch = await scoped(pool, c, ours)
    assert await found(branch) == {revoked, *both}
    assert await found(branch, status="open") == both
    assert await found(branch, activity_id=str(elsewhere)) == set()
    assert await found(branch, member_id=str(outsider)) == set()
    refused = await ledger_client.get(REQUESTS, headers=branch,
                                      params={"unit_id": str(theirs)})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert refused.json()["field"] == "unit_id"


def _published(unit: uuid.UUID, month: str, entries: int) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), metadata=Metadata(actor="test"),
                    event=HonorRollPublished(
        unit_id=unit, month=month, rule_set="standard", rule_version=2,
        computed_at_position="1-1", published_by=uuid.uuid4(),
        entries=[HonorRollEntry(rank=i, member_id=uuid.uuid4(), minutes=600 - i, activities=1)
                 for i in range(1, entries + 1)],
        published_at=datetime(2026, 1, 5, 2, 0, tzinfo=UTC), publicity_ends=date(2026, 1, 12)))


def _objection(unit: uuid.UUID, month: str) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), metadata=Metadata(actor="test"),
                    event=HonorRollObjectionRecorded(
                        unit_id=unit, month=month, objection="名单有误",
                        recorded_by=uuid.uuid4(), recorded_at=datetime(2026, 1, 6, tzinfo=UTC)))


async def test_honor_rolls_pages_filters_and_scope(ledger_client: httpx.AsyncClient,
                                                   community: Community,
                                                   pool: asyncpg.Pool) -> None:
    c = community
    store = PostgresEventStore(pool)
    rolls = [(c.branch, "2025-10"), (c.branch, "2025-11"), (c.branch, "2025-12"),
             (c.other_branch, "2025-11"), (c.community, "2025-11")]
    for count, (unit, month) in enumerate(rolls):
        await store.append(c.tenant, f"honor-roll-{unit}-{month}", NO_STREAM,
                           [_published(unit, month, count)])
    await store.append(c.tenant, f"honor-roll-{c.branch}-2025-11", 1,
                       [_objection(c.branch, "2025-11"), _objection(c.branch, "2025-11")])

    items, pages = await every_page(ledger_client, ROLLS, c.reader, limit=2)
    assert pages == 3
    keys = [(i["month"], i["unit_id"]) for i in items]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == 5
    november = next(i for i in items if (i["unit_id"], i["month"]) == (str(c.branch),
                                                                       "2025-11"))
    assert november == {"unit_id": str(c.branch), "month": "2025-11", "rule_set": "standard",
                        "rule_version": 2, "published_at": "2026-01-05T02:00:00Z",
                        "publicity_ends": "2026-01-12", "entry_count": 1,
                        "objection_count": 2}

    async def found(headers: dict[str, str] = c.reader, **params: Any) -> set[tuple[str, str]]:
        items, _pages = await every_page(ledger_client, ROLLS, headers, **params)
        return {(item["unit_id"], item["month"]) for item in items}

    every = {(str(unit), month) for unit, month in rolls}
    assert await found() == every
    assert await found(**{"from": "2025-11", "to": "2025-11"}) == {
        (str(u), m) for u, m in rolls if m == "2025-11"}
    assert await found(**{"from": "2025-12"}) == {(str(c.branch), "2025-12")}
    assert await found(to="2025-10") == {(str(c.branch), "2025-10")}
    assert await found(unit_id=str(c.community)) == every
    assert await found(unit_id=str(c.other_branch)) == {(str(c.other_branch), "2025-11")}

    branch = await scoped(pool, c, c.branch)
    assert await found(branch) == {(str(c.branch), m) for m in ("2025-10", "2025-11",
                                                                "2025-12")}
    refused = await ledger_client.get(ROLLS, headers=branch,
                                      params={"unit_id": str(c.community)})
    assert refused.status_code == 403 and refused.json()["field"] == "unit_id"


async def test_another_tenant_sees_none_of_them(ledger_client: httpx.AsyncClient,
                                                community: Community, clock: Clock,
                                                pool: asyncpg.Pool) -> None:
    c = community
    member = await register(ledger_client, c, "CR-X")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    record = await check_in(ledger_client, c, activity, member)
    await ask(ledger_client, c, activity, member, record, "少记了")
    await PostgresEventStore(pool).append(c.tenant, f"honor-roll-{c.branch}-2025-11",
                                          NO_STREAM, [_published(c.branch, "2025-11", 1)])
    assert len((await ledger_client.get(REQUESTS, headers=c.reader)).json()["items"]) == 1
    assert len((await ledger_client.get(ROLLS, headers=c.reader)).json()["items"]) == 1

    stranger = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, 'x')",
                       stranger)
    token = bearer((await TokenStore(pool).mint(stranger, label="x", role="client",
                                                can_write=False)).token)
    for path in (REQUESTS, ROLLS):
        response = await ledger_client.get(path, headers=token)
        assert response.status_code == 200 and response.json() == {"items": [], "next": None}


async def test_bad_input_is_a_problem_naming_the_field(ledger_client: httpx.AsyncClient,
                                                       community: Community) -> None:
    nul_month = encode_cursor(("\u0000", str(uuid.uuid4())))
    for path, params, status, field in [
        (REQUESTS, {"status": "closed"}, 422, "status"),
        (REQUESTS, {"activity_id": "act-1"}, 422, "activity_id"),
        (REQUESTS, {"member_id": "1"}, 422, "member_id"),
        (REQUESTS, {"unit_id": str(uuid.uuid4())}, 404, "unit_id"),
        (REQUESTS, {"limit": "0"}, 422, "limit"),
        (REQUESTS, {"after": "WzFd"}, 422, "after"),
        (REQUESTS, {"after": "not a cursor"}, 422, "after"),
        (ROLLS, {"from": "2025-13"}, 422, "from"),
        (ROLLS, {"to": "2025-1"}, 422, "to"),
        (ROLLS, {"to": "0001-01"}, 422, "to"),
        (ROLLS, {"from": "2025-12-01"}, 422, "from"),
        (ROLLS, {"from": "2025-12", "to": "2025-11"}, 422, "from"),
        (ROLLS, {"unit_id": "branch"}, 422, "unit_id"),
        (ROLLS, {"limit": "201"}, 422, "limit"),
        (ROLLS, {"after": "WzFd"}, 422, "after"),
        (ROLLS, {"after": nul_month}, 422, "after"),
    ]:
        response = await ledger_client.get(path, headers=community.reader, params=params)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == field, (params, response.json())


async def test_both_lists_are_documented(ledger_client: httpx.AsyncClient) -> None:
    schema = (await ledger_client.get("/schema/openapi.json")).json()
    operations = {op["operationId"]: op for path in schema["paths"].values()
                  for op in path.values()}
    for name, expected in (
            ("listCorrectionRequests", {"status", "unit_id", "activity_id", "member_id",
                                        "after", "limit"}),
            ("listHonorRolls", {"unit_id", "from", "to", "after", "limit"})):
        operation = operations[name]
        assert operation["summary"] and operation["description"], name
        assert {p["name"] for p in operation["parameters"]} == expected, name
