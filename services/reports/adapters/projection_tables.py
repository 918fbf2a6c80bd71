"""Loading and saving each projection's rows: set-based statements over unnest'ed arrays.

One statement per table per batch, whatever the batch size: that is what keeps a rebuild
close to the speed of reading the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
import msgspec

from reports.adapters.schema import qualify
from reports.domain.honor_roll_log import HonorRollBatch
from reports.domain.members import MemberRow, MembersBatch
from reports.domain.organisation import OrganisationBatch, UnitRow
from reports.domain.participation import ActivityRow, ParticipationBatch, ParticipationRow
from reports.domain.projection import Keys
from reports.domain.timeline import Change, Timeline


def _columns(rows: Iterable[tuple], width: int) -> list[list]:
    """Rows -> one list per column, as unnest() takes them."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    return columns or [[] for _ in range(width)]


async def _replace_timelines(connection: asyncpg.Connection, schema: str, table: str,
                             key: str, value: str, tenant_id: str,
                             timelines: dict[uuid.UUID, Timeline]) -> None:
    """Rewrite the intervals of the given keys from their change points."""
    await connection.execute(
        qualify(schema, f"DELETE FROM {{s}}.{table} WHERE tenant_id = $1 AND {key} = ANY($2)"),
        tenant_id, list(timelines),
    )
    rows = [(k, start, end, v) for k, timeline in timelines.items()
            for start, end, v in timeline.intervals()]
    await connection.execute(
        qualify(schema, f"""INSERT INTO {{s}}.{table} (tenant_id, {key}, valid_from, valid_to,
                {value})
            SELECT $1, * FROM unnest($2::uuid[], $3::date[], $4::date[], $5::uuid[])"""),
        tenant_id, *_columns(rows, 4),
    )


async def _copy_changes(connection: asyncpg.Connection, schema: str, table: str, key: str,
                        value: str, tenant_id: str, changes: list[Change]) -> None:
    """Append the batch's change points to the table's log (insert-only, keyed by feed
    position): COPY, the cheapest way in."""
    if changes:
        await connection.copy_records_to_table(
            table, schema_name=qualify(schema, "{s}"),
            columns=("tenant_id", key, "position", "effective", value, "known_from"),
            records=[(tenant_id, c.key, c.position, c.effective, c.value, c.known_from)
                     for c in changes],
        )


async def _load_timelines(connection: asyncpg.Connection, schema: str, table: str, key: str,
                          value: str, tenant_id: str, keys: set) -> dict[uuid.UUID, Timeline]:
    rows = await connection.fetch(
        qualify(schema, f"""SELECT {key} AS k, valid_from, {value} AS v FROM {{s}}.{table}
            WHERE tenant_id = $1 AND {key} = ANY($2)"""),
        tenant_id, list(keys),
    )
    timelines: dict[uuid.UUID, Timeline] = {}
    for row in rows:
        timelines.setdefault(row["k"], Timeline()).set(row["valid_from"], row["v"])
    return timelines


# --- organisation -------------------------------------------------------------------------


async def load_organisation(connection: asyncpg.Connection, schema: str, tenant_id: str,
                            batch: OrganisationBatch, keys: Keys) -> None:
    units = keys.get("units")
    if not units:
        return
    rows = await connection.fetch(
        qualify(schema, """SELECT unit_id, kind, name, established, ended FROM {s}.units
            WHERE tenant_id = $1 AND unit_id = ANY($2)"""),
        tenant_id, list(units),
    )
    batch.units.update({row["unit_id"]: UnitRow(*row) for row in rows})
    batch.parents.update(await _load_timelines(connection, schema, "unit_parents", "unit_id",
                                               "parent_id", tenant_id, units))


async def save_organisation(connection: asyncpg.Connection, schema: str, tenant_id: str,
                            batch: OrganisationBatch) -> None:
    if not batch.changed:
        return
    rows = [(u.unit_id, u.kind, u.name, u.established, u.ended)
            for unit_id in batch.changed if (u := batch.units.get(unit_id))]
    await connection.execute(
        qualify(schema, """INSERT INTO {s}.units (tenant_id, unit_id, kind, name, established,
                ended)
            SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::date[])
            ON CONFLICT (tenant_id, unit_id) DO UPDATE SET kind = excluded.kind,
                name = excluded.name, established = excluded.established,
                ended = excluded.ended"""),
        tenant_id, *_columns(rows, 5),
    )
    await _replace_timelines(connection, schema, "unit_parents", "unit_id", "parent_id",
                             tenant_id, {k: batch.parents[k] for k in batch.changed
                                         if k in batch.parents})
    await _copy_changes(connection, schema, "unit_parent_changes", "unit_id", "parent_id",
                        tenant_id, batch.changes)


# --- members ------------------------------------------------------------------------------


async def load_members(connection: asyncpg.Connection, schema: str, tenant_id: str,
                       batch: MembersBatch, keys: Keys) -> None:
    members = keys.get("members")
    if not members:
        return
    rows = await connection.fetch(
        qualify(schema, """SELECT member_id, kind, employer, registered_on, left_on
            FROM {s}.members WHERE tenant_id = $1 AND member_id = ANY($2)"""),
        tenant_id, list(members),
    )
    batch.members.update({row["member_id"]: MemberRow(*row) for row in rows})
    batch.units.update(await _load_timelines(connection, schema, "memberships", "member_id",
                                             "unit_id", tenant_id, members))


async def save_members(connection: asyncpg.Connection, schema: str, tenant_id: str,
                       batch: MembersBatch) -> None:
    if not batch.changed:
        return
    rows = [(m.member_id, m.kind, m.employer, m.registered_on, m.left_on)
            for member_id in batch.changed if (m := batch.members.get(member_id))]
    await connection.execute(
        qualify(schema, """INSERT INTO {s}.members (tenant_id, member_id, kind, employer,
                registered_on, left_on)
            SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::date[])
            ON CONFLICT (tenant_id, member_id) DO UPDATE SET kind = excluded.kind,
                employer = excluded.employer, registered_on = excluded.registered_on,
                left_on = excluded.left_on"""),
        tenant_id, *_columns(rows, 5),
    )
    await _replace_timelines(connection, schema, "memberships", "member_id", "unit_id",
                             tenant_id, {k: batch.units[k] for k in batch.changed
                                         if k in batch.units})
    await _copy_changes(connection, schema, "membership_changes", "member_id", "unit_id",
                        tenant_id, batch.changes)


# --- participation ------------------------------------------------------------------------

# The columns loaded into the rows, in their fields' order. Saving an activity appends the
# derived `cancelled`, in the order of the tuples save_participation builds; a
# participation's are its fields. (`local_date`, the Shanghai date, is a generated column:
# PostgreSQL computes it.)
_ACTIVITY = ("activity_id", "kind", "category", "host_unit_id", "title", "place", "starts_at",
             "ends_at", "cancelled_at", "closed_at")
_PARTICIPATION = ParticipationRow.__struct_fields__
_PARTICIPATION_COLUMNS = ", ".join(_PARTICIPATION)
# Loaded with their ids as text, as the fold keeps them (participation.Id).
_ACTIVITY_LOADED = ", ".join(f"{c}::text" if c in ("activity_id", "host_unit_id") else c
                             for c in _ACTIVITY)
_PARTICIPATION_LOADED = ", ".join(
    f"{c}::text" if c in ("participation_id", "activity_id", "member_id", "confirmed_by")
    else c for c in _PARTICIPATION)
_ACTIVITY_SAVED = (*_ACTIVITY, "cancelled")


async def load_participation(connection: asyncpg.Connection, schema: str, tenant_id: str,
                             batch: ParticipationBatch, keys: Keys) -> None:
    if activities := keys.get("activities"):
        rows = await connection.fetch(
            qualify(schema, f"""SELECT {_ACTIVITY_LOADED} FROM {{s}}.activities
                WHERE tenant_id = $1 AND activity_id = ANY($2)"""),
            tenant_id, list(activities),
        )
        batch.activities.update({row["activity_id"]: ActivityRow(*row) for row in rows})
    if participations := keys.get("participations"):
        rows = await connection.fetch(
            qualify(schema, f"""SELECT {_PARTICIPATION_LOADED} FROM {{s}}.participations
                WHERE tenant_id = $1 AND participation_id = ANY($2)"""),
            tenant_id, list(participations),
        )
        batch.participations.update(
            {row["participation_id"]: ParticipationRow(*row) for row in rows}
        )


_UPSERT_ACTIVITIES = f"""INSERT INTO {{s}}.activities (tenant_id, {", ".join(_ACTIVITY_SAVED)})
    SELECT $1, a.*
    FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
                $12::bool[]) AS a
    ON CONFLICT (tenant_id, activity_id) DO UPDATE SET
        starts_at = excluded.starts_at, ends_at = excluded.ends_at, place = excluded.place,
        title = excluded.title, cancelled = excluded.cancelled,
        cancelled_at = excluded.cancelled_at, closed_at = excluded.closed_at"""

_UPSERT_PARTICIPATIONS = f"""INSERT INTO {{s}}.participations (tenant_id,
        {_PARTICIPATION_COLUMNS})
    SELECT $1, p.*
    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[],
                $8::timestamptz[], $9::bool[], $10::int[], $11::uuid[], $12::timestamptz[],
                $13::bool[], $14::bool[], $15::int[]) AS p
    ON CONFLICT (tenant_id, participation_id) DO UPDATE SET
        checked_out_at = excluded.checked_out_at, auto_checkout = excluded.auto_checkout,
        minutes = excluded.minutes, confirmed_by = excluded.confirmed_by,
        confirmed_at = excluded.confirmed_at, corrected = excluded.corrected,
        revoked = excluded.revoked, confirmed_minutes = excluded.confirmed_minutes"""


async def _save_rows(connection: asyncpg.Connection, schema: str, tenant_id: str,
                     upsert: str, row: Callable[[Any], tuple],
                     copy: Callable[[list], Awaitable[None]], created: list,
                     changed: list) -> None:
    """Rows the batch created go in by COPY (`copy`), the cheapest way; changed ones are
    upserted (as the tuples `row` makes).

    Should a created row exist after all (an id the ledger reused), the COPY fails and its
    rows are upserted instead: the projection never stops on it.
    """
    if created:
        try:
            async with connection.transaction():
                await copy(created)
        except asyncpg.UniqueViolationError:
            changed = changed + created
    if changed:
        await connection.execute(qualify(schema, upsert), tenant_id,
                                 *_columns([row(r) for r in changed], len(row(changed[0]))))


def _activity_row(a: ActivityRow) -> tuple:
    return (a.activity_id, a.kind, a.category, a.host_unit_id, a.title, a.place, a.starts_at,
            a.ends_at, a.cancelled_at, a.closed_at, a.cancelled)


async def save_participation(connection: asyncpg.Connection, schema: str, tenant_id: str,
                             batch: ParticipationBatch) -> None:
    into = qualify(schema, "{s}")

    async def copy_activities(rows: list[ActivityRow]) -> None:
        await connection.copy_records_to_table(
            "activities", schema_name=into, columns=("tenant_id", *_ACTIVITY_SAVED),
            records=[(tenant_id, *_activity_row(a)) for a in rows])

    async def copy_participations(rows: list[ParticipationRow]) -> None:
        await connection.copy_records_to_table(
            "participations", schema_name=into, columns=("tenant_id", *_PARTICIPATION),
            records=[(tenant_id, *msgspec.structs.astuple(p)) for p in rows])

    # Every created row is a changed one; set differences reuse the stored hashes.
    for upsert, row, copy, rows, created, changed in (
        (_UPSERT_ACTIVITIES, _activity_row, copy_activities, batch.activities,
         batch.created_activities, batch.changed_activities),
        (_UPSERT_PARTICIPATIONS, msgspec.structs.astuple, copy_participations,
         batch.participations, batch.created_participations, batch.changed_participations),
    ):
        if changed:
            await _save_rows(connection, schema, tenant_id, upsert, row, copy,
                             [rows[key] for key in created],
                             [rows[key] for key in changed - created])
    if batch.log:
        # Insert-only, keyed by feed position: COPY, the cheapest way in.
        await connection.copy_records_to_table(
            "participation_log", schema_name=qualify(schema, "{s}"),
            columns=("tenant_id", "participation_id", "position", "action", "minutes",
                     "previous_minutes", "reason", "actor_id", "at"),
            records=[(tenant_id, *entry) for entry in batch.log],
        )


# --- honor rolls --------------------------------------------------------------------------

_ENTRIES = msgspec.json.Encoder()


async def load_honor_rolls(connection: asyncpg.Connection, schema: str, tenant_id: str,
                           batch: HonorRollBatch, keys: Keys) -> None:
    """Published rolls are only ever inserted: nothing to load."""


async def save_honor_rolls(connection: asyncpg.Connection, schema: str, tenant_id: str,
                           batch: HonorRollBatch) -> None:
    if batch.published:
        # The ledger refuses a second publication of a unit's month; should one exist
        # anyway, the first stays (a published roll is frozen).
        await connection.executemany(
            qualify(schema, """INSERT INTO {s}.honor_rolls (tenant_id, unit_id, month, rule_set,
                    rule_version, computed_at_position, entries, published_by, published_at,
                    publicity_ends)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"""),
            [(tenant_id, e.unit_id, e.month, e.rule_set, e.rule_version,
              e.computed_at_position, _ENTRIES.encode(e.entries), e.published_by,
              e.published_at, e.publicity_ends) for e in batch.published],
        )
    if batch.objections:
        await connection.executemany(
            qualify(schema, """INSERT INTO {s}.honor_roll_objections (tenant_id, unit_id, month,
                    position, member_id, objection, recorded_by, recorded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""),
            [(tenant_id, e.unit_id, e.month, position, e.member_id, e.objection, e.recorded_by,
              e.recorded_at) for position, e in batch.objections],
        )
