"""Projection `honor_rolls`: published rolls, frozen as published, and objections to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contract.events import Event, HonorRollObjectionRecorded, HonorRollPublished
from reports.domain.projection import EventMeta, Keys

NAME = "honor_rolls"
EVENT_TYPES = frozenset(t.__name__ for t in (HonorRollPublished, HonorRollObjectionRecorded))


@dataclass
class HonorRollBatch:
    published: list[HonorRollPublished] = field(default_factory=list)
    objections: list[tuple[int, HonorRollObjectionRecorded]] = field(default_factory=list)

    def wanted(self, events: Sequence[Event]) -> Keys:
        return {}

    def apply(self, event: Event, meta: EventMeta) -> None:
        if isinstance(event, HonorRollPublished):
            self.published.append(event)
        elif isinstance(event, HonorRollObjectionRecorded):
            self.objections.append((meta.position, event))
