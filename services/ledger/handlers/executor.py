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

Commands to one stream are decided one at a time in this process. Those that arrive while
one is being decided and appended (a burst of check-ins into one activity) wait, and are
then decided together, each on the state the ones before it left, and appended as one
append: one round trip for the lot instead of one each. A refusal is its own command's; if
the shared append fails (another process wrote to the stream, an event id clashes), each
of them is run again on its own, as if they had never been together.
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
from ledger.adapters.batching import Batched
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


class _Call(NamedTuple):
    actor: Actor
    stream_id: str
    fold: Fold
    command: Command
    decide: Decide
    consult: Consult | None
    command_id: uuid.UUID
    fingerprint: str
    created: uuid.UUID | None
    new_stream: bool


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
                 clock: Callable[[], datetime], *, together: bool = True) -> None:
        self._store = store
        self._together_allowed = together
        self._cache = cache
        self.clock = clock
        # One decision at a time per stream in this process, and those waiting decided
        # together (see the module's docstring). Writers in other processes are still
        # caught by the expected version.
        self._streams: weakref.WeakValueDictionary[
            tuple[str, str], Batched[_Call, Outcome | Exception]] = (
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
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = Batched(self._run, pipelines=1)
        try:
            answer = await stream(_Call(actor, stream_id, fold, command, decide, consult,
                                        command_id, fingerprint, created, new_stream))
            if isinstance(answer, Exception):
                raise answer
            return answer
        except (Refusal, EventIdConflict, WrongExpectedVersion):
            # A retry of a command that was done re-decides against the state it changed
            # ("already checked in") or collides on its event ids: answer the original.
            # Looked up only now, so the usual first attempt costs no extra query.
            if command.command_id is not None:
                prior = await self._prior(actor.tenant_id, command_id, fingerprint, created)
                if prior is not None:
                    return prior
            raise

    async def _run(self, calls: list[_Call]) -> list[Outcome | Exception]:
        # Not together: a new stream (only one can create it), or a decision that reads
        # around it first (it would read while the others' events are not yet committed).
        if (self._together_allowed and len(calls) > 1
                and not any(c.new_stream or c.consult for c in calls)):
            together = await self._together(calls)
            if together is not None:
                return together
        return [await self._alone(call) for call in calls]

    async def _alone(self, call: _Call) -> Outcome | Exception:
        try:
            return await self._decide_and_append(call)
        except Exception as error:  # the caller's own answer, raised in its task
            return error

    async def _together(self, calls: list[_Call]) -> list[Outcome | Exception] | None:
        """Decide the calls in turn on one state and append their events at once; None if
        that failed before anything was stored (each is then run alone)."""
        first = calls[0]
        tenant_id, stream_id, fold = first.actor.tenant_id, first.stream_id, first.fold
        loaded = await self._cache.load(tenant_id, stream_id, fold, max_age=None)
        expected, previous = loaded.version, loaded.hash
        # From here to the release nothing awaits but the append, so no other decision
        # can wait on this entry while holding one this needs.
        entry = self._cache.hold(tenant_id, stream_id)
        committed: tuple[int, bytes] | None = None
        # A refusal, or None where the call's outcome goes once the append is done.
        answers: list[Outcome | Exception | None] = []
        # (call's place, its first event's place, its event count)
        decided: list[tuple[int, int, int]] = []
        new: list[NewEvent] = []
        try:
            for place, call in enumerate(calls):
                try:
                    events = call.decide(entry.state, Context(self.clock()))
                except Refusal as refusal:
                    answers.append(refusal)
                    continue
                if not events:
                    answers.append(ValueError("nothing to append"))  # as the store says
                    continue
                metadata = _metadata(call)
                decided.append((place, len(new), len(events)))
                answers.append(None)
                for i, event in enumerate(events):
                    new.append(NewEvent(event_id=_event_id(call.command_id, i), event=event,
                                        metadata=metadata))
                    entry.state = fold(entry.state, event)
            if not new:
                committed = (expected, previous)
                return _filled(answers)
            result = await self._store.append(tenant_id, stream_id, expected, new,
                                              previous_hash=previous)
            if result.replayed:
                return None
            committed = (result.last_version, result.last_hash)
        except Exception:
            # Another process moved the stream, an id clashed, a decision failed: whatever
            # was folded is dropped with the entry, and each call gets its own answer.
            return None
        finally:
            self._cache.release(tenant_id, stream_id, entry, committed)
        for place, start, count in decided:
            answers[place] = Outcome(
                stream_id=stream_id, first_version=result.first_version + start,
                last_version=result.first_version + start + count - 1,
                positions=result.positions[start:start + count],
                event_ids=result.event_ids[start:start + count],
                created_id=calls[place].created)
        return _filled(answers)

    async def _decide_and_append(self, call: _Call) -> Outcome:
        actor, stream_id, fold, decide = call.actor, call.stream_id, call.fold, call.decide
        metadata = _metadata(call)
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.005 * attempt))
            # First try on the cached state: if another process appended meanwhile, the
            # expected version fails the append and the next attempt reads the stream.
            loaded = await self._cache.load(actor.tenant_id, stream_id, fold,
                                            max_age=None if attempt == 0 else 0.0)
            expected = NO_STREAM if call.new_stream else loaded.version
            consulted = (await call.consult(loaded.state) if call.consult is not None
                         else None)
            events = decide(loaded.state, Context(self.clock(), consulted))
            new = [NewEvent(event_id=_event_id(call.command_id, i), event=event,
                            metadata=metadata) for i, event in enumerate(events)]
            try:
                result = await self._store.append(actor.tenant_id, stream_id, expected, new,
                                                  previous_hash=loaded.hash)
            except WrongExpectedVersion:
                if call.new_stream:
                    raise
                continue
            if not result.replayed:
                self._cache.advance(actor.tenant_id, stream_id, fold, events,
                                    result.first_version, result.last_hash)
            return Outcome(stream_id=stream_id, first_version=result.first_version,
                           last_version=result.last_version, positions=result.positions,
                           event_ids=result.event_ids, replayed=result.replayed,
                           created_id=call.created)
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


def _metadata(call: _Call) -> Metadata:
    actor = call.actor
    return Metadata(actor=actor.name, source=actor.source,  # type: ignore[arg-type]
                    request_id=actor.request_id, correlation_id=actor.correlation_id,
                    causation_id=str(call.command_id), command_hash=call.fingerprint,
                    client_time=getattr(call.command, "client_time", None))


def _event_id(command_id: uuid.UUID, index: int) -> uuid.UUID:
    """The command's first event takes its id; the others ids derived from it."""
    return command_id if index == 0 else derive_id(command_id, f"event-{index}")


def _filled(answers: list[Outcome | Exception | None]) -> list[Outcome | Exception]:
    filled = [answer for answer in answers if answer is not None]
    if len(filled) != len(answers):
        raise AssertionError("a call was left without an answer")
    return filled
