"""Runs a command against one stream: idempotency, one decision at a time per stream, and
the optimistic retry.

Every command may carry a `command_id`. The first event it appends takes that id and the
others ids derived from it, so a retried command finds its events and returns the original
result instead of deciding again (which would be refused, e.g. "already checked in"). A
command id reused for a different command is a conflict. Ids of created things (activity,
member, participation) are derived from the command id too, so a retry creates the same one.

A decision is pure: `decide(state, context)` gets the stream's state and what was read for
it beforehand (`consult(state)`, for the few decisions that need reads depending on the
state), and returns the events. The expected version is the loaded state's, captured before
anything is decided.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from contract.events import Event
from contract.problems import Refusal
from ledger.adapters.event_store import (
    NO_STREAM,
    EventIdConflict,
    Metadata,
    NewEvent,
    WrongExpectedVersion,
)
from ledger.domain.command import Command
from ledger.handlers.actor import Actor, Outcome
from ledger.handlers.ports import EventStore
from ledger.handlers.state_cache import StateCache

Fold = Callable[[Any, Event], Any]
ATTEMPTS = 5


class Context(NamedTuple):
    """What a decision knows besides its stream's state."""

    now: datetime
    consulted: Any = None


Decide = Callable[[Any, Context], list[Event]]
Consult = Callable[[Any], Awaitable[Any]]


class TooBusy(Exception):
    """The stream kept moving under us; the client may retry with the same command id."""


def derive_id(command_id: uuid.UUID, label: str) -> uuid.UUID:
    return uuid.uuid5(command_id, label)


def created_id(command: Command, label: str) -> uuid.UUID:
    """The id of what a command creates: derived from its command id, so a retry makes the
    same one."""
    return derive_id(command.command_id or uuid.uuid4(), label)


class CommandExecutor:
    def __init__(self, store: EventStore, cache: StateCache,
                 clock: Callable[[], datetime]) -> None:
        self._store = store
        self._cache = cache
        self.clock = clock
        # One decision at a time per stream in this process: a burst of sign-ups for one
        # activity then queues instead of failing optimistic retries. Writers in other
        # processes are still caught by the expected version.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary())

    async def execute(self, actor: Actor, stream_id: str, fold: Fold, command: Command,
                      decide: Decide, *, consult: Consult | None = None,
                      created: uuid.UUID | None = None, new_stream: bool = False) -> Outcome:
        command_id = command.command_id or uuid.uuid4()
        fingerprint = hashlib.sha256(
            stream_id.encode() + b"\0" + type(command).__name__.encode() + b"\0"
            + msgspec.json.encode(command, order="sorted")
        ).hexdigest()
        key = (actor.tenant_id, stream_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with lock:
                return await self._decide_and_append(actor, stream_id, fold, command, decide,
                                                     consult, command_id, fingerprint, created,
                                                     new_stream)
        except (Refusal, EventIdConflict, WrongExpectedVersion):
            # A retry of a command that was done re-decides against the state it changed
            # ("already checked in") or collides on its event ids: answer the original.
            # Looked up only now, so the usual first attempt costs no extra query.
            if command.command_id is not None:
                prior = await self._prior(actor.tenant_id, command_id, fingerprint, created)
                if prior is not None:
                    return prior
            raise

    async def _decide_and_append(self, actor: Actor, stream_id: str, fold: Fold,
                                 command: Command, decide: Decide, consult: Consult | None,
                                 command_id: uuid.UUID, fingerprint: str,
                                 created: uuid.UUID | None, new_stream: bool) -> Outcome:
        metadata = Metadata(actor=actor.name, source=actor.source,  # type: ignore[arg-type]
                            request_id=actor.request_id, correlation_id=actor.correlation_id,
                            causation_id=str(command_id), command_hash=fingerprint,
                            client_time=getattr(command, "client_time", None))
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.005 * attempt))
            # First try on the cached state: if another process appended meanwhile, the
            # expected version fails the append and the next attempt reads the stream.
            loaded = await self._cache.load(actor.tenant_id, stream_id, fold,
                                            max_age=None if attempt == 0 else 0.0)
            expected = NO_STREAM if new_stream else loaded.version
            consulted = await consult(loaded.state) if consult is not None else None
            events = decide(loaded.state, Context(self.clock(), consulted))
            new = [
                NewEvent(event_id=command_id if i == 0 else derive_id(command_id, f"event-{i}"),
                         event=event, metadata=metadata)
                for i, event in enumerate(events)
            ]
            try:
                result = await self._store.append(actor.tenant_id, stream_id, expected, new,
                                                  previous_hash=loaded.hash)
            except WrongExpectedVersion:
                if new_stream:
                    raise
                continue
            if not result.replayed:
                self._cache.advance(actor.tenant_id, stream_id, fold, events,
                                    result.first_version, result.last_hash)
            return Outcome(stream_id=stream_id, first_version=result.first_version,
                           last_version=result.last_version, positions=result.positions,
                           event_ids=result.event_ids, replayed=result.replayed,
                           created_id=created)
        raise TooBusy(stream_id)

    async def _prior(self, tenant_id: str, command_id: uuid.UUID, fingerprint: str,
                     created: uuid.UUID | None) -> Outcome | None:
        stored = await self._store.command_events(tenant_id, command_id)
        if not stored:
            return None
        metadata = msgspec.json.decode(stored[0].metadata, type=Metadata)
        if metadata.command_hash != fingerprint:
            raise EventIdConflict(command_id)
        return Outcome(stream_id=stored[0].stream_id, first_version=stored[0].version,
                       last_version=stored[-1].version, positions=[e.position for e in stored],
                       event_ids=[e.event_id for e in stored], replayed=True,
                       created_id=created)
