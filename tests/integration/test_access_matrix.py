"""Every operation in the OpenAPI of both services, called as five callers: no token, a
read-only token, an organiser of another branch (wrong subtree), an organiser of the branch
(right subtree), and a tenant-wide token of another tenant.

The operations come from the services' own schemas and each one's rule from its route
(`contract.access`), so a new route is in the matrix as soon as it exists; one that needs a
body or a parameter the tables below do not know fails here until a case is added. Nothing
answers 5xx, whoever calls.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from contract.access import Access
from contract.events import CertificateIssued, CertificateMonth
from contract.guard import rule_of
from ledger.adapters.directory import Organisers
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger_app
from reports.adapters import webhook_store
from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as create_reports_app
from tests.integration.conftest import (
    Clock,
    Community,
    bearer,
    establish,
    register,
    schedule,
    serving,
)

DAY = "2026-01-15"


@dataclass
class Services:
    ledger: Litestar
    reports: Litestar
    ledger_url: str
    reports_url: str


@pytest.fixture
async def services(database_url: str, clock: Clock,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    # No webhook dispatcher: the matrix's subscription points nowhere.
    reports = create_reports_app(ReportsSettings(database_url=database_url, poll_interval=0.1,
                                                 run_webhooks=False))
    ledger = create_ledger_app(LedgerSettings(database_url=database_url), clock=clock)
    async with serving(reports) as reports_url, serving(ledger) as ledger_url:
        monkeypatch.setenv("REPORTS_URL", reports_url)
        yield Services(ledger, reports, ledger_url, reports_url)


@pytest.fixture
async def ledger_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The ledger the `community` fixture builds its tree in (this one knows the reports)."""
    async with httpx.AsyncClient(base_url=services.ledger_url, timeout=30) as client:
        yield client


@dataclass
class World:
    """A branch's resources, and the callers who try them."""

    ids: dict[str, str]
    callers: dict[str, dict[str, str]]
    # What only the branch's callers may see: none of it may reach anyone else.
    secrets: list[str]


@pytest.fixture
async def world(community: Community, ledger_client: httpx.AsyncClient, pool: asyncpg.Pool,
                clock: Clock, services: Services) -> World:
    c = community
    group = await establish(ledger_client, c.admin, "group", c.branch, "3号楼党小组")
    member = await register(ledger_client, c, f"M-{uuid.uuid4().hex[:6]}")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    checked_in = await ledger_client.post(f"/api/v1/activities/{activity}/check-ins",
                                          headers=c.admin, json={"member_id": str(member)})
    assert checked_in.status_code == 201, checked_in.text
    tokens, organisers = TokenStore(pool), Organisers(pool)

    async def organiser_of(unit: uuid.UUID, login: str) -> dict[str, str]:
        account = await organisers.add(c.tenant, unit_id=unit, name=login,
                                       login=f"{login}-{c.tenant}", password="s3cret-pass")
        return bearer((await tokens.mint(c.tenant, label=login, role="organiser",
                                         can_write=True, scope_unit_id=unit,
                                         organiser_id=account.organiser_id)).token)

    # A member of the group served five hours in 2025-11, so that month's roll has an
    # entry (an empty roll is not published) for the group's roll published below.
    today, served = clock.now, await register(ledger_client, c, f"G-{uuid.uuid4().hex[:6]}",
                                              group)
    clock.now = datetime(2025, 11, 10, 2, tzinfo=UTC)
    past = await schedule(ledger_client, c, clock.now, hours=5)
    presence = await ledger_client.post(f"/api/v1/activities/{past}/check-ins",
                                        headers=c.admin, json={"member_id": str(served)})
    clock.advance(hours=5)
    await ledger_client.post(f"/api/v1/activities/{past}/check-outs", headers=c.admin,
                             json={"member_id": str(served)})
    confirmed = await ledger_client.post(f"/api/v1/activities/{past}/confirmations",
                                         headers=c.organiser, json={"confirmations": [
                                             {"participation_id": presence.json()["created_id"]}]})
    assert confirmed.status_code == 201, confirmed.text
    clock.now = today
    other_tenant = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '别的区')",
                       other_tenant)
    callers = {
        "no token": {},
        "other tenant": bearer((await tokens.mint(other_tenant, label="x", role="client",
                                                  can_write=True)).token),
        "read-only": bearer((await tokens.mint(c.tenant, label="grid", role="client",
                                               can_write=False,
                                               scope_unit_id=c.branch)).token),
        "wrong subtree": await organiser_of(c.other_branch, "li"),
        "right subtree": await organiser_of(c.branch, "zhao"),
    }
    # The reports have projected everything before anyone asks them.
    async with httpx.AsyncClient(base_url=services.reports_url) as reports:
        for _ in range(200):
            status = (await reports.get("/status", headers=c.admin)).json()
            if all(p["lag_events"] == 0 for p in status["projections"]):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the reports never caught up: {status}")
    # Something in each list only the branch may see: the member's correction request, and
    # a roll published for the branch's group (the reports are ready to draft it).
    asked = await ledger_client.post(f"/api/v1/activities/{activity}/correction-requests",
                                     headers=c.admin, json={
        "participation_id": checked_in.json()["created_id"], "member_id": str(member),
        "reason": "少记了", "requested_minutes": 90})
    assert asked.status_code == 201, asked.text
    published = await ledger_client.post("/api/v1/honor-rolls", headers=c.organiser,
                                         json={"unit_id": str(group), "month": "2025-11"})
    assert published.status_code == 201, published.text
    # A certificate the branch issued its member (only the branch's callers may read it
    # whole; anyone may verify it, masked).
    number = "ZYFW-2026-ACCESSMATRIX"
    await PostgresEventStore(pool).append(c.tenant, f"certificate-{number}", NO_STREAM, [
        NewEvent(event_id=uuid.uuid4(), metadata=Metadata(actor="test"), event=CertificateIssued(
            number=number, member_id=member, first_month="2025-11", last_month="2025-11",
            minutes=60, activities=1, issuer_unit_id=c.branch, issued_by=uuid.uuid4(),
            issued_at=clock.now, months=[CertificateMonth(month="2025-11", minutes=60,
                                                          activities=1, content="楼道清理")]))])
    # A webhook subscription of the branch (disabled: nothing is delivered to it).
    async with pool.acquire() as connection:
        hook = await webhook_store.create(
            connection, c.tenant, unit_id=c.branch, url="http://127.0.0.1:9/hook",
            event_types=["CheckedIn"], secret="whsec_matrix", description="",
            created_by="test", cursor=(0, 0))
        await webhook_store.disable(connection, hook)
    ids = {"unit_id": str(c.branch), "group_id": str(group), "member_id": str(member),
           "activity_id": str(activity), "participation_id": checked_in.json()["created_id"],
           "stream_id": f"activity-{activity}", "tenant_id": c.tenant, "month": DAY[:7],
           "community_id": str(c.community), "position": "1", "number": number,
           "subscription_id": str(hook.subscription_id)}
    return World(ids, callers, secrets=[str(member), str(activity), str(group),
                                        checked_in.json()["created_id"],
                                        str(hook.subscription_id)])


Body = Callable[[dict[str, str]], Any]
# A valid body for each operation that takes one; the units named are the branch's.
BODIES: dict[str, Body] = {
    "establishUnit": lambda i: {"kind": "group", "parent_id": i["unit_id"], "name": "新小组",
                                "effective": DAY},
    "renameUnit": lambda i: {"name": "改名小组", "effective": DAY},
    "moveUnit": lambda i: {"parent_id": i["unit_id"], "effective": DAY},
    "mergeUnit": lambda i: {"into_unit_id": i["unit_id"], "effective": DAY},
    "dissolveUnit": lambda i: {"effective": DAY},
    "registerMember": lambda i: {"kind": "volunteer", "registered_on": DAY, "name": "李四",
                                 "member_number": f"N-{uuid.uuid4().hex[:6]}",
                                 "unit_id": i["unit_id"]},
    "reportMember": lambda i: {"unit_id": i["unit_id"], "effective": DAY},
    "transferMember": lambda i: {"to_unit_id": i["group_id"], "effective": DAY},
    "memberLeaves": lambda i: {"effective": DAY, "reason": "搬家"},
    "scheduleActivity": lambda i: {
        "kind": "patrol", "category": "service", "host_unit_id": i["unit_id"],
        "title": "夜间巡逻", "place": "东门", "starts_at": "2026-03-01T19:00:00+08:00",
        "ends_at": "2026-03-01T21:00:00+08:00"},
    "rescheduleActivity": lambda i: {"starts_at": "2026-03-01T19:00:00+08:00",
                                     "ends_at": "2026-03-01T21:00:00+08:00", "reason": "改期"},
    "reviseActivity": lambda i: {"title": "夜间巡逻（东门）", "reason": "写清地点"},
    "cancelActivity": lambda i: {"reason": "下雨"},
    "closeActivity": lambda i: {},
    "checkIn": lambda i: {"member_id": i["member_id"]},
    "checkOut": lambda i: {"member_id": i["member_id"]},
    "confirmAttendance": lambda i: {"confirmations": [
        {"participation_id": i["participation_id"]}]},
    "correctParticipation": lambda i: {"participation_id": i["participation_id"],
                                       "minutes": 30, "reason": "核实"},
    "revokeParticipation": lambda i: {"participation_id": i["participation_id"],
                                      "reason": "代签"},
    "requestCorrection": lambda i: {"participation_id": i["participation_id"],
                                    "member_id": i["member_id"], "reason": "少记了"},
    # The world's record has the member's open request on it (see `world`).
    "acceptCorrectionRequest": lambda i: {"participation_id": i["participation_id"]},
    "amendCorrectionRequest": lambda i: {"participation_id": i["participation_id"],
                                         "minutes": 45, "reason": "核实后"},
    "refuseCorrectionRequest": lambda i: {"participation_id": i["participation_id"],
                                          "reason": "与记录不符"},
    "publishHonorRoll": lambda i: {"unit_id": i["unit_id"], "month": "2025-12"},
    "recordHonorRollObjection": lambda i: {"objection": "有误"},
    "issueCertificate": lambda i: {"first_month": DAY[:7], "last_month": DAY[:7]},
    "addRuleSetVersion": lambda i: {"name": "standard", "min_minutes": 60, "top_n": 10,
                                    "tie_break": "activities", "kinds": ["cleanup"]},
    # A read sent as POST: the branch's member, whom only the branch's callers may see.
    "lookupNames": lambda i: {"member_ids": [i["member_id"]], "organiser_ids": []},
    "createWebhookSubscription": lambda i: {"url": "https://gateway.example.cn/hooks",
                                            "event_types": ["CheckedIn"]},
    "replayWebhookSubscription": lambda i: {"after": "0-0"},
    "importRecords": lambda i: (
        "activity_ref,activity_title,kind,category,host_unit_id,place,starts_at,ends_at,"
        "member_number,checked_in_at,checked_out_at\n"
        f"A1,清扫,cleanup,service,{i['unit_id']},院内,2025-05-01T09:00,2025-05-01T11:00,"
        "NOBODY,2025-05-01T09:00,2025-05-01T10:00\n"),
}
# The unit an operation's path names, where it is not the branch itself.
PATH_UNIT = {"renameUnit": "group_id", "moveUnit": "group_id", "mergeUnit": "group_id",
             "dissolveUnit": "group_id"}
QUERY_VALUES = {"month": DAY[:7], "quarter": "2026Q1", "employer": "区税务局"}


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    operation_id: str
    rule: Access
    body: bool
    required_query: tuple[str, ...]


def operations(app: Litestar, service: str) -> list[Operation]:
    rules = {handler.operation_id: rule_of(handler)
             for route in app.routes for handler in getattr(route, "route_handlers", [])
             if isinstance(getattr(handler, "operation_id", None), str)}
    found = []
    for path, item in app.openapi_schema.to_schema()["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            rule = rules.get(op["operationId"])
            assert rule is not None, f"{service} {op['operationId']} has no access rule"
            required = tuple(p["name"] for p in op.get("parameters", [])
                             if p["in"] == "query" and p.get("required"))
            found.append(Operation(service, method.upper(), path, op["operationId"], rule,
                                   "requestBody" in op, required))
    return found


def _apps() -> list[tuple[str, Litestar]]:
    # Built only to read their schemas and rules (no lifespan, no database).
    url = "postgresql://unused/unused"
    return [("ledger", create_ledger_app(LedgerSettings(database_url=url))),
            ("reports", create_reports_app(ReportsSettings(database_url=url)))]


OPERATIONS = [op for service, app in _apps() for op in operations(app, service)]


def test_the_matrix_covers_both_services() -> None:
    ids = {op.operation_id for op in OPERATIONS}
    assert {"checkIn", "eraseMember", "readFeed", "getHonorRoll", "getStatus", "whoAmI",
            "lookupNames"} <= ids
    assert len(OPERATIONS) >= 45


def refused_for_scope(response: httpx.Response) -> bool:
    """403; or, for an import (checked row by row), every row refused as out of scope."""
    if response.status_code == 403:
        return True
    body = response.json() if response.status_code == 422 else {}
    errors = body.get("errors") or []
    return bool(errors) and all(error["code"] == "forbidden" for error in errors)


async def metrics_access(op: Operation, call: Callable[[str], Any],
                         services: Services) -> None:
    """The scraper's rule (contract.metrics): without METRICS_TOKEN, anyone on loopback (as
    these callers are); with it, its bearer only: no tenant's token, however strong."""
    for caller in ("no token", "read-only", "right subtree"):
        assert (await call(caller)).status_code == 200
    app = services.ledger if op.service == "ledger" else services.reports
    app.state.metrics_token = "scraper-" + uuid.uuid4().hex
    try:
        for caller in ("no token", "other tenant", "read-only", "right subtree"):
            assert (await call(caller)).status_code == 401
        base = services.ledger_url if op.service == "ledger" else services.reports_url
        async with httpx.AsyncClient(base_url=base) as client:
            scraped = await client.get(op.path, headers=bearer(app.state.metrics_token))
        assert scraped.status_code == 200
        assert "http_request_duration_seconds_bucket" in scraped.text
    finally:
        app.state.metrics_token = None


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.service}:{op.operation_id}")
async def test_access(op: Operation, world: World, services: Services) -> None:
    ids = {**world.ids, "unit_id": world.ids[PATH_UNIT.get(op.operation_id, "unit_id")]}
    path = op.path.format(**ids)
    missing = [name for name in op.required_query if name not in QUERY_VALUES]
    assert not missing, f"add a value for the query parameters {missing}"
    params = {name: QUERY_VALUES[name] for name in op.required_query}
    request: dict[str, Any] = {"params": params}
    if op.body or op.operation_id in BODIES:  # an import's body is raw CSV, not in schema
        assert op.operation_id in BODIES, f"add a body for {op.operation_id} to BODIES"
        body = BODIES[op.operation_id](world.ids)
        if isinstance(body, str):
            request |= {"content": body.encode(), "headers": {"content-type": "text/csv"}}
        else:
            request["json"] = body
    base = services.ledger_url if op.service == "ledger" else services.reports_url
    rule = op.rule
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def call(caller: str) -> httpx.Response:
            headers = {**request.get("headers", {}), **world.callers[caller]}
            response = await client.request(op.method, path, **{**request, "headers": headers})
            assert response.status_code < 500, f"{caller}: {response.text[:300]}"
            return response

        def leaks(response: httpx.Response) -> list[str]:
            return [s for s in world.secrets if s in response.text]

        if rule.metrics:
            await metrics_access(op, call, services)
            return
        # The refused callers first: nothing they send may change anything.
        anonymous = await call("no token")
        if rule.public or rule.session:
            assert anonymous.status_code not in (401, 403)
            assert not leaks(anonymous)
            return
        assert anonymous.status_code == 401, anonymous.text

        other = await call("other tenant")
        if rule.write:
            assert other.status_code >= 400, other.text
        assert not leaks(other), "another tenant sees this tenant's records"

        reader = await call("read-only")
        # The read-only caller is a client: refused where only other roles may act.
        if rule.write or rule.tenant_wide or (rule.roles and "client" not in rule.roles):
            assert reader.status_code == 403, reader.text
        else:
            assert reader.status_code not in (401, 403), reader.text

        wrong = await call("wrong subtree")
        if rule.write or rule.tenant_wide or rule.target:
            assert refused_for_scope(wrong), wrong.text
        else:
            assert not leaks(wrong), "a scoped list shows another branch's records"

        right = await call("right subtree")
        if rule.tenant_wide:
            assert right.status_code == 403, right.text
        else:
            assert right.status_code not in (401, 403), right.text
