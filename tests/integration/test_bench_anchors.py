"""The check-in benchmark's two framework anchors (bench.bare_endpoint) answer as the bench
drives them: the bare endpoint takes any well-formed body, the door endpoint only what
the ledger's door lets through. `make bench` is not run by `make test`, so without this a
change to the door's dependencies could break the anchor unnoticed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from bench.bare_endpoint import CREATE_RAW_EVENTS, create_app, create_door_app
from bench.ledger_bench import seed
from tests.integration.conftest import bearer, serving


@pytest.fixture
async def raw_events(pool: asyncpg.Pool) -> AsyncIterator[None]:
    await pool.execute(CREATE_RAW_EVENTS)
    yield
    await pool.execute("DROP TABLE raw_events")


def _body(member: uuid.UUID) -> dict[str, str]:
    return {"member_id": str(member), "method": "qr", "command_id": str(uuid.uuid4())}


async def test_bare_endpoint_inserts_one_row_per_request(pool: asyncpg.Pool,
                                                         raw_events: None) -> None:
    activity, member = uuid.uuid4(), uuid.uuid4()
    async with serving(create_app()) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.post(f"/api/v1/activities/{activity}/check-ins",
                                   json=_body(member))
    assert answer.status_code == 201, answer.text
    assert await pool.fetchval("SELECT count(*) FROM raw_events WHERE position = $1",
                               answer.json()["position"]) == 1


async def test_door_endpoint_answers_as_the_ledgers_door(pool: asyncpg.Pool,
                                                         raw_events: None) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    token, members, activities = await seed(pool, 2, tenant)
    path = f"/api/v1/activities/{activities[0]}/check-ins"
    async with serving(create_door_app()) as url, httpx.AsyncClient(base_url=url) as client:
        anonymous = await client.post(path, json=_body(members[0]))
        unknown_field = await client.post(path, headers=bearer(token),
                                          json={**_body(members[0]), "hours": 8})
        accepted = await client.post(path, headers=bearer(token), json=_body(members[0]))
    assert anonymous.status_code == 401
    assert unknown_field.status_code == 400
    assert unknown_field.headers["content-type"].startswith("application/problem+json")
    assert accepted.status_code == 201, accepted.text
    assert accepted.headers["x-content-type-options"] == "nosniff"
    assert await pool.fetchval("SELECT count(*) FROM raw_events") == 1
