"""The ledger's database role (revision 0007): SELECT and INSERT only on ledger.events.

Both ways the ledger connects: as in development (a superuser login whose pool does
`SET ROLE ledger_writer`), and as in production (a login of its own, member of
ledger_writer, docs/SECURITY.md). Neither may change, delete or truncate events, nor
disable or drop the append-only triggers; both still append, bulk append and keep the
list read models.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from contract.events import ActivityScheduled
from contract.postgres import create_pool
from ledger.adapters.bulk_append import bulk_append
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore
from ledger.config import DATABASE_ROLE
from tests.integration.conftest import as_login, login_of_its_own
from tests.new_events import renamed

REFUSED = [
    "UPDATE ledger.events SET type = 'x' WHERE tenant_id = $1",
    "UPDATE ledger.events SET hash = hash, seal = seal WHERE tenant_id = $1",
    "DELETE FROM ledger.events WHERE tenant_id = $1",
    "TRUNCATE ledger.events",
    "ALTER TABLE ledger.events DISABLE TRIGGER events_append_only",
    "ALTER TABLE ledger.events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_append_only ON ledger.events",
    "DROP TRIGGER events_no_truncate ON ledger.events",
    "ALTER TABLE ledger.events DROP CONSTRAINT events_sealed",
    "DROP TABLE ledger.events",
    # Revision 0012: the key tables only the insert trigger writes, the partitions only
    # reached through ledger.events, the functions that make them.
    "DROP TRIGGER events_keys ON ledger.events",
    "ALTER TABLE ledger.events DISABLE TRIGGER events_keys",
    "INSERT INTO ledger.stream_versions VALUES ($1, 's', 2, now())",
    "INSERT INTO ledger.event_ids VALUES ($1, gen_random_uuid())",
    "DELETE FROM ledger.stream_versions WHERE tenant_id = $1",
    "UPDATE ledger.event_ids SET event_id = event_id WHERE tenant_id = $1",
    "TRUNCATE ledger.stream_versions, ledger.event_ids",
    """INSERT INTO ledger.events_history (tenant_id, event_id, stream_id, version, type,
           schema_version, data, metadata, hash, recorded_at)
       VALUES ($1, gen_random_uuid(), 's', 2, 'UnitRenamed', 1, '{}', '{}', '', '2000-01-01')""",
    "DELETE FROM ledger.events_history WHERE tenant_id = $1",
    "ALTER TABLE ledger.events DETACH PARTITION ledger.events_history",
    "SELECT ledger.add_events_partition('events_2999', 'MINVALUE', 'MAXVALUE')",
    # Replication mode skips ordinary triggers: superusers only.
    "SET session_replication_role = replica",
    "CREATE TABLE ledger.shadow (x int)",
]



@pytest.fixture(params=["set role", "own login"])
async def service_pool(request: pytest.FixtureRequest, database_url: str,
                       pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the ledger opens it (`role=DATABASE_ROLE`)."""
    if request.param == "set role":
        service = await create_pool(database_url, application_name="tests-role", min_size=1,
                                    max_size=2, role=DATABASE_ROLE)
        yield service
        await service.close()
        return
    async with login_of_its_own(database_url, pool, DATABASE_ROLE) as service:
        yield service


@pytest.mark.parametrize("statement", REFUSED)
async def test_the_service_role_cannot_change_events_or_their_guards(
        service_pool: asyncpg.Pool, pool: asyncpg.Pool, tenant: str, statement: str) -> None:
    await PostgresEventStore(service_pool).append(tenant, "s", NO_STREAM, [renamed("a")])
    args = [tenant] if "$1" in statement else []
    with pytest.raises(asyncpg.InsufficientPrivilegeError,
                       match=r"permission denied|must be owner"):
        await service_pool.execute(statement, *args)
    assert await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                               tenant) == 1
    assert {r[0] for r in await pool.fetch("""SELECT tgname FROM pg_trigger
        WHERE tgrelid = 'ledger.events'::regclass AND NOT tgisinternal AND tgenabled = 'O'""")
            } == {"events_append_only", "events_no_truncate", "events_keys"}
    assert await pool.fetchval(
        "SELECT count(*) FROM ledger.stream_versions WHERE tenant_id = $1", tenant) == 1


async def test_the_service_role_appends_and_keeps_the_lists(service_pool: asyncpg.Pool,
                                                            tenant: str) -> None:
    store = PostgresEventStore(service_pool)
    first = await store.append(tenant, "s", NO_STREAM, [renamed("a"), renamed("b")])
    await store.append(tenant, "s", 2, [renamed("c")], previous_hash=first.last_hash)
    activity = uuid.uuid4()
    starts = datetime(2026, 12, 5, 1, tzinfo=UTC)
    scheduled = NewEvent(event_id=uuid.uuid4(), metadata=Metadata(actor="test"),
                         event=ActivityScheduled(
        activity_id=activity, kind="cleanup", category="service", host_unit_id=uuid.uuid4(),
        title="楼道清理", place="3号楼", starts_at=starts, ends_at=starts + timedelta(hours=2),
        capacity=None, hours_cap_minutes=None, organiser_ids=[], beneficiary="居民"))
    result = await bulk_append(service_pool, tenant, [(f"activity-{activity}", NO_STREAM,
                                                       [scheduled])])
    assert result.appended == 1
    assert await store.verify_chain(tenant, "s") is None
    assert await service_pool.fetchval(
        "SELECT title FROM ledger.activity_catalogue WHERE tenant_id = $1 AND activity_id = $2",
        tenant, activity) == "楼道清理"
    assert (await store.feed_status(tenant))["head_position"] > 0


async def test_its_own_login_cannot_leave_the_role(database_url: str, pool: asyncpg.Pool,
                                                   tenant: str) -> None:
    """In production the login itself is restricted: RESET ROLE gains nothing."""
    login, password = f"ledger_test_{uuid.uuid4().hex[:10]}", secrets.token_hex(16)
    await pool.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{password}' IN ROLE {DATABASE_ROLE}")
    try:
        connection = await asyncpg.connect(as_login(database_url, login, password))
        try:
            await connection.execute("RESET ROLE")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute("DELETE FROM ledger.events WHERE tenant_id = $1",
                                         tenant)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute("SET ROLE postgres")
        finally:
            await connection.close()
    finally:
        await pool.execute(f"DROP ROLE {login}")


async def test_a_login_outside_the_role_is_told_why(database_url: str,
                                                    pool: asyncpg.Pool) -> None:
    login, password = f"ledger_test_{uuid.uuid4().hex[:10]}", secrets.token_hex(16)
    await pool.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{password}'")
    try:
        with pytest.raises(RuntimeError, match=f"GRANT {DATABASE_ROLE} TO"):
            await create_pool(as_login(database_url, login, password),
                              application_name="tests-role", min_size=1, role=DATABASE_ROLE)
    finally:
        await pool.execute(f"DROP ROLE {login}")

async def test_the_service_role_makes_partitions_ahead_and_cannot_pass_the_keys_by(
        service_pool: asyncpg.Pool, pool: asyncpg.Pool, tenant: str) -> None:
    """`ledger.ensure_partitions` runs as the owner: the role that may not create a table
    still gets next year's partition made (and no privilege on it); an event it inserts
    by hand, past the store, still meets the keys."""
    next_year = datetime.now(UTC).year + 1
    await service_pool.fetchval("SELECT ledger.ensure_partitions(12)")
    assert await pool.fetchval("SELECT to_regclass($1)::text",
                               f"ledger.events_{next_year}") == f"ledger.events_{next_year}"
    assert not any([await pool.fetchval("SELECT has_table_privilege($1, $2, $3)",
                                        DATABASE_ROLE, f"ledger.events_{next_year}", right)
                    for right in ("SELECT", "INSERT", "UPDATE", "DELETE")])
    assert await service_pool.fetchval("SELECT ledger.ensure_partitions(12)") == 0
    store = PostgresEventStore(
        service_pool, clock=lambda: datetime(next_year, 1, 2, tzinfo=UTC))
    await PostgresEventStore(service_pool).append(tenant, "s", NO_STREAM, [renamed("a")])
    await store.append(tenant, "s", 1, [renamed("next year")])
    assert [r["tableoid"] for r in await pool.fetch(
        """SELECT tableoid::regclass::text AS tableoid FROM ledger.events
           WHERE tenant_id = $1 ORDER BY version""", tenant)][1] == f"ledger.events_{next_year}"
    assert await store.stream_version(tenant, "s") == 2
    with pytest.raises(asyncpg.UniqueViolationError) as clash:
        await service_pool.execute(
            """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
                   schema_version, data, metadata, hash)
               VALUES ($1, gen_random_uuid(), 's', 2, 'UnitRenamed', 1, '{}', '{}', '')""",
            tenant)
    assert clash.value.constraint_name == "stream_versions_pkey"
    assert await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                               tenant) == 2
