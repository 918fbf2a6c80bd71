"""Volunteer-service certificates through the API: issued by an organiser from the
confirmed records, idempotent by command id, listed, verified in public (masked), and
refused for what does not hold."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import httpx

from contract.calendar import month_of
from contract.postgres import create_pool
from infra import migrate
from ledger.domain.certificates import NUMBER
from tests.integration.conftest import Clock, Community, register, schedule
from tests.integration.test_catalogue import _copy_events


async def served(client: httpx.AsyncClient, c: Community, clock: Clock, member: uuid.UUID,
                 minutes: int, title: str = "楼道清理") -> uuid.UUID:
    """The member checks in, stays `minutes` and is confirmed."""
    activity = await schedule(client, c, clock.now - timedelta(minutes=5), title=title)
    checked_in = await client.post(f"/api/v1/activities/{activity}/check-ins",
                                   headers=c.admin, json={"member_id": str(member)})
    assert checked_in.status_code == 201, checked_in.text
    clock.advance(minutes=minutes)
    out = await client.post(f"/api/v1/activities/{activity}/check-outs", headers=c.admin,
                            json={"member_id": str(member)})
    assert out.status_code == 201, out.text
    confirmed = await client.post(
        f"/api/v1/activities/{activity}/confirmations", headers=c.organiser,
        json={"confirmations": [{"participation_id": checked_in.json()["created_id"]}]})
    assert confirmed.status_code in (200, 201), confirmed.text
    return activity


async def test_issue_verify_and_list(ledger_client: httpx.AsyncClient, community: Community,
                                     clock: Clock, pool: asyncpg.Pool) -> None:
    c = community
    member = await register(ledger_client, c, f"C-{uuid.uuid4().hex[:6]}")
    await served(ledger_client, c, clock, member, 60)
    await served(ledger_client, c, clock, member, 30, title="夜间巡逻")
    month = month_of(clock.now)
    command_id = str(uuid.uuid4())
    body = {"command_id": command_id, "first_month": month, "last_month": month,
            "contact": "0592-1234567"}
    path = f"/api/v1/members/{member}/certificates"
    issued = await ledger_client.post(path, headers=c.organiser, json=body)
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    assert NUMBER.match(number) and number.startswith(f"ZYFW-{month[:4]}-")

    # A retry of the same command is the same certificate, appended once.
    again = await ledger_client.post(path, headers=c.organiser, json=body)
    assert again.status_code == 200 and again.json()["number"] == number
    assert again.json()["outcome"]["replayed"] is True
    # Another command is another certificate, with another number.
    clock.advance(minutes=1)
    other = await ledger_client.post(path, headers=c.organiser,
                                     json={**body, "command_id": str(uuid.uuid4())})
    assert other.status_code == 201 and other.json()["number"] != number
    stored = await pool.fetchval(
        "SELECT count(*) FROM ledger.events WHERE tenant_id = $1 AND type = 'CertificateIssued'",
        c.tenant)
    assert stored == 2

    got = await ledger_client.get(f"/api/v1/certificates/{number}", headers=c.organiser)
    assert got.status_code == 200, got.text
    certificate = got.json()
    assert certificate["minutes"] == 90 and certificate["activities"] == 2
    assert certificate["name"] == "张三明" and certificate["issuer_unit_name"] == "兴华南里社区"
    assert certificate["handler_name"] == "王书记" and certificate["contact"] == "0592-1234567"
    assert certificate["months"] == [{"month": month, "minutes": 90, "activities": 2,
                                      "content": "楼道清理、夜间巡逻"}]

    public = await ledger_client.get(f"/api/v1/public/{c.tenant}/certificates/{number}")
    assert public.status_code == 200, public.text
    assert public.json()["masked_name"] == "张*明" and public.json()["minutes"] == 90
    assert str(member) not in public.text and "张三明" not in public.text

    for unknown in (number[:-1] + ("A" if number[-1] != "A" else "B"), "ZYFW-2026-XYZ"):
        missing = await ledger_client.get(f"/api/v1/public/{c.tenant}/certificates/{unknown}")
        assert missing.status_code == 404, missing.text
        assert missing.json()["code"] == "certificate_not_found"
    # A control character is refused at the door, as everywhere.
    nul = await ledger_client.get(f"/api/v1/public/{c.tenant}/certificates/%00")
    assert nul.status_code == 422
    wrong_tenant = await ledger_client.get(f"/api/v1/public/nowhere/certificates/{number}")
    assert wrong_tenant.status_code == 404

    listed = await ledger_client.get(path, headers=c.reader)
    assert [i["number"] for i in listed.json()["items"]] == [other.json()["number"], number]
    page = await ledger_client.get("/api/v1/certificates", headers=c.organiser,
                                   params={"limit": 1})
    assert len(page.json()["items"]) == 1 and page.json()["next"]
    rest = await ledger_client.get("/api/v1/certificates", headers=c.organiser,
                                   params={"limit": 1, "after": page.json()["next"]})
    assert rest.json()["items"][0]["number"] != page.json()["items"][0]["number"]
    bad = await ledger_client.get("/api/v1/certificates", headers=c.organiser,
                                  params={"after": "bm9wZQ"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_refusals(ledger_client: httpx.AsyncClient, community: Community,
                        clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, f"C-{uuid.uuid4().hex[:6]}")
    path = f"/api/v1/members/{member}/certificates"
    month = month_of(clock.now)
    empty = await ledger_client.post(path, headers=c.organiser,
                                     json={"first_month": month, "last_month": month})
    assert empty.status_code == 422 and empty.json()["code"] == "no_service"
    for body, code in (
        ({"first_month": month, "last_month": "2020-01"}, "invalid_range"),
        ({"first_month": "2020-01", "last_month": month}, "period_too_long"),
        ({"first_month": "2999-01", "last_month": "2999-01"}, "month_in_future"),
        ({"first_month": "2026-13", "last_month": "2026-13"}, "invalid_month"),
    ):
        refused = await ledger_client.post(path, headers=c.organiser, json=body)
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
    # Only an organiser certifies: a token that is no one's (the admin client) may not.
    client = await ledger_client.post(path, headers=c.admin,
                                      json={"first_month": month, "last_month": month})
    assert client.status_code == 403
    unknown = await ledger_client.get("/api/v1/certificates/ZYFW-2026-AAAAAAAAAAAA",
                                      headers=c.organiser)
    assert unknown.status_code == 404 and unknown.json()["code"] == "certificate_not_found"


CATALOGUE = """SELECT number, member_id, issuer_unit_id, first_month, last_month, minutes,
    activities, issued_by, issued_at FROM ledger.certificate_catalogue WHERE tenant_id = $1
    ORDER BY number"""


async def test_the_migration_backfill_agrees_with_the_appends(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        pool: asyncpg.Pool, database_url: str) -> None:
    c = community
    member = await register(ledger_client, c, f"C-{uuid.uuid4().hex[:6]}")
    await served(ledger_client, c, clock, member, 45)
    month = month_of(clock.now)
    for _ in range(2):
        issued = await ledger_client.post(f"/api/v1/members/{member}/certificates",
                                          headers=c.organiser,
                                          json={"first_month": month, "last_month": month})
        assert issued.status_code == 201, issued.text
    kept = [tuple(row) for row in await pool.fetch(CATALOGUE, c.tenant)]
    assert len(kept) == 2 and all(row[5] == 45 for row in kept)

    # A database that held certificates before revision 0011: its events, then migrate.
    name = f"backfill_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE DATABASE {name}")
    url = f"{database_url.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(migrate.upgrade, url, "0008")
        older = await create_pool(url, application_name="tests", max_size=2)
        try:
            async with older.acquire() as connection:
                await _copy_events(pool, connection, c.tenant)
            await asyncio.to_thread(migrate.upgrade, url)
            assert [tuple(row) for row in await older.fetch(CATALOGUE, c.tenant)] == kept
        finally:
            await older.close()
    finally:
        await pool.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_pages_verify_in_public_and_keep_certificates_to_their_owners(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    member = await register(ledger_client, c, f"C-{uuid.uuid4().hex[:6]}")
    await served(ledger_client, c, clock, member, 45)
    month = month_of(clock.now)
    issued = await ledger_client.post(f"/api/v1/members/{member}/certificates",
                                      headers=c.organiser,
                                      json={"first_month": month, "last_month": month})
    number = issued.json()["number"]
    # No session of any kind: the verification page answers, masked.
    public = await ledger_client.get(f"/t/{c.tenant}/verify/{number}")
    assert public.status_code == 200 and "张*明" in public.text and "张三明" not in public.text
    assert public.headers["x-robots-tag"] == "noindex"
    for unknown in (f"{number[:-1]}Z" if number[-1] != "Z" else f"{number[:-1]}Y",
                    "ZYFW-2026-TOOSHORT", "x" * 300):
        missing = await ledger_client.get(f"/t/{c.tenant}/verify/{unknown}")
        assert missing.status_code == 404 and "未找到该证明" in missing.text
    # The member's and the organiser's pages want their sessions.
    mine = await ledger_client.get(f"/t/{c.tenant}/me/certificates/{number}")
    assert mine.status_code in (302, 303) and "/identify" in mine.headers["location"]
    organiser = await ledger_client.get(f"/organiser/certificates/{number}")
    assert organiser.status_code in (302, 303) and "/organiser/login" in \
        organiser.headers["location"]
