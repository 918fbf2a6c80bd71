"""Published honor rolls (as projected from the ledger) and the tenants' rule sets."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg
import msgspec

from contract.events import HonorRollEntry
from reports.adapters.schema import LIVE, qualify
from reports.domain.honor_roll_rules import STANDARD, RuleSet


class Published(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    month: str
    rule_set: str
    rule_version: int
    computed_at_position: str
    entries: list[HonorRollEntry]
    published_by: uuid.UUID
    published_at: datetime
    publicity_ends: date
    objections: int


_ENTRIES = msgspec.json.Decoder(list[HonorRollEntry])


async def published(connection: asyncpg.Connection, tenant_id: str, unit_id: uuid.UUID,
                    month: str) -> Published | None:
    row = await connection.fetchrow(
        qualify(LIVE, """SELECT r.*, (SELECT count(*) FROM {s}.honor_roll_objections o
                    WHERE o.tenant_id = r.tenant_id AND o.unit_id = r.unit_id
                      AND o.month = r.month) AS objections
            FROM {s}.honor_rolls r WHERE tenant_id = $1 AND unit_id = $2 AND month = $3"""),
        tenant_id, unit_id, month,
    )
    if row is None:
        return None
    return Published(
        unit_id=row["unit_id"], month=row["month"], rule_set=row["rule_set"],
        rule_version=row["rule_version"], computed_at_position=row["computed_at_position"],
        entries=_ENTRIES.decode(row["entries"]), published_by=row["published_by"],
        published_at=row["published_at"], publicity_ends=row["publicity_ends"],
        objections=row["objections"],
    )


def _rule_set(row: asyncpg.Record) -> RuleSet:
    return RuleSet(name=row["name"], version=row["version"], min_minutes=row["min_minutes"],
                   top_n=row["top_n"], tie_break=list(row["tie_break"]), kinds=list(row["kinds"]))


async def rule_set(connection: asyncpg.Connection, tenant_id: str, name: str,
                   version: int | None) -> RuleSet | None:
    """A named rule set at a version (the latest when None); `standard` v1 is built in."""
    row = await connection.fetchrow(
        qualify(LIVE, """SELECT * FROM {s}.rule_sets WHERE tenant_id = $1 AND name = $2
                AND ($3::int IS NULL OR version = $3) ORDER BY version DESC LIMIT 1"""),
        tenant_id, name, version,
    )
    if row is not None:
        return _rule_set(row)
    if name == STANDARD.name and version in (None, STANDARD.version):
        return STANDARD
    return None


async def rule_sets(connection: asyncpg.Connection, tenant_id: str) -> list[RuleSet]:
    rows = await connection.fetch(
        qualify(LIVE, "SELECT * FROM {s}.rule_sets WHERE tenant_id = $1 ORDER BY name, version"),
        tenant_id,
    )
    stored = [_rule_set(row) for row in rows]
    if not any(r.name == STANDARD.name and r.version == STANDARD.version for r in stored):
        stored.insert(0, STANDARD)
    return stored


async def add_rule_set(connection: asyncpg.Connection, tenant_id: str, rules: RuleSet,
                       created_by: str) -> RuleSet:
    """Store the rules as the next version of their name (versions are never changed)."""
    async with connection.transaction():
        # Serialise version numbering per (tenant, name).
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))",
                                 tenant_id, rules.name)
        latest = await connection.fetchval(
            qualify(LIVE, """SELECT max(version) FROM {s}.rule_sets
                WHERE tenant_id = $1 AND name = $2"""),
            tenant_id, rules.name,
        )
        floor = STANDARD.version if rules.name == STANDARD.name else 0
        version = max(latest or 0, floor) + 1
        await connection.execute(
            qualify(LIVE, """INSERT INTO {s}.rule_sets (tenant_id, name, version, min_minutes,
                    top_n, tie_break, kinds, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """),
            tenant_id, rules.name, version, rules.min_minutes, rules.top_n,
            list(rules.tie_break), list(rules.kinds), created_by,
        )
    return msgspec.structs.replace(rules, version=version)
