"""Events for tests of the store and its writers, where only their order and content matter."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from contract.events import UnitRenamed
from ledger.adapters.event_store import Metadata, NewEvent


def renamed(name: str, event_id: uuid.UUID | None = None, *,
            source: Literal["api", "import"] = "api") -> NewEvent:
    """A `UnitRenamed` of one fixed unit: a small event whose `name` tells them apart."""
    return NewEvent(
        event_id=event_id or uuid.uuid4(),
        event=UnitRenamed(unit_id=uuid.UUID(int=1), name=name, effective=date(2026, 1, 1)),
        metadata=Metadata(actor="test", source=source),
    )
