"""Running an import: load what the rules need, plan, then append through `bulk_append`.

All or nothing by default: one invalid row and nothing is appended. With `only_valid`,
activities whose rows are all valid are appended and the others reported. An activity is
never split. Batches commit one by one (see `bulk_append`), so all-or-nothing holds for
what the checks can see; the checks include the events an earlier import already stored,
which is what makes a re-run append nothing rather than fail half-way.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import asyncpg
import msgspec

from contract.events import Event, canonical_json, decode_data, encode_data, event_type, upcast
from contract.problems import forbidden
from ledger.adapters.bulk_append import DEFAULT_BATCH_SIZE, BulkResult, StreamEntry, bulk_append
from ledger.adapters.chain import CHAIN_VERSIONS, GENESIS_HASH, chain_hash
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent
from ledger.domain import activities, members, organisation
from ledger.domain.activities import ActivityState, Busy, Organiser
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree
from ledger.handlers import Actor
from ledger.imports.plan import Context, Plan, PlannedActivity, activity_id, plan
from ledger.imports.rows import Format, Row, RowError, parse

WRITERS = 2
# A file with a systematic mistake has one error per row; the first ones tell the story.
MAX_ERRORS = 1000


class ImportSummary(msgspec.Struct, kw_only=True):
    dry_run: bool
    rows: int
    activities: int
    # Activities left out because one of their rows is invalid (only with only_valid).
    activities_invalid: int
    events: int
    events_appended: int
    # Stored already by an earlier import of the same records.
    events_skipped: int
    minutes_credited: int
    error_count: int
    errors: list[RowError]


_STREAMS = """SELECT stream_id, type, schema_version, data FROM ledger.events
    WHERE tenant_id = $1 AND stream_id = ANY($2::text[]) ORDER BY stream_id, version"""

# For each of this file's activities: whether its stream exists (version 1), and the event
# at the version its planned events would end at (its hash, and what else the hash covers).
_STORED = """SELECT e.stream_id, e.version, e.hash, e.chain_version, e.metadata, e.recorded_at
FROM unnest($2::text[], $3::int[]) AS s(stream_id, planned)
JOIN ledger.events e ON e.tenant_id = $1 AND e.stream_id = s.stream_id
    AND e.version IN (1, s.planned)"""

_STREAM_START = """SELECT event_id, type, schema_version, data FROM ledger.events
    WHERE tenant_id = $1 AND stream_id = $2 AND version <= $3 ORDER BY version"""

_MEMBERS = """SELECT member_number, member_id FROM ledger.member_directory
    WHERE tenant_id = $1 AND member_number = ANY($2::text[]) AND erased_at IS NULL"""

_ORGANISERS = """SELECT login, organiser_id, unit_id FROM ledger.organisers
    WHERE tenant_id = $1 AND login = ANY($2::text[])"""

# The activities these members checked in to around the imported period (the overlap
# rule's candidates); the predicate on type lets the member index serve it.
_MEMBER_ACTIVITIES = """SELECT DISTINCT stream_id FROM ledger.events
    WHERE tenant_id = $1 AND type = 'CheckedIn'
      AND (data->>'member_id')::uuid = ANY($2::uuid[])
      AND (data->>'at')::timestamptz BETWEEN $3 AND $4"""


async def _streams(connection: asyncpg.Connection, tenant_id: str,
                   stream_ids: list[str]) -> dict[str, list]:
    events: dict[str, list] = defaultdict(list)
    for row in await connection.fetch(_STREAMS, tenant_id, stream_ids):
        events[row["stream_id"]].append(
            decode_data(row["type"], row["schema_version"], row["data"]))
    return events


async def load_context(connection: asyncpg.Connection, actor: Actor, rows: list[Row], *,
                       now: datetime, grace: timedelta) -> Context:
    importer = _importer(actor)
    tenant = actor.tenant_id
    tree = OrgTree()
    for event in (await _streams(connection, tenant, [organisation.STREAM]))[organisation.STREAM]:
        tree.apply(event)
    numbers = sorted({row.member_number for row in rows})
    ids = {r["member_number"]: r["member_id"]
           for r in await connection.fetch(_MEMBERS, tenant, numbers)}
    member_events = await _streams(connection, tenant,
                                   [members.stream_id(i) for i in ids.values()])
    found: dict[str, MemberState] = {}
    for number, member_id in ids.items():
        state = MemberState.fold(member_events.get(members.stream_id(member_id), []))
        if state is not None:
            found[number] = state
    logins = sorted({row.confirmed_by for row in rows if row.confirmed_by})
    organisers = {r["login"]: Organiser(r["organiser_id"], r["unit_id"])
                  for r in await connection.fetch(_ORGANISERS, tenant, logins)}
    busy = await _stored_participation(connection, tenant, rows, found)
    return Context(tenant_id=tenant, importer=importer, tree=tree, members=found,
                   organisers=organisers, busy=busy, now=now, grace=grace)


def _importer(actor: Actor) -> Organiser:
    if not actor.can_write:
        raise forbidden("此令牌只读", "this token is read-only")
    if actor.organiser is None:
        raise forbidden("只有组织者可以导入记录", "only an organiser may import records")
    return actor.organiser


async def _stored_participation(connection: asyncpg.Connection, tenant_id: str,
                                rows: list[Row], found: dict[str, MemberState]
                                ) -> dict[uuid.UUID, list[Busy]]:
    member_ids = sorted({found[r.member_number].member_id for r in rows
                         if r.member_number in found})
    if not member_ids:
        return {}
    span = activities.MAX_DURATION
    since = min(r.checked_in_at for r in rows) - span
    until = max(r.checked_out_at for r in rows) + span
    # This file's own activities, stored by an earlier run, are not "elsewhere".
    ours = {activities.stream_id(activity_id(tenant_id, r.activity_ref)) for r in rows}
    stream_ids = [r["stream_id"] for r in
                  await connection.fetch(_MEMBER_ACTIVITIES, tenant_id, member_ids, since, until)
                  if r["stream_id"] not in ours]
    wanted = set(member_ids)
    busy: dict[uuid.UUID, list[Busy]] = defaultdict(list)
    for events in (await _streams(connection, tenant_id, stream_ids)).values():
        state = ActivityState.fold(events)
        if state is None:
            continue
        for member_id in {p.member_id for p in state.participations.values()} & wanted:
            busy[member_id] += activities.busy_spans(state, member_id)
    return busy


def _chain(stream_id: str, events: list[tuple[uuid.UUID, Event]], stored: asyncpg.Record
           ) -> bytes | None:
    """The hash the last of these events has when they are the whole stream so far, written
    as `stored` (the stored event at that version) was: an import appends a stream in one
    batch, so its events share one metadata and one recorded_at. None for a chain version
    this code does not know."""
    if stored["chain_version"] not in CHAIN_VERSIONS:
        return None
    metadata = canonical_json(msgspec.json.decode(stored["metadata"]))
    previous = GENESIS_HASH
    for version, (event_id, event) in enumerate(events, start=1):
        previous = chain_hash(previous, event_id, stream_id, version, event_type(event),
                              event.VERSION, encode_data(event),
                              chain_version=stored["chain_version"], metadata=metadata,
                              recorded_at=stored["recorded_at"])
    return previous


async def _check_stored(connection: asyncpg.Connection, tenant_id: str,
                        result: Plan) -> set[str]:
    """The refs of activities an earlier import stored already, exactly as planned; an
    activity_ref whose stream holds other events (a different activity, or other rows) is
    an error, found before anything is written.

    The chain hash of the planned last event covers every planned event, so one stored
    event per stream says whether the stream begins with exactly these events; when it
    does not (another metadata or recording time along the stream, an older schema
    version), the stream's events are compared one by one.
    """
    by_stream = {activities.stream_id(a.activity_id): a for a in result.activities}
    lengths = [len(a.events) for a in by_stream.values()]
    stored: dict[str, dict[int, asyncpg.Record]] = defaultdict(dict)
    for row in await connection.fetch(_STORED, tenant_id, list(by_stream), lengths):
        stored[row["stream_id"]][row["version"]] = row
    already: set[str] = set()
    for stream_id, rows in stored.items():
        planned = by_stream[stream_id]
        last = rows.get(len(planned.events))
        if (last is not None
                and _chain(stream_id, planned.events, last) == bytes(last["hash"])) or (
                await _stored_as_planned(connection, tenant_id, stream_id, planned.events)):
            already.add(planned.ref)
            continue
        result.invalid_refs.add(planned.ref)
        result.errors.append(RowError(
            row=planned.rows[0], field="activity_ref", code="activity_ref_taken",
            zh="该活动编号已导入过不同的内容；如需修改请提交更正",
            en="this activity_ref was imported before with other content; record "
               "corrections instead"))
    return already


async def _stored_as_planned(connection: asyncpg.Connection, tenant_id: str, stream_id: str,
                             events: list[tuple[uuid.UUID, Event]]) -> bool:
    """Whether the stream begins with these events, compared in today's shape: an import
    stored before a schema version bump hashes differently yet holds the same records."""
    rows = await connection.fetch(_STREAM_START, tenant_id, stream_id, len(events))
    return len(rows) == len(events) and all(
        row["event_id"] == event_id and row["type"] == event_type(event)
        and upcast(row["type"], row["schema_version"], msgspec.json.decode(row["data"]))
        == msgspec.json.decode(encode_data(event))
        for row, (event_id, event) in zip(rows, events, strict=True))


_pauses = 0
_enabled_before = True


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while imports run.

    An import holds hundreds of thousands of rows and events, none of them in cycles, and
    every full collection walks all of them again: that made a 100,000-row import several
    times slower. Reference counting still frees everything. Imports may overlap (hence
    the count), and a collector that was off before stays off.
    """
    global _pauses, _enabled_before
    if _pauses == 0:
        _enabled_before = gc.isenabled()
        gc.disable()
    _pauses += 1
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _enabled_before:
            gc.enable()


async def import_records(
    pool: asyncpg.Pool, actor: Actor, source: bytes, fmt: Format, *,
    now: datetime, grace: timedelta, dry_run: bool = False, only_valid: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str, int], None] | None = None,
) -> ImportSummary:
    """Validate every row; append unless dry_run or (without only_valid) any row is bad.

    `progress(stage, count)` hears "validated" (rows) once and "written" (events) per batch.
    """
    _importer(actor)
    with _collector_paused():
        return await _import(pool, actor, source, fmt, now=now, grace=grace, dry_run=dry_run,
                             only_valid=only_valid, batch_size=batch_size, progress=progress)


async def _import(
    pool: asyncpg.Pool, actor: Actor, source: bytes, fmt: Format, *, now: datetime,
    grace: timedelta, dry_run: bool, only_valid: bool, batch_size: int,
    progress: Callable[[str, int], None] | None,
) -> ImportSummary:
    # Parsing and planning take seconds for a large file: in a thread, the server's event
    # loop keeps answering other requests meanwhile.
    parsed = await asyncio.to_thread(parse, source, fmt)
    async with pool.acquire() as connection:
        ctx = await load_context(connection, actor, parsed.rows, now=now, grace=grace)
    result = await asyncio.to_thread(plan, parsed.rows, ctx, parsed.spoiled_refs)
    result.errors[:0] = parsed.errors
    async with pool.acquire() as connection:
        already = await _check_stored(connection, actor.tenant_id, result)
    result.errors.sort(key=lambda e: e.row)
    if progress is not None:
        progress("validated", parsed.records)
    valid = [a for a in result.activities if a.ref not in result.invalid_refs]
    # Activities stored whole already are left out here rather than skipped by the writer,
    # which would read and compare every one of their events again.
    pending = [a for a in valid if a.ref not in already]
    written = BulkResult()
    if not dry_run and (only_valid or not result.errors) and pending:
        written = await _append(pool, actor, pending, batch_size, progress)
    return ImportSummary(
        dry_run=dry_run, rows=parsed.records, activities=len(valid),
        activities_invalid=len({r for r in result.invalid_refs if r}),
        events=sum(len(a.events) for a in valid), events_appended=written.appended,
        events_skipped=written.skipped + sum(len(a.events) for a in valid
                                             if a.ref in already),
        minutes_credited=sum(a.minutes for a in valid),
        error_count=len(result.errors), errors=result.errors[:MAX_ERRORS],
    )


async def _append(pool: asyncpg.Pool, actor: Actor, planned: list[PlannedActivity],
                  batch_size: int, progress: Callable[[str, int], None] | None,
                  ) -> BulkResult:
    """Two writers on disjoint activities: while one waits for its COPY, the other encodes
    and hashes its next batch, so this process and PostgreSQL work at the same time."""
    parts = [planned[i::WRITERS] for i in range(WRITERS)]
    done = [BulkResult() for _ in parts]

    def report(part: int) -> Callable[[BulkResult], None]:
        def heard(result: BulkResult) -> None:
            done[part] = result
            if progress is not None:
                progress("written", sum(r.appended for r in done))
        return heard

    results = await asyncio.gather(*(
        bulk_append(pool, actor.tenant_id, _entries(actor, part), batch_size=batch_size,
                    progress=report(i))
        for i, part in enumerate(parts) if part))
    return BulkResult(appended=sum(r.appended for r in results),
                      skipped=sum(r.skipped for r in results),
                      batches=sum(r.batches for r in results))


def _entries(actor: Actor, planned: list[PlannedActivity]) -> Iterator[StreamEntry]:
    metadata = Metadata(actor=actor.name, source="import", request_id=actor.request_id)
    for activity in planned:
        yield (activities.stream_id(activity.activity_id), NO_STREAM,
               [NewEvent(event_id=i, event=e, metadata=metadata) for i, e in activity.events])
