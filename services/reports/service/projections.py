"""The projections this service maintains: each pure batch with its table adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from reports.adapters import projection_tables as tables
from reports.domain import honor_roll_log, members, organisation, participation
from reports.domain.projection import Batch, Keys

Load = Callable[[asyncpg.Connection, str, str, Any, Keys], Awaitable[None]]
Save = Callable[[asyncpg.Connection, str, str, Any], Awaitable[None]]


@dataclass(frozen=True)
class Projection:
    name: str
    event_types: frozenset[str]
    new_batch: Callable[[], Batch]
    load: Load
    save: Save
    # Event class -> the fields of it the batch reads, decoded instead of the whole event
    # when stored at the class's current version (see participation.READS).
    reads: Mapping[type, type[msgspec.Struct]] = field(default_factory=dict)


PROJECTIONS: tuple[Projection, ...] = (
    Projection(organisation.NAME, organisation.EVENT_TYPES, organisation.OrganisationBatch,
               tables.load_organisation, tables.save_organisation),
    Projection(members.NAME, members.EVENT_TYPES, members.MembersBatch,
               tables.load_members, tables.save_members),
    Projection(participation.NAME, participation.EVENT_TYPES, participation.ParticipationBatch,
               tables.load_participation, tables.save_participation, participation.READS),
    Projection(honor_roll_log.NAME, honor_roll_log.EVENT_TYPES, honor_roll_log.HonorRollBatch,
               tables.load_honor_rolls, tables.save_honor_rolls),
)
NAMES: tuple[str, ...] = tuple(p.name for p in PROJECTIONS)
