"""Command handlers: load state, let the domain decide, append what it decided.

Every command may carry a `command_id`. The first event it appends takes that id and the
others ids derived from it, so a retried command finds its events and returns the original
result instead of deciding again (which would be refused, e.g. "already checked in"). A
command id reused for a different command is a conflict. Ids of created things (activity,
member, participation) are derived from the command id too, so a retry creates the same one.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg
import msgspec

from contract.access import Principal, Role, require_cover
from contract.events import (
    Event,
    HonorRollObjectionRecorded,
    HonorRollPublished,
    MemberDataErased,
)
from contract.problems import Refusal, forbidden
from ledger.adapters.directory import MemberDirectory, MemberNumberTaken
from ledger.adapters.event_store import (
    NO_STREAM,
    EventIdConflict,
    Metadata,
    NewEvent,
    PostgresEventStore,
    WrongExpectedVersion,
)
from ledger.adapters.state_cache import Loaded, StateCache
from ledger.domain import activities, honor_rolls, members, organisation
from ledger.domain.activities import ActivityState, Busy, Organiser
from ledger.domain.command import Command
from ledger.domain.honor_rolls import ComputedRoll, HonorRollState
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree

Decide = Callable[[Any], Awaitable[list[Event]]]
Fold = Callable[[Any, Event], Any]
ATTEMPTS = 5
# How stale the member and the tree consulted by a decision may be (seconds): a member who
# just left, or a unit just dissolved, may still be accepted for this long.
CONSULTED_MAX_AGE = 5.0


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who issues a command, and with what authority."""

    tenant_id: str
    name: str
    role: Role = "client"
    source: str = "api"
    can_write: bool = False
    # Set for organisers: their authority covers scope_unit_id and everything below it.
    organiser_id: uuid.UUID | None = None
    scope_unit_id: uuid.UUID | None = None
    # Set when a member acts for themself (the check-in form).
    member_id: uuid.UUID | None = None
    request_id: str | None = None
    # Ties together the events of one business flow across commands and systems.
    correlation_id: str | None = None

    @classmethod
    def from_principal(cls, principal: Principal, request_id: str | None = None,
                       correlation_id: str | None = None) -> Actor:
        return cls(tenant_id=principal.tenant_id, name=principal.actor, role=principal.role,
                   can_write=principal.can_write, organiser_id=principal.organiser_id,
                   scope_unit_id=principal.scope_unit_id, request_id=request_id,
                   correlation_id=correlation_id or request_id)

    @property
    def organiser(self) -> Organiser | None:
        if self.organiser_id is None:
            return None
        return Organiser(self.organiser_id, self.scope_unit_id)


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did: the stream, the new events' positions and ids."""

    stream_id: str
    first_version: int
    last_version: int
    positions: list[int]
    event_ids: list[uuid.UUID]
    # True when this was a retry of a command already done: nothing new was appended.
    replayed: bool = False
    # The id of what the command created, if anything (activity, member, participation).
    created_id: uuid.UUID | None = None


class Confirmation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    # None: credit what the rules allow (time present in the window, capped).
    minutes: int | None = None


class ConfirmMany(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An organiser confirms a roster at once; all or none are recorded."""

    confirmations: list[Confirmation]


class RollSource(Protocol):
    """Where a published roll's entries come from: the reports' projection."""

    async def computed_roll(self, tenant_id: str, unit_id: uuid.UUID, month: str,
                            rule_set: str, rule_version: int | None) -> ComputedRoll: ...


class TooBusy(Exception):
    """The stream kept moving under us; the client may retry with the same command id."""


def derive_id(command_id: uuid.UUID, label: str) -> uuid.UUID:
    return uuid.uuid5(command_id, label)


def _fold_tree(state: OrgTree | None, event: Event) -> OrgTree:
    tree = state or OrgTree()
    tree.apply(event)
    return tree


def _fold_honor_roll(state: HonorRollState | None, event: Event) -> HonorRollState | None:
    if isinstance(event, HonorRollPublished):
        return HonorRollState(event.unit_id, event.month, event.publicity_ends)
    if state is not None and isinstance(event, HonorRollObjectionRecorded):
        state.objections += 1
    return state


async def _none() -> None:
    return None


class Ledger:
    """The ledger's use cases. `clock` is injectable so tests can fix "now"."""

    def __init__(self, store: PostgresEventStore, pool: asyncpg.Pool, *,
                 rolls: RollSource | None = None,
                 checkin_grace: timedelta = timedelta(minutes=30),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.rolls = rolls
        self.directory = MemberDirectory(pool)
        self.states = StateCache(store)
        self.grace = checkin_grace
        self.clock = clock
        # One decision at a time per stream in this process: a burst of sign-ups for one
        # activity then queues instead of failing optimistic retries. Writers in other
        # processes are still caught by the expected version.
        self._stream_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary())

    # --- plumbing --------------------------------------------------------------------

    async def _execute(self, actor: Actor, stream_id: str, fold: Fold, command: Command,
                       decide: Decide, *, created_id: uuid.UUID | None = None,
                       new_stream: bool = False) -> Outcome:
        command_id = command.command_id or uuid.uuid4()
        fingerprint = hashlib.sha256(
            stream_id.encode() + b"\0" + type(command).__name__.encode() + b"\0"
            + msgspec.json.encode(command, order="sorted")
        ).hexdigest()
        lock = self._stream_locks.get((actor.tenant_id, stream_id))
        if lock is None:
            lock = self._stream_locks[(actor.tenant_id, stream_id)] = asyncio.Lock()
        try:
            async with lock:
                return await self._decide_and_append(actor, stream_id, fold, command, decide,
                                                     command_id, fingerprint, created_id,
                                                     new_stream)
        except (Refusal, EventIdConflict, WrongExpectedVersion):
            # A retry of a command that was done re-decides against the state it changed
            # ("already checked in") or collides on its event ids: answer the original.
            # Looked up only now, so the usual first attempt costs no extra query.
            if command.command_id is not None:
                prior = await self._prior(actor.tenant_id, command_id, fingerprint, created_id)
                if prior is not None:
                    return prior
            raise

    async def _decide_and_append(self, actor: Actor, stream_id: str, fold: Fold,
                                 command: Command, decide: Decide, command_id: uuid.UUID,
                                 fingerprint: str, created_id: uuid.UUID | None,
                                 new_stream: bool) -> Outcome:
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.005 * attempt))
            # First try on the cached state: if another process appended meanwhile, the
            # expected version fails the append and the next attempt reads the stream.
            loaded = await self.states.load(actor.tenant_id, stream_id, fold,
                                            max_age=None if attempt == 0 else 0.0)
            events = await decide(loaded.state)
            metadata = Metadata(actor=actor.name, source=actor.source,  # type: ignore[arg-type]
                                request_id=actor.request_id,
                                correlation_id=actor.correlation_id,
                                causation_id=str(command_id), command_hash=fingerprint,
                                client_time=getattr(command, "client_time", None))
            new = [
                NewEvent(event_id=command_id if i == 0 else derive_id(command_id, f"event-{i}"),
                         event=event, metadata=metadata)
                for i, event in enumerate(events)
            ]
            expected = NO_STREAM if new_stream else loaded.version
            try:
                result = await self.store.append(actor.tenant_id, stream_id, expected, new,
                                                 previous_hash=loaded.hash)
            except WrongExpectedVersion:
                if new_stream:
                    raise
                continue
            if not result.replayed:
                self.states.advance(actor.tenant_id, stream_id, fold, events,
                                    result.first_version, result.last_hash)
            return Outcome(stream_id=stream_id, first_version=result.first_version,
                           last_version=result.last_version, positions=result.positions,
                           event_ids=result.event_ids, replayed=result.replayed,
                           created_id=created_id)
        raise TooBusy(stream_id)

    async def _prior(self, tenant_id: str, command_id: uuid.UUID, fingerprint: str,
                     created_id: uuid.UUID | None) -> Outcome | None:
        stored = await self.store.command_events(tenant_id, command_id)
        if not stored:
            return None
        metadata = msgspec.json.decode(stored[0].metadata, type=Metadata)
        if metadata.command_hash != fingerprint:
            raise EventIdConflict(command_id)
        return Outcome(stream_id=stored[0].stream_id, first_version=stored[0].version,
                       last_version=stored[-1].version, positions=[e.position for e in stored],
                       event_ids=[e.event_id for e in stored], replayed=True,
                       created_id=created_id)

    async def tree(self, tenant_id: str, max_age: float = CONSULTED_MAX_AGE) -> OrgTree:
        loaded = await self.states.load(tenant_id, organisation.STREAM, _fold_tree, max_age)
        return loaded.state or OrgTree()

    async def member(self, tenant_id: str, member_id: uuid.UUID,
                     max_age: float = CONSULTED_MAX_AGE) -> MemberState | None:
        loaded = await self.states.load(tenant_id, members.stream_id(member_id), members.apply,
                                        max_age)
        return loaded.state

    async def activity(self, tenant_id: str, activity_id: uuid.UUID) -> ActivityState | None:
        return (await self.activity_with_version(tenant_id, activity_id)).state

    async def activity_with_version(self, tenant_id: str, activity_id: uuid.UUID) -> Loaded[Any]:
        return await self.states.load(tenant_id, activities.stream_id(activity_id),
                                      activities.apply)

    @staticmethod
    def _writer(actor: Actor) -> None:
        if not actor.can_write:
            raise forbidden("此令牌只读", "this token is read-only")

    @staticmethod
    def _organiser(actor: Actor) -> Organiser:
        Ledger._writer(actor)
        if actor.organiser is None:
            raise forbidden("只有组织者可以这样做", "only an organiser may do this")
        return actor.organiser

    async def _within_scope(self, actor: Actor, unit_id: uuid.UUID | None) -> None:
        """A write to what `unit_id` names: the caller's subtree must hold it (None: the
        top of the tree, which only the tenant-wide cover)."""
        self._writer(actor)
        tree = await self.tree(actor.tenant_id)
        if unit_id is None and actor.scope_unit_id is not None:
            raise forbidden("只有全区范围的令牌可以设立区级组织",
                            "only a tenant-wide token may create a top unit")
        if unit_id is not None:
            require_cover(tree.covers(actor.scope_unit_id, unit_id))

    # --- organisation tree -----------------------------------------------------------

    async def establish_unit(self, actor: Actor, command: organisation.EstablishUnit) -> Outcome:
        await self._within_scope(actor, command.parent_id)
        unit_id = command.unit_id or derive_id(command.command_id or uuid.uuid4(), "unit")

        async def decide(tree: OrgTree | None) -> list[Event]:
            return organisation.establish(tree or OrgTree(), command, unit_id)

        return await self._execute(actor, organisation.STREAM, _fold_tree, command, decide,
                                   created_id=unit_id)

    async def change_unit(self, actor: Actor, unit_id: uuid.UUID,
                          command: organisation.RenameUnit | organisation.MoveUnit
                          | organisation.MergeUnit | organisation.DissolveUnit) -> Outcome:
        await self._within_scope(actor, unit_id)
        decisions: dict[type, Callable[[OrgTree, uuid.UUID, Any], list[Event]]] = {
            organisation.RenameUnit: organisation.rename,
            organisation.MoveUnit: organisation.move,
            organisation.MergeUnit: organisation.merge,
            organisation.DissolveUnit: organisation.dissolve,
        }
        if isinstance(command, organisation.MoveUnit):
            await self._within_scope(actor, command.parent_id)
        if isinstance(command, organisation.MergeUnit):
            await self._within_scope(actor, command.into_unit_id)

        async def decide(tree: OrgTree | None) -> list[Event]:
            return decisions[type(command)](tree or OrgTree(), unit_id, command)

        return await self._execute(actor, organisation.STREAM, _fold_tree, command, decide)

    # --- members ---------------------------------------------------------------------

    async def register_member(self, actor: Actor, command: members.RegisterMember) -> Outcome:
        await self._within_scope(actor, command.unit_id)
        member_id = command.member_id or derive_id(command.command_id or uuid.uuid4(), "member")
        tree = await self.tree(actor.tenant_id)

        if not command.member_number.strip() or not command.name.strip():
            field = "member_number" if not command.member_number.strip() else "name"
            raise Refusal("required", "必填项", f"{field} is required", field=field, status=422)
        # Decided once without I/O to refuse bad input, then the directory row is written,
        # then the events are appended (deciding again, purely, on each retry). If the
        # append then fails, an orphan row with no events is harmless; a retry overwrites it.
        members.register(tree, None, command, member_id)
        try:
            await self.directory.put(actor.tenant_id, member_id,
                                     member_number=command.member_number.strip(),
                                     name=command.name.strip(), phone=command.phone,
                                     pin=command.pin)
        except MemberNumberTaken:
            raise Refusal("member_number_taken", "该党员编号已被使用",
                          "that member number is taken", field="member_number") from None

        async def decide(state: MemberState | None) -> list[Event]:
            return members.register(tree, state, command, member_id)

        return await self._execute(actor, members.stream_id(member_id), members.apply, command,
                                   decide, created_id=member_id, new_stream=True)

    async def change_member(self, actor: Actor, member_id: uuid.UUID,
                            command: members.ReportMember | members.TransferMember
                            | members.MemberLeaves) -> Outcome:
        self._writer(actor)
        tree = await self.tree(actor.tenant_id)
        state = await self.member(actor.tenant_id, member_id)
        current_unit = state.unit_id if state else None
        target = getattr(command, "unit_id", None) or getattr(command, "to_unit_id", None)
        for unit_id in (current_unit, target):
            if unit_id is not None:
                require_cover(tree.covers(actor.scope_unit_id, unit_id))

        async def decide(state: MemberState | None) -> list[Event]:
            match command:
                case members.ReportMember():
                    return members.report(tree, state, command)
                case members.TransferMember():
                    return members.transfer(tree, state, command)
                case members.MemberLeaves():
                    return members.leave(state, command)

        return await self._execute(actor, members.stream_id(member_id), members.apply, command,
                                   decide)

    async def erase_member(self, actor: Actor, member_id: uuid.UUID) -> Outcome:
        """Erase a member's personal data (PIPL); the records stay, keyed by id only."""
        self._writer(actor)
        state = members.existing(await self.member(actor.tenant_id, member_id, max_age=0))
        # Erasure cannot be undone: only a writer whose subtree holds the member.
        tree = await self.tree(actor.tenant_id, max_age=0)
        require_cover(actor.scope_unit_id is None or (
            state.unit_id is not None and tree.covers(actor.scope_unit_id, state.unit_id)))
        await self.directory.erase(actor.tenant_id, member_id)
        now = self.clock()

        async def decide(_state: MemberState | None) -> list[Event]:
            return [MemberDataErased(member_id=member_id, erased_at=now)]

        return await self._execute(actor, members.stream_id(member_id), members.apply,
                                   Command(), decide)

    # --- activities ------------------------------------------------------------------

    async def schedule_activity(self, actor: Actor,
                                command: activities.ScheduleActivity) -> Outcome:
        organiser = self._organiser(actor)
        activity_id = command.activity_id or derive_id(command.command_id or uuid.uuid4(),
                                                       "activity")
        tree = await self.tree(actor.tenant_id)

        async def decide(state: ActivityState | None) -> list[Event]:
            return activities.schedule(tree, state, command, activity_id, organiser)

        return await self._execute(actor, activities.stream_id(activity_id), activities.apply,
                                   command, decide, created_id=activity_id, new_stream=True)

    async def manage_activity(self, actor: Actor, activity_id: uuid.UUID,
                              command: activities.RescheduleActivity
                              | activities.CancelActivity | activities.CloseActivity
                              | activities.ConfirmAttendance | activities.CorrectParticipation
                              | activities.RevokeParticipation) -> Outcome:
        organiser = self._organiser(actor)
        tree = await self.tree(actor.tenant_id)

        async def decide(state: ActivityState | None) -> list[Event]:
            now = self.clock()
            match command:
                case activities.RescheduleActivity():
                    return activities.reschedule(tree, state, command, organiser)
                case activities.CancelActivity():
                    return activities.cancel(tree, state, command, organiser)
                case activities.CloseActivity():
                    return activities.close(tree, state, organiser, now,
                                            busy=await self._busy_of_open(actor, state, now))
                case activities.ConfirmAttendance():
                    return activities.confirm(tree, state, command, organiser, now)
                case activities.CorrectParticipation():
                    return activities.correct(tree, state, command, organiser, now,
                                              busy=await self._busy_for_correction(
                                                  actor, state, command))
                case activities.RevokeParticipation():
                    return activities.revoke(tree, state, command, organiser, now)

        return await self._execute(actor, activities.stream_id(activity_id), activities.apply,
                                   command, decide)

    async def _busy_of_open(self, actor: Actor, state: ActivityState | None,
                            now: datetime) -> dict[uuid.UUID, list[Busy]]:
        """For closing: where each member still checked in here was seen elsewhere since."""
        if state is None:
            return {}
        open_ones = [p for p in state.participations.values() if p.open]
        spans = await asyncio.gather(*(
            self._busy(actor.tenant_id, p.member_id, state.activity_id, p.checked_in_at)
            for p in open_ones
        ))
        return {p.member_id: s for p, s in zip(open_ones, spans, strict=True)}

    async def _busy_for_correction(self, actor: Actor, state: ActivityState | None,
                                   command: activities.CorrectParticipation) -> list[Busy]:
        """Amended times must not overlap the member's other activities."""
        amended = command.checked_in_at or command.checked_out_at
        participation = state.participations.get(command.participation_id) if state else None
        if state is None or participation is None or amended is None:
            return []
        return await self._busy(actor.tenant_id, participation.member_id, state.activity_id,
                                amended)

    async def confirm_many(self, actor: Actor, activity_id: uuid.UUID,
                           command: ConfirmMany) -> Outcome:
        organiser = self._organiser(actor)
        ids = [item.participation_id for item in command.confirmations]
        if not ids or len(ids) > 1000 or len(set(ids)) != len(ids):
            raise Refusal("invalid_confirmations", "请列出1至1000条不重复的签到记录",
                          "list 1–1000 distinct participations", field="confirmations",
                          status=422)
        tree = await self.tree(actor.tenant_id)

        async def decide(state: ActivityState | None) -> list[Event]:
            now = self.clock()
            events: list[Event] = []
            for item in command.confirmations:
                events += activities.confirm(
                    tree, state,
                    activities.ConfirmAttendance(participation_id=item.participation_id,
                                                 minutes=item.minutes),
                    organiser, now,
                )
            return events

        return await self._execute(actor, activities.stream_id(activity_id), activities.apply,
                                   command, decide)

    async def _busy(self, tenant_id: str, member_id: uuid.UUID, activity_id: uuid.UUID,
                    at: datetime) -> list[Busy]:
        span = activities.MAX_DURATION
        streams = await self.store.member_activity_streams(tenant_id, member_id, at - span,
                                                           at + span)
        spans: list[Busy] = []
        for stream in streams:
            if stream == activities.stream_id(activity_id):
                continue
            loaded = await self.states.load(tenant_id, stream, activities.apply)
            if loaded.state is not None:
                spans.extend(activities.busy_spans(loaded.state, member_id))
        return spans

    async def check_in(self, actor: Actor, activity_id: uuid.UUID,
                       command: activities.CheckIn) -> Outcome:
        self._check_member_actor(actor, command.member_id)
        participation_id = derive_id(command.command_id or uuid.uuid4(), "participation")
        moment = command.at or self.clock()
        # Independent reads, issued together: each is a round trip to PostgreSQL.
        tree, member, busy = await asyncio.gather(
            self.tree(actor.tenant_id) if actor.organiser or actor.scope_unit_id else _none(),
            self.member(actor.tenant_id, command.member_id),
            self._busy(actor.tenant_id, command.member_id, activity_id, moment),
        )

        async def decide(state: ActivityState | None) -> list[Event]:
            if state is not None:
                self._within_activity_scope(actor, state, tree)
            return activities.check_in(state, member, command, participation_id,
                                       now=self.clock(), grace=self.grace, busy=busy,
                                       recorded_by=actor.organiser, tree=tree)

        return await self._execute(actor, activities.stream_id(activity_id), activities.apply,
                                   command, decide, created_id=participation_id)

    async def check_out(self, actor: Actor, activity_id: uuid.UUID,
                        command: activities.CheckOut) -> Outcome:
        self._check_member_actor(actor, command.member_id)
        tree = (await self.tree(actor.tenant_id)
                if actor.organiser or actor.scope_unit_id else None)

        # Only a back-filled time can reach into the member's other activities.
        busy = (await self._busy(actor.tenant_id, command.member_id, activity_id, command.at)
                if command.at is not None else [])

        async def decide(state: ActivityState | None) -> list[Event]:
            if state is not None:
                self._within_activity_scope(actor, state, tree)
            return activities.check_out(state, command, now=self.clock(),
                                        recorded_by=actor.organiser, tree=tree, busy=busy)

        return await self._execute(actor, activities.stream_id(activity_id), activities.apply,
                                   command, decide)

    async def request_correction(self, actor: Actor, activity_id: uuid.UUID,
                                 command: activities.RequestCorrection) -> Outcome:
        self._check_member_actor(actor, command.member_id)
        tree = await self.tree(actor.tenant_id) if actor.scope_unit_id else None

        async def decide(state: ActivityState | None) -> list[Event]:
            if state is not None:
                self._within_activity_scope(actor, state, tree)
            return activities.request_correction(state, command, self.clock())

        return await self._execute(actor, activities.stream_id(activity_id), activities.apply,
                                   command, decide)

    def _check_member_actor(self, actor: Actor, member_id: uuid.UUID) -> None:
        """A member acts only for themself; a token needs write access."""
        if actor.member_id is not None:
            if actor.member_id != member_id:
                raise forbidden("只能为自己签到", "members may only act for themselves")
            return
        self._writer(actor)

    @staticmethod
    def _within_activity_scope(actor: Actor, state: ActivityState, tree: OrgTree | None) -> None:
        """A scoped caller acts on the activities its subtree hosts (a member acting for
        themself may check in anywhere they are invited)."""
        if actor.member_id is not None or actor.scope_unit_id is None:
            return
        require_cover(tree is not None and tree.covers(actor.scope_unit_id, state.host_unit_id))

    # --- honor rolls -----------------------------------------------------------------

    async def publish_honor_roll(self, actor: Actor,
                                 command: honor_rolls.PublishHonorRoll) -> Outcome:
        organiser = self._organiser(actor)
        tree = await self.tree(actor.tenant_id)
        stream = honor_rolls.stream_id(command.unit_id, command.month)
        # Refused before the reports are asked: out of scope, published, month not over.
        loaded = await self.states.load(actor.tenant_id, stream, _fold_honor_roll)
        honor_rolls.check_publishable(tree, loaded.state, command, organiser.scope_unit_id,
                                      self.clock())
        if self.rolls is None:
            raise Refusal("reports_unavailable", "未配置报表服务",
                          "no reports service configured", status=503)
        roll = await self.rolls.computed_roll(actor.tenant_id, command.unit_id, command.month,
                                              command.rule_set, command.rule_version)

        async def decide(state: HonorRollState | None) -> list[Event]:
            return honor_rolls.publish(tree, state, command, roll, organiser.scope_unit_id,
                                       organiser.organiser_id, self.clock())

        return await self._execute(actor, stream, _fold_honor_roll, command, decide)

    async def record_objection(self, actor: Actor, unit_id: uuid.UUID, month: str,
                               command: honor_rolls.RecordObjection) -> Outcome:
        organiser = self._organiser(actor)
        tree = await self.tree(actor.tenant_id)
        if not tree.covers(organiser.scope_unit_id, unit_id):
            raise forbidden("超出此令牌的组织范围", "outside this token's organisation scope")

        async def decide(state: HonorRollState | None) -> list[Event]:
            return honor_rolls.record_objection(state, command, organiser.organiser_id,
                                                self.clock())

        return await self._execute(actor, honor_rolls.stream_id(unit_id, month),
                                   _fold_honor_roll, command, decide)
