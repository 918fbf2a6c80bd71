"""The base of every command: API input that forbids unknown fields."""

from __future__ import annotations

import uuid

import msgspec


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Client-chosen id making a retry safe: the same command id never appends twice, and
    # the ids of anything the command creates are derived from it.
    command_id: uuid.UUID | None = None
