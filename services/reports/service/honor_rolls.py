"""The honor roll of a unit and month: a draft computed now, or the published (frozen) one."""

from __future__ import annotations

import uuid

import asyncpg

from contract.calendar import today
from contract.cursor import format_cursor
from contract.vocabulary import hours
from reports.adapters import honor_roll_store, unit_reports
from reports.adapters.checkpoints import reflected
from reports.adapters.schema import LIVE
from reports.domain.honor_roll_rules import Candidate, RuleSet, rank, rule_set_label
from reports.domain.names import ERASED, display_name, masked
from reports.domain.views import (
    HonorRollRow,
    HonorRollView,
    PublicHonorRoll,
    PublicHonorRollRow,
)
from reports.service.ports import Directory


async def draft(connection: asyncpg.Connection, directory: Directory, tenant_id: str,
                unit_id: uuid.UUID, unit_name: str, month: str, rules: RuleSet) -> HonorRollView:
    position = format_cursor(await reflected(connection, LIVE, tenant_id))
    totals = await unit_reports.honor_roll_totals(connection, tenant_id, unit_id, month,
                                                  rules.kinds)
    # Numbers before ranking: the member number may break a tie.
    people = await directory.on(connection).members(tenant_id,
                                                    [t["member_id"] for t in totals])
    candidates = []
    for t in totals:
        person = people.get(t["member_id"])
        candidates.append(Candidate(
            member_id=t["member_id"], member_number=(person.number if person else None) or "",
            minutes=t["minutes"], activities=t["activities"],
            first_check_in=t["first_check_in"]))
    entries = [
        HonorRollRow(rank=r.rank, member_id=r.candidate.member_id,
                     member_number=r.candidate.member_number or None,
                     name=display_name(people[r.candidate.member_id].name
                                       if r.candidate.member_id in people else None),
                     minutes=r.candidate.minutes, hours=hours(r.candidate.minutes),
                     activities=r.candidate.activities)
        for r in rank(candidates, rules)
    ]
    return HonorRollView(
        unit_id=unit_id, unit_name=unit_name, month=month, status="draft",
        rule_set=rules.name, rule_version=rules.version,
        rule_set_label=rule_set_label(rules.name, rules.version), position=position,
        computed_at_position=position, published_at=None, publicity_ends=None,
        in_publicity=False, objections=0, entries=entries,
    )


async def published(connection: asyncpg.Connection, directory: Directory, tenant_id: str,
                    unit_id: uuid.UUID, unit_name: str, month: str) -> HonorRollView | None:
    roll = await honor_roll_store.published(connection, tenant_id, unit_id, month)
    if roll is None:
        return None
    people = await directory.on(connection).members(tenant_id,
                                                    [e.member_id for e in roll.entries])
    entries = [
        HonorRollRow(rank=e.rank, member_id=e.member_id,
                     member_number=people[e.member_id].number if e.member_id in people else None,
                     name=display_name(people[e.member_id].name
                                       if e.member_id in people else None),
                     minutes=e.minutes, hours=hours(e.minutes), activities=e.activities)
        for e in roll.entries
    ]
    return HonorRollView(
        unit_id=unit_id, unit_name=unit_name, month=month, status="published",
        rule_set=roll.rule_set, rule_version=roll.rule_version,
        rule_set_label=rule_set_label(roll.rule_set, roll.rule_version),
        position=format_cursor(await reflected(connection, LIVE, tenant_id)),
        computed_at_position=roll.computed_at_position, published_at=roll.published_at,
        publicity_ends=roll.publicity_ends, in_publicity=today() <= roll.publicity_ends,
        objections=roll.objections, entries=entries,
    )


def public(view: HonorRollView) -> PublicHonorRoll:
    """Masked names, no member ids, numbers, phones or ID numbers."""
    assert view.published_at is not None and view.publicity_ends is not None
    return PublicHonorRoll(
        unit_name=view.unit_name, month=view.month, published_at=view.published_at,
        publicity_ends=view.publicity_ends, in_publicity=view.in_publicity,
        entries=[PublicHonorRollRow(rank=e.rank, name=masked(_raw_name(e.name)), hours=e.hours,
                                    activities=e.activities) for e in view.entries],
    )


def _raw_name(shown: str) -> str | None:
    return None if shown == ERASED else shown
