"""The contract of the two other ports through which the reports reach the ledger, checked on
both adapters of each against real PostgreSQL: token verification (`ledger.token_principal`
in the same database, or the ledger's `GET /api/v1/tokens/current`) and the directory's
names (`ledger.member_names`/`organiser_names`, or the ledger's `POST /api/v1/names`),
the HTTP ones against the real ledger app.

The same principal for a valid token, None for an unknown, revoked or malformed one, the
same names; and the ledger's two operations themselves: scoped like its other reads, and
a token revoked elsewhere refused at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest

from contract.problems import Refusal
from contract.tokens import CachingVerifier, TokenVerifier
from ledger.adapters.directory import MemberDirectory, Organisers
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger_app
from reports.adapters.database_directory import DatabaseDirectory
from reports.adapters.http_directory import CHUNK, HttpDirectory
from reports.adapters.http_tokens import HttpTokenVerifier
from reports.adapters.ledger_api import LedgerApi
from reports.service.ports import Directory, Person
from tests.integration.conftest import Community, bearer, register, serving

from .conftest import History


@asynccontextmanager
async def _ledger_api(database_url: str) -> AsyncIterator[LedgerApi]:
    """The ledger app served for real, and the reports' client of its API."""
    async with serving(create_ledger_app(LedgerSettings(database_url=database_url))) as url:
        api = LedgerApi(url)
        try:
            yield api
        finally:
            await api.close()


@pytest.fixture
async def ledger_api(database_url: str) -> AsyncIterator[LedgerApi]:
    async with _ledger_api(database_url) as api:
        yield api


@pytest.fixture(params=["database", "http"])
async def verifier(request, pool: asyncpg.Pool, tenant: str,
                   database_url: str) -> AsyncIterator[CachingVerifier]:
    if request.param == "database":
        yield TokenVerifier(pool)
        return
    async with _ledger_api(database_url) as api:
        yield HttpTokenVerifier(api, tenant)


@pytest.fixture(params=["database", "http"])
async def directory(request, pool: asyncpg.Pool, tenant: str,
                    database_url: str) -> AsyncIterator[Directory]:
    if request.param == "database":
        yield DatabaseDirectory(pool)
        return
    # As the reports are configured: a tenant-wide, read-only client token.
    minted = await TokenStore(pool).mint(tenant, label="reports", role="client",
                                         can_write=False)
    async with _ledger_api(database_url) as api:
        yield HttpDirectory(api, tenant, minted.token)


async def _revoke_elsewhere(pool: asyncpg.Pool, token_id: str) -> None:
    """As another process (`ledger token revoke`) would: no cache here hears of it."""
    await pool.execute("UPDATE ledger.api_tokens SET revoked_at = now() WHERE token_id = $1",
                       token_id)


# Token verification

async def test_a_valid_token_gives_its_principal(verifier, pool, tenant):
    tokens, organisers = TokenStore(pool), Organisers(pool)
    unit = uuid.uuid4()
    account = await organisers.add(tenant, unit_id=unit, name="王书记",
                                   login=f"wang-{tenant}", password=None)
    minted = [
        await tokens.mint(tenant, label="grid", role="client", can_write=False),
        await tokens.mint(tenant, label="王书记", role="organiser", can_write=True,
                          scope_unit_id=unit, organiser_id=account.organiser_id),
        await tokens.mint(tenant, label="审计", role="auditor", can_write=False),
        await tokens.mint(tenant, label="ledger", role="service", can_write=False),
    ]
    for token in minted:
        assert await verifier.verify(token.token) == token.principal
        # Again, from the cache.
        assert await verifier.verify(token.token) == token.principal


@pytest.mark.parametrize("raw", [
    "", "garbage", "lt_", "lt__secret", "lt_abc_", "xx_abc_secret", "lt_0123456789abcdef_nope",
    "lt_" + "a" * 300, "lt_令牌_密钥",
])
async def test_a_malformed_or_unknown_token_gives_none(verifier, raw):
    assert await verifier.verify(raw) is None


async def test_a_wrong_secret_or_a_revoked_token_gives_none(verifier, pool, tenant):
    tokens = TokenStore(pool)
    valid = await tokens.mint(tenant, label="grid", role="client", can_write=False)
    token_id = valid.principal.token_id
    assert await verifier.verify(f"lt_{token_id}_not-the-secret") is None
    assert await verifier.verify(valid.token) == valid.principal
    # A known id with another secret is refused from the cache too.
    assert await verifier.verify(f"lt_{token_id}_not-the-secret") is None

    revoked = await tokens.mint(tenant, label="old", role="client", can_write=False)
    await _revoke_elsewhere(pool, revoked.principal.token_id)
    assert await verifier.verify(revoked.token) is None


async def test_a_revoked_token_stops_working_within_the_cache_window(verifier, pool, tenant):
    minted = await TokenStore(pool).mint(tenant, label="grid", role="client", can_write=False)
    verifier.CACHE_SECONDS = 0.3
    assert await verifier.verify(minted.token) == minted.principal
    await _revoke_elsewhere(pool, minted.principal.token_id)
    await asyncio.sleep(0.35)
    # Over HTTP too: the ledger answers afresh, its own cache does not add a window.
    assert await verifier.verify(minted.token) is None


async def test_over_http_a_token_of_another_tenant_gives_none(ledger_api, pool, tenant):
    """A remote reports deployment reads one tenant: another's token is refused."""
    other = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '别的区')",
                       other)
    minted = await TokenStore(pool).mint(other, label="x", role="client", can_write=False)
    assert await HttpTokenVerifier(ledger_api, tenant).verify(minted.token) is None
    assert await HttpTokenVerifier(ledger_api, other).verify(minted.token) == minted.principal


def _failing(status: int | None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if status is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(status, text="upstream trouble")
    return httpx.MockTransport(answer)


@pytest.mark.parametrize("status", [None, 500, 502, 429])
async def test_an_unreachable_ledger_is_a_503_not_a_refusal(status):
    ledger = LedgerApi("http://ledger", transport=_failing(status))
    try:
        with pytest.raises(Refusal) as verifying:
            await HttpTokenVerifier(ledger, "t").verify("lt_0123456789abcdef_secret")
        with pytest.raises(Refusal) as naming:
            await HttpDirectory(ledger, "t", "lt_x_y").members("t", [uuid.uuid4()])
    finally:
        await ledger.close()
    for raised in (verifying.value, naming.value):
        assert raised.status == 503 and raised.code == "ledger_unavailable"
        assert raised.headers == {"Retry-After": "5"}


# Names

async def test_the_same_names(directory, history: History, pool, tenant):
    named = [await history.member(None, name=name) for name in ("张三明", "李四")]
    erased = await history.member(None, name="王五")
    await MemberDirectory(pool).erase(tenant, erased)
    numbers = dict(await pool.fetch(
        "SELECT member_id, member_number FROM ledger.member_directory "
        "WHERE tenant_id = $1 AND member_id = ANY($2)", tenant, named))
    organisers = Organisers(pool)
    wang = await organisers.add(tenant, unit_id=uuid.uuid4(), name="王书记",
                                login=f"wang-{tenant}", password=None)
    unknown = uuid.uuid4()

    found = await directory.members(tenant, [*named, erased, unknown, named[0]])
    assert found == {named[0]: Person(numbers[named[0]], "张三明"),
                     named[1]: Person(numbers[named[1]], "李四"),
                     erased: Person(None, None)}
    assert await directory.organisers(tenant, [wang.organiser_id, unknown]) == {
        wang.organiser_id: "王书记"}
    assert await directory.members(tenant, []) == {}
    assert await directory.organisers(tenant, []) == {}
    # Within a report's snapshot the same.
    async with pool.acquire() as connection, connection.transaction(readonly=True):
        assert await directory.on(connection).members(tenant, named) == {
            k: v for k, v in found.items() if k in named}


async def test_names_of_another_tenant_are_not_given(directory, pool, tenant):
    other = History(pool, f"t-{uuid.uuid4().hex[:12]}")
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '别的区')",
                       other.tenant_id)
    stranger = await other.member(None, name="赵六")
    assert await directory.members(tenant, [stranger]) == {}


async def test_many_names_at_once(directory, pool, tenant):
    """More than the HTTP adapter asks for in one request, more than the ledger takes."""
    ids = [uuid.uuid4() for _ in range(2 * CHUNK + 150)]
    await pool.execute(
        """INSERT INTO ledger.member_directory (tenant_id, member_id, member_number, name)
           SELECT $1, id, 'N' || ordinality, '成员' || ordinality
           FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, ordinality)""", tenant, ids)
    found = await directory.members(tenant, ids)
    assert len(found) == len(ids)
    assert found[ids[-1]] == Person(f"N{len(ids)}", f"成员{len(ids)}")


# The ledger's two operations

async def test_who_am_i_answers_afresh(ledger_client: httpx.AsyncClient, community: Community,
                                       pool: asyncpg.Pool):
    minted = await TokenStore(pool).mint(community.tenant, label="grid", role="client",
                                         can_write=False, scope_unit_id=community.branch)
    headers = bearer(minted.token)
    answer = await ledger_client.get("/api/v1/tokens/current", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "tenant_id": community.tenant, "token_id": minted.principal.token_id,
        "label": "grid", "role": "client", "organiser_id": None,
        "scope_unit_id": str(community.branch), "can_write": False, "member_id": None}
    # Revoked by another process: the ledger's guard still remembers the token for a few
    # seconds, whoAmI does not.
    await _revoke_elsewhere(pool, minted.principal.token_id)
    refused = await ledger_client.get("/api/v1/tokens/current", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert (await ledger_client.get("/api/v1/tokens/current")).status_code == 401


async def test_names_are_scoped_like_the_other_reads(ledger_client: httpx.AsyncClient,
                                                     community: Community,
                                                     pool: asyncpg.Pool):
    c = community
    member = await register(ledger_client, c, f"M-{uuid.uuid4().hex[:6]}")  # in the branch
    tokens, organisers = TokenStore(pool), Organisers(pool)

    async def scoped(unit: uuid.UUID) -> dict[str, str]:
        return bearer((await tokens.mint(c.tenant, label="grid", role="client",
                                         can_write=False, scope_unit_id=unit)).token)

    body = {"member_ids": [str(member)], "organiser_ids": [str(c.organiser_id)]}

    async def names(headers: dict[str, str]) -> dict:
        answer = await ledger_client.post("/api/v1/names", headers=headers, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    everything = await names(c.reader)
    assert everything["members"] == [{"member_id": str(member), "name": "张三明",
                                      "member_number": everything["members"][0][
                                          "member_number"]}]
    assert everything["organisers"] == [{"organiser_id": str(c.organiser_id),
                                         "name": "王书记"}]
    # The organiser 王书记 belongs to the community: seen from it, not from a branch.
    assert await names(await scoped(c.community)) == everything
    assert await names(await scoped(c.branch)) == {"members": everything["members"],
                                                   "organisers": []}
    assert await names(await scoped(c.other_branch)) == {"members": [], "organisers": []}
    other_organiser = await organisers.add(c.tenant, unit_id=c.other_branch, name="李",
                                           login=f"li-{c.tenant}", password=None)
    body["organiser_ids"].append(str(other_organiser.organiser_id))
    assert (await names(await scoped(c.other_branch)))["organisers"] == [
        {"organiser_id": str(other_organiser.organiser_id), "name": "李"}]

    too_many = {"member_ids": [str(uuid.uuid4()) for _ in range(1001)]}
    refused = await ledger_client.post("/api/v1/names", headers=c.reader, json=too_many)
    assert refused.status_code == 422
    unknown_field = await ledger_client.post("/api/v1/names", headers=c.reader,
                                             json={"members": []})
    assert unknown_field.status_code == 400
