"""The base of every command: API input that forbids unknown fields."""

from __future__ import annotations

import uuid
from datetime import date

import msgspec

from contract.calendar import in_calendar


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Client-chosen id making a retry safe: the same command id never appends twice, and
    # the ids of anything the command creates are derived from it.
    command_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        # msgspec has no bounds for dates, and a date or time outside the calendar's years
        # would overflow later (the next day, the UTC instant): refused here, whichever way
        # the command came (decoded from the API, built by a page or an import). A
        # datetime is a date.
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, date):
                in_calendar(value, name)
