"""One contract for every writer of `ledger.events`: the event store's append, the bulk
COPY writer, and the import (which plans from rows and writes through the bulk writer).
Whatever writes, the table must hold contiguous streams whose hash chains and seals verify,
stamped with the writer's own clock, writing again must add nothing, the feed must hand out
every event once, a later append must continue the chain, and rows and list read models
must equal those that appending the same events one command at a time gives.

The hash covers `recorded_at`, so that reference append is made at the instants the writer
under test recorded: its store's clock answers, for each entry, the one instant the writer
stamped that entry's events with (a writer records an entry's events together). The seal
binds the tenant too, so the reference's seals are not the same bytes: each side's seals
must be the key's over its (equal) hashes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import msgspec
import pytest

from contract.events import UnitRenamed, decode_data
from infra.demo.generator.history import streams
from infra.demo.generator.plan import build
from ledger import seal_keys
from ledger.adapters.bulk_append import StreamEntry, bulk_append
from ledger.adapters.chain import CHAIN_VERSION
from ledger.adapters.directory import MemberDirectory, Organisers
from ledger.adapters.event_store import (
    ANY,
    Metadata,
    NewEvent,
    PostgresEventStore,
    first_broken_link,
)
from ledger.domain import members, organisation
from ledger.handlers import Actor, Ledger
from ledger.imports.run import import_records
from tests.integration.test_imports import csv, row

# Every list read model the writers keep (ledger.adapters.catalogue).
READ_MODELS = {
    "activity_catalogue": "activity_id",
    "member_catalogue": "member_id",
    "activity_participants": "activity_id, member_id",
    "correction_requests": "request_id",
    "honor_roll_catalogue": "unit_id, month",
}


async def new_tenant(pool: asyncpg.Pool) -> str:
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '测试区')",
                       tenant_id)
    return tenant_id


@dataclass
class Written:
    tenant: str
    # The streams the writer wrote, as entries that can be appended again elsewhere.
    entries: list[StreamEntry]
    # Writes the same input again; returns how many events that appended.
    again: Callable[[], Awaitable[int]]
    # Before the writer wrote.
    started: datetime


class Recording:
    """A store's clock set to the instant another writer recorded the entry appended next."""

    def __init__(self, recorded: dict[uuid.UUID, datetime]) -> None:
        self.recorded = recorded
        self.now: datetime | None = None

    def entry(self, events: Sequence[NewEvent]) -> None:
        instants = {self.recorded[new.event_id] for new in events}
        assert len(instants) == 1, "a writer records an entry's events at one instant"
        self.now = instants.pop()

    def __call__(self) -> datetime:
        assert self.now is not None
        return self.now


async def append_each(pool: asyncpg.Pool, tenant: str, entries: list[StreamEntry],
                      recording: Recording | None = None) -> int:
    store = (PostgresEventStore(pool) if recording is None
             else PostgresEventStore(pool, clock=recording))
    appended = 0
    for stream_id, expected, events in entries:
        if recording is not None:
            recording.entry(events)
        result = await store.append(tenant, stream_id, expected, events)
        appended += 0 if result.replayed else len(events)
    return appended


def demo_entries() -> list[StreamEntry]:
    return list(streams(build("demo")))


async def write_by_append(pool: asyncpg.Pool) -> Written:
    tenant, entries, started = await new_tenant(pool), demo_entries(), datetime.now(UTC)
    await append_each(pool, tenant, entries)
    return Written(tenant, entries, lambda: append_each(pool, tenant, entries), started)


async def write_by_bulk_append(pool: asyncpg.Pool) -> Written:
    tenant, entries, started = await new_tenant(pool), demo_entries(), datetime.now(UTC)

    async def write() -> int:
        return (await bulk_append(pool, tenant, entries, batch_size=500)).appended

    await write()
    return Written(tenant, entries, write, started)


async def write_by_import(pool: asyncpg.Pool) -> Written:
    """A community with members set up through the use cases, then a file of activities."""
    tenant, started = await new_tenant(pool), datetime.now(UTC)
    ledger = Ledger(PostgresEventStore(pool), MemberDirectory(pool), Organisers(pool))
    admin = Actor(tenant_id=tenant, name="admin", can_write=True)
    unit = None
    for kind, name in (("district", "新罗区"), ("street", "东城街道"),
                       ("community", "兴华南里社区"), ("branch", "第一党支部")):
        unit = (await ledger.units.establish(admin, organisation.EstablishUnit(
            kind=kind, parent_id=unit, name=name, effective=date(2020, 1, 1)))).created_id
    for number in ("IM-1", "IM-2"):
        await ledger.members.register(admin, members.RegisterMember(
            kind="retired", registered_on=date(2024, 1, 1), member_number=number,
            name="张三", unit_id=unit))
    where = SimpleNamespace(branch=unit)
    source = csv(
        row(where, member_number="IM-1"),
        row(where, member_number="IM-2", checked_in_at="2025-03-08T09:30:00", minutes="45"),
        row(where, activity_ref="2025-03-forum", activity_title="党员座谈会", kind="forum",
            category="attendance", place="活动室", hours_cap_minutes="",
            starts_at="2025-03-08T14:00:00+08:00", ends_at="2025-03-08T15:30:00+08:00",
            checked_in_at="2025-03-08T14:00:00+08:00",
            checked_out_at="2025-03-08T15:30:00+08:00"),
    )
    importer = Actor(tenant_id=tenant, name="importer", role="organiser", can_write=True,
                     source="import", organiser_id=uuid.uuid4(), scope_unit_id=unit)

    async def write() -> int:
        summary = await import_records(pool, importer, source, "csv",
                                       now=datetime(2025, 4, 1, tzinfo=UTC),
                                       grace=timedelta(minutes=30))
        assert summary.error_count == 0, summary.errors
        return summary.events_appended

    assert await write() == 13
    # What the import wrote, as entries: its activity streams, read back.
    store, entries = PostgresEventStore(pool), []
    ids = await pool.fetch("""SELECT DISTINCT stream_id FROM ledger.events
        WHERE tenant_id = $1 AND starts_with(stream_id, 'activity-') ORDER BY 1""", tenant)
    for record in ids:
        stored = await store.read_stream(tenant, record["stream_id"])
        entries.append((record["stream_id"], 0, [
            NewEvent(event_id=e.event_id, event=decode_data(e.type, e.schema_version, e.data),
                     metadata=msgspec.json.decode(e.metadata, type=Metadata))
            for e in stored]))
    return Written(tenant, entries, write, started)


WRITERS = {"append": write_by_append, "bulk_append": write_by_bulk_append,
           "import": write_by_import}


@pytest.fixture(scope="module")
async def written(pool: asyncpg.Pool) -> dict[str, Written]:
    return {name: await write(pool) for name, write in WRITERS.items()}


@pytest.fixture(params=list(WRITERS))
def writer(request: pytest.FixtureRequest, written: dict[str, Written]) -> Written:
    return written[request.param]


def _stream_ids(w: Written) -> list[str]:
    return list(dict.fromkeys(stream_id for stream_id, _, _ in w.entries))


async def test_every_stream_is_contiguous_and_its_chain_verifies(pool: asyncpg.Pool,
                                                                 writer: Written) -> None:
    store = PostgresEventStore(pool)
    for stream_id in _stream_ids(writer):
        stream = await store.read_stream(writer.tenant, stream_id)
        assert [e.version for e in stream] == list(range(1, len(stream) + 1)), stream_id
        assert first_broken_link(stream) is None, stream_id
    expected = sum(len(events) for _, _, events in writer.entries)
    assert await pool.fetchval("""SELECT count(*) FROM ledger.events WHERE tenant_id = $1
        AND stream_id = ANY($2::text[])""", writer.tenant, _stream_ids(writer)) == expected


async def test_writing_again_appends_nothing(pool: asyncpg.Pool, writer: Written) -> None:
    before = await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                                 writer.tenant)
    assert await writer.again() == 0
    assert await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                               writer.tenant) == before


async def test_the_feed_hands_out_every_event_once(pool: asyncpg.Pool, writer: Written) -> None:
    store = PostgresEventStore(pool)
    total = await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                                writer.tenant)
    seen: list[uuid.UUID] = []
    cursor = None
    for _ in range(500):
        page = await store.read_feed(writer.tenant, after=cursor, limit=1000)
        seen += [e.event_id for e in page.events]
        cursor = page.next_cursor
        if len(seen) >= total:
            break
        if not page.events:
            await asyncio.sleep(0.02)
    assert len(seen) == len(set(seen)) == total


async def test_a_later_append_continues_the_chain(pool: asyncpg.Pool, writer: Written) -> None:
    store = PostgresEventStore(pool)
    stream_id = _stream_ids(writer)[-1]
    await store.append(writer.tenant, stream_id, ANY, [NewEvent(
        event_id=uuid.uuid4(), metadata=Metadata(actor="test"),
        event=UnitRenamed(unit_id=uuid.UUID(int=1), name="x", effective=date(2026, 1, 1)))])
    assert first_broken_link(await store.read_stream(writer.tenant, stream_id)) is None


async def _stored(pool: asyncpg.Pool, tenant: str, w: Written) -> list[asyncpg.Record]:
    """The rows of the entries' events (other tests append more to these streams)."""
    ids = [new.event_id for _, _, events in w.entries for new in events]
    return await pool.fetch("""SELECT event_id, stream_id, version, type, schema_version,
            data::text, metadata::text, recorded_at, chain_version, hash, seal
        FROM ledger.events
        WHERE tenant_id = $1 AND event_id = ANY($2::uuid[]) ORDER BY stream_id, version""",
                            tenant, ids)


async def _rows(pool: asyncpg.Pool, tenant: str, w: Written) -> list[tuple]:
    """Every column a writer chooses, but the seal, after checking the seals: each is the
    key's over the row's hash (and tenant)."""
    sealer, rows = seal_keys.load(), await _stored(pool, tenant, w)
    assert all(sealer.check_seal(tenant, bytes(r["hash"]), bytes(r["seal"])) for r in rows)
    return [tuple(r)[:-1] for r in rows]


async def test_every_event_is_sealed_and_stamped_by_the_writer(pool: asyncpg.Pool,
                                                               writer: Written) -> None:
    rows = await _stored(pool, writer.tenant, writer)
    sealer = seal_keys.load()
    assert {r["chain_version"] for r in rows} == {CHAIN_VERSION}
    assert all(sealer.check_seal(writer.tenant, bytes(r["hash"]), bytes(r["seal"]))
               for r in rows)
    assert all(writer.started <= r["recorded_at"] <= datetime.now(UTC) for r in rows)


async def _read_models(pool: asyncpg.Pool, tenant: str) -> dict[str, list[str]]:
    return {table: [r[0] for r in await pool.fetch(
        f"SELECT (to_jsonb(t) - 'tenant_id')::text FROM ledger.{table} t "
        f"WHERE tenant_id = $1 ORDER BY {key}", tenant)]
        for table, key in READ_MODELS.items()}


@pytest.mark.parametrize("name", [name for name in WRITERS if name != "append"])
async def test_rows_and_read_models_equal_appending_one_command_at_a_time(
        pool: asyncpg.Pool, written: dict[str, Written], name: str) -> None:
    w = written[name]
    reference = await new_tenant(pool)
    recorded = {r["event_id"]: r["recorded_at"] for r in await _stored(pool, w.tenant, w)}
    await append_each(pool, reference, w.entries, Recording(recorded))
    assert await _rows(pool, w.tenant, w) == await _rows(pool, reference, w)
    ours, theirs = await _read_models(pool, w.tenant), await _read_models(pool, reference)
    if name == "import":
        # The import's tenant also holds the members registered before it: compare what
        # the import's streams produced.
        ours = {t: [r for r in rows if '"activity_id"' in r] for t, rows in ours.items()}
    assert ours == theirs
    assert any(theirs.values())
