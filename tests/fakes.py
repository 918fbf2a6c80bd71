"""In-memory implementations of the ledger's ports (ledger.handlers.ports), for handler
tests that need no database. The event store passes the same contract suite as the
PostgreSQL one (tests/integration/test_store_contract.py)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import msgspec

from contract.events import CheckedIn, canonical_json, decode_data, encode_data, event_type
from ledger import seal_keys
from ledger.adapters.chain import CHAIN_VERSION, GENESIS_HASH, link
from ledger.adapters.directory import DirectoryEntry, MemberNumberTaken
from ledger.adapters.event_store import (
    ANY,
    AppendResult,
    EventIdConflict,
    NewEvent,
    StoredEvent,
    WrongExpectedVersion,
)
from ledger.domain.honor_rolls import ComputedRoll


class InMemoryEventStore:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self._positions = itertools.count(1)
        self._transactions = itertools.count(1)
        # Runs before each append is checked: a test's stand-in for another process.
        self.before_append: list = []
        self.sealer = seal_keys.load()

    def _stream(self, tenant_id: str, stream_id: str) -> list[StoredEvent]:
        return [e for e in self.events if (e.tenant_id, e.stream_id) == (tenant_id, stream_id)]

    async def append(self, tenant_id: str, stream_id: str, expected_version: int | None,
                     events: Sequence[NewEvent],
                     previous_hash: bytes | None = None) -> AppendResult:
        if not events:
            raise ValueError("nothing to append")
        for hook in list(self.before_append):
            await hook(tenant_id, stream_id)
        by_id = {(e.tenant_id, e.event_id): e for e in self.events}
        stored = [by_id.get((tenant_id, new.event_id)) for new in events]
        if any(stored):
            return self._replay(stream_id, events, stored)
        stream = self._stream(tenant_id, stream_id)
        current = stream[-1].version if stream else 0
        if expected_version is not ANY and current != expected_version:
            raise WrongExpectedVersion(stream_id, expected_version, current)
        previous = bytes.fromhex(stream[-1].hash) if stream else GENESIS_HASH
        txid = next(self._transactions)
        recorded_at = datetime.now(UTC)
        appended = []
        for version, new in enumerate(events, start=current + 1):
            data, metadata = encode_data(new.event), canonical_json(new.metadata)
            previous, seal = link(self.sealer, tenant_id, previous, new.event_id, stream_id,
                                  version, event_type(new.event), new.event.VERSION, data,
                                  metadata, recorded_at)
            appended.append(StoredEvent(
                tenant_id=tenant_id, position=next(self._positions), txid=txid,
                event_id=new.event_id, stream_id=stream_id, version=version,
                type=event_type(new.event), schema_version=new.event.VERSION,
                data=msgspec.Raw(data), metadata=msgspec.Raw(metadata),
                recorded_at=recorded_at, hash=previous.hex(), chain_version=CHAIN_VERSION,
                seal=seal.hex()))
        self.events += appended
        return AppendResult(stream_id=stream_id, first_version=current + 1,
                            last_version=appended[-1].version,
                            positions=[e.position for e in appended],
                            event_ids=[new.event_id for new in events], last_hash=previous)

    @staticmethod
    def _replay(stream_id: str, events: Sequence[NewEvent],
                stored: list[StoredEvent | None]) -> AppendResult:
        for new, found in zip(events, stored, strict=True):
            if (found is None or found.stream_id != stream_id
                    or found.type != event_type(new.event)
                    or msgspec.json.decode(found.data) != msgspec.json.decode(
                        encode_data(new.event))):
                raise EventIdConflict(new.event_id)
        kept = [e for e in stored if e is not None]
        return AppendResult(stream_id=stream_id, first_version=kept[0].version,
                            last_version=kept[-1].version, positions=[e.position for e in kept],
                            event_ids=[new.event_id for new in events], replayed=True)

    async def read_stream(self, tenant_id: str, stream_id: str,
                          after_version: int = 0) -> list[StoredEvent]:
        return [e for e in self._stream(tenant_id, stream_id) if e.version > after_version]

    async def command_events(self, tenant_id: str,
                             first_event_id: uuid.UUID) -> list[StoredEvent]:
        first = next((e for e in self.events
                      if (e.tenant_id, e.event_id) == (tenant_id, first_event_id)), None)
        if first is None:
            return []
        return [e for e in self.events if e.tenant_id == tenant_id and e.txid == first.txid]

    async def member_activity_streams(self, tenant_id: str, member_id: uuid.UUID,
                                      since: datetime, until: datetime) -> list[str]:
        found = []
        for e in self.events:
            if e.tenant_id != tenant_id or e.type != "CheckedIn":
                continue
            event = decode_data(e.type, e.schema_version, e.data)
            assert isinstance(event, CheckedIn)
            if event.member_id == member_id and since <= event.at <= until \
                    and e.stream_id not in found:
                found.append(e.stream_id)
        return found


class InMemoryDirectory:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, uuid.UUID], DirectoryEntry] = {}

    async def put(self, tenant_id: str, member_id: uuid.UUID, *, member_number: str,
                  name: str, phone: str | None, pin: str | None) -> None:
        for (tenant, other), entry in self.entries.items():
            if tenant == tenant_id and other != member_id \
                    and entry.member_number == member_number:
                raise MemberNumberTaken(member_number)
        self.entries[(tenant_id, member_id)] = DirectoryEntry(
            member_id=member_id, member_number=member_number, name=name, phone=phone,
            erased=False)

    async def get(self, tenant_id: str, member_id: uuid.UUID) -> DirectoryEntry | None:
        return self.entries.get((tenant_id, member_id))

    async def erase(self, tenant_id: str, member_id: uuid.UUID) -> bool:
        if (tenant_id, member_id) not in self.entries:
            return False
        self.entries[(tenant_id, member_id)] = DirectoryEntry(
            member_id=member_id, member_number=None, name=None, phone=None, erased=True)
        return True


class InMemoryOrganisers:
    def __init__(self) -> None:
        self.accounts: set[tuple[str, uuid.UUID]] = set()

    async def known(self, tenant_id: str,
                    organiser_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        return {i for i in organiser_ids if (tenant_id, i) in self.accounts}


class FixedRolls:
    """A RollSource answering a prepared roll, and counting the questions."""

    def __init__(self, roll: ComputedRoll) -> None:
        self.roll = roll
        self.asked = 0

    async def computed_roll(self, tenant_id: str, unit_id: uuid.UUID, month: str,
                            rule_set: str, rule_version: int | None) -> ComputedRoll:
        self.asked += 1
        return self.roll
