"""The list endpoints: filters, cursor pages, scope, strict input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from ledger.adapters.tokens import TokenStore
from tests.integration.conftest import Community, bearer, schedule

START = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def scoped(pool: asyncpg.Pool, c: Community, unit: uuid.UUID) -> dict[str, str]:
    minted = await TokenStore(pool).mint(c.tenant, label="branch system", role="client",
                                         can_write=False, scope_unit_id=unit)
    return bearer(minted.token)


async def every_page(client: httpx.AsyncClient, path: str, headers: dict[str, str],
                     **params: Any) -> tuple[list[dict[str, Any]], int]:
    """All items, following `next`; and how many pages it took."""
    items: list[dict[str, Any]] = []
    after, pages = None, 0
    while True:
        response = await client.get(path, headers=headers,
                                    params={**params, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        after = body["next"]
        if after is None:
            return items, pages


async def test_activities_pages_filters_and_scope(ledger_client: httpx.AsyncClient,
                                                  community: Community,
                                                  pool: asyncpg.Pool) -> None:
    c = community
    ids = [await schedule(ledger_client, c, START + timedelta(days=i),
                          title=f"楼道清理 第{i}次") for i in range(7)]
    # Two at the same instant: the cursor's tie-break on the id must not lose either.
    ids.append(await schedule(ledger_client, c, START + timedelta(days=6), title="周末巡逻",
                              kind="patrol"))
    other = await schedule(ledger_client, c, START + timedelta(days=2),
                           host_unit_id=str(c.other_branch), title="议事会", kind="meeting",
                           category="attendance")
    cancelled = await ledger_client.post(f"/api/v1/activities/{ids[0]}/cancel",
                                         headers=c.organiser, json={"reason": "停电"})
    assert cancelled.status_code == 201

    items, pages = await every_page(ledger_client, "/api/v1/activities", c.reader, limit=3)
    assert pages == 3
    listed = [item["activity_id"] for item in items]
    assert len(listed) == len(set(listed)) == 9
    assert set(listed) == {str(i) for i in [*ids, other]}
    starts = [item["starts_at"] for item in items]
    assert starts == sorted(starts, reverse=True)

    async def found(headers: dict[str, str] = c.reader, **params: Any) -> set[str]:
        items, _pages = await every_page(ledger_client, "/api/v1/activities", headers,
                                         **params)
        return {item["activity_id"] for item in items}

    assert await found(status="cancelled") == {str(ids[0])}
    assert await found(kind="patrol") == {str(ids[7])}
    assert await found(q="议事") == {str(other)}
    assert await found(q="第3") == {str(ids[3])}
    assert await found(q="%") == set()  # LIKE's wildcards are plain characters
    # Shanghai dates: the 3rd and 4th of March (UTC 01:00 is 09:00 there).
    assert await found(**{"from": "2025-03-03", "to": "2025-03-04"}) == {
        str(ids[2]), str(ids[3]), str(other)}
    assert await found(host_unit_id=str(c.other_branch)) == {str(other)}
    assert await found(host_unit_id=str(c.community)) == set(listed)

    branch = await scoped(pool, c, c.branch)
    assert await found(branch) == {str(i) for i in ids}
    refused = await ledger_client.get("/api/v1/activities", headers=branch,
                                      params={"host_unit_id": str(c.other_branch)})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert refused.json()["field"] == "host_unit_id"
    assert await found(branch, host_unit_id=str(c.branch)) == {str(i) for i in ids}


async def test_another_tenant_sees_nothing(ledger_client: httpx.AsyncClient,
                                           community: Community, pool: asyncpg.Pool) -> None:
    await schedule(ledger_client, community, START)
    stranger = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, 'x')",
                       stranger)
    token = bearer((await TokenStore(pool).mint(stranger, label="x", role="client",
                                                can_write=False)).token)
    for path in ("/api/v1/activities", "/api/v1/members", "/api/v1/units"):
        response = await ledger_client.get(path, headers=token)
        assert response.status_code == 200 and response.json() == {"items": [], "next": None}
    outside = await ledger_client.get("/api/v1/activities", headers=token,
                                      params={"host_unit_id": str(community.branch)})
    assert outside.status_code == 404


async def test_bad_input_is_a_problem_naming_the_field(ledger_client: httpx.AsyncClient,
                                                       community: Community) -> None:
    for path, params, status, field in [
        ("/api/v1/activities", {"limit": "0"}, 422, "limit"),
        ("/api/v1/activities", {"limit": "201"}, 422, "limit"),
        ("/api/v1/activities", {"from": "2025-02-30"}, 422, "from"),
        ("/api/v1/activities", {"to": "03/01/2025"}, 422, "to"),
        ("/api/v1/activities", {"to": "0001-01-01"}, 422, "to"),
        ("/api/v1/activities", {"from": "2025-03-02", "to": "2025-03-01"}, 422, "from"),
        ("/api/v1/activities", {"status": "open"}, 422, "status"),
        ("/api/v1/activities", {"host_unit_id": "branch-1"}, 422, "host_unit_id"),
        ("/api/v1/activities", {"after": "not-a-cursor"}, 422, "after"),
        ("/api/v1/members", {"unit_id": "x"}, 422, "unit_id"),
        ("/api/v1/members", {"after": "WzFd"}, 422, "after"),
        ("/api/v1/units", {"after": "WzFd"}, 422, "after"),
        ("/api/v1/units", {"kind": "city"}, 422, "kind"),
    ]:
        response = await ledger_client.get(path, headers=community.reader, params=params)
        assert response.status_code == status, (params, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == field, (params, problem)


async def add_member(client: httpx.AsyncClient, c: Community, number: str, name: str,
                     unit: uuid.UUID, registered_on: str) -> str:
    response = await client.post("/api/v1/members", headers=c.admin, json={
        "kind": "retired", "registered_on": registered_on, "member_number": number,
        "name": name, "unit_id": str(unit)})
    assert response.status_code == 201, response.text
    return response.json()["created_id"]


async def test_members_by_number_name_unit_and_scope(ledger_client: httpx.AsyncClient,
                                                     community: Community,
                                                     pool: asyncpg.Pool) -> None:
    c = community
    names = ["张三明", "李四", "王五", "张小红", "赵六"]
    mine = [await add_member(ledger_client, c, f"LM-{i}", name, c.branch, f"2024-01-0{i + 1}")
            for i, name in enumerate(names)]
    theirs = await add_member(ledger_client, c, "LM-9", "张九", c.other_branch, "2023-12-31")

    items, pages = await every_page(ledger_client, "/api/v1/members", c.reader, limit=2)
    assert pages == 3 and [i["member_id"] for i in items] == [theirs, *mine]

    by_number = (await ledger_client.get("/api/v1/members", headers=c.reader,
                                         params={"member_number": "LM-3"})).json()
    assert [(i["member_id"], i["name"], i["unit_id"]) for i in by_number["items"]] == [
        (mine[3], "张小红", str(c.branch))]
    named, _ = await every_page(ledger_client, "/api/v1/members", c.reader, q="张")
    assert {i["member_id"] for i in named} == {mine[0], mine[3], theirs}
    in_unit, _ = await every_page(ledger_client, "/api/v1/members", c.reader,
                                  unit_id=str(c.other_branch))
    assert [i["member_id"] for i in in_unit] == [theirs]

    branch = await scoped(pool, c, c.branch)
    seen, _ = await every_page(ledger_client, "/api/v1/members", branch)
    assert {i["member_id"] for i in seen} == set(mine)
    hidden = (await ledger_client.get("/api/v1/members", headers=branch,
                                      params={"member_number": "LM-9"})).json()
    assert hidden["items"] == []
    refused = await ledger_client.get("/api/v1/members", headers=branch,
                                      params={"unit_id": str(c.other_branch)})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


async def test_units_in_tree_order_and_one_unit(ledger_client: httpx.AsyncClient,
                                                community: Community,
                                                pool: asyncpg.Pool) -> None:
    c = community
    items, pages = await every_page(ledger_client, "/api/v1/units", c.reader, limit=2)
    assert pages == 3
    assert [(i["unit_id"], i["depth"]) for i in items] == [
        (str(c.district), 0), (str(c.street), 1), (str(c.community), 2), (str(c.branch), 3),
        (str(c.other_branch), 3)]
    assert items[3]["parent_id"] == str(c.community)
    branches, _ = await every_page(ledger_client, "/api/v1/units", c.reader, kind="branch")
    assert [i["unit_id"] for i in branches] == [str(c.branch), str(c.other_branch)]

    one = (await ledger_client.get(f"/api/v1/units/{c.community}", headers=c.reader)).json()
    assert one["unit"]["name"] == "兴华南里社区"
    assert one["ancestor_ids"] == [str(c.district), str(c.street)]
    assert [u["unit_id"] for u in one["children"]] == [str(c.branch), str(c.other_branch)]

    branch = await scoped(pool, c, c.branch)
    seen, _ = await every_page(ledger_client, "/api/v1/units", branch)
    assert [i["unit_id"] for i in seen] == [str(c.branch)]
    refused = await ledger_client.get(f"/api/v1/units/{c.community}", headers=branch)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    unknown = await ledger_client.get(f"/api/v1/units/{uuid.uuid4()}", headers=c.reader)
    assert unknown.status_code == 404 and unknown.json()["code"] == "unit_not_found"


async def test_list_operations_are_documented(ledger_client: httpx.AsyncClient) -> None:
    schema = (await ledger_client.get("/schema/openapi.json")).json()
    operations = {op["operationId"]: op for path in schema["paths"].values()
                  for op in path.values()}
    for name in ("listActivities", "listMembers", "listUnits", "getUnit"):
        assert operations[name]["summary"] and operations[name]["description"], name
    parameters = {p["name"] for p in operations["listActivities"]["parameters"]}
    assert {"status", "from", "to", "kind", "host_unit_id", "q", "after", "limit"} <= parameters
