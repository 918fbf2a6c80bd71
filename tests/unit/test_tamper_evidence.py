"""The chain, the seals and the checkpoints without a database (ledger.adapters.chain)."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from contract.events import canonical_json
from ledger import seal_keys
from ledger.adapters.chain import (
    CHAIN_VERSION,
    GENESIS_HASH,
    LEGACY_CHAIN,
    CheckpointRefused,
    Head,
    Sealer,
    chain_hash,
    encode_checkpoint,
    first_break,
    read_checkpoint,
    sign_checkpoint,
    tenant_heads,
)
from ledger.adapters.event_store import Metadata, StoredEvent
from tests.fakes import InMemoryEventStore
from tests.new_events import renamed

KEY = b"unit-test-seal-key-0123456789abcdef"
OTHER = b"another-seal-key-0123456789abcdef-xyz"
EVENT_ID = uuid.UUID(int=42)
WHEN = datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=UTC)



async def _stream(count: int = 4) -> list[StoredEvent]:
    store = InMemoryEventStore()
    await store.append("t", "s", 0, [renamed(f"n{i}") for i in range(count)])
    return await store.read_stream("t", "s")


def test_version_1_is_the_rule_events_were_stored_with() -> None:
    data = b'{"name":"a"}'
    envelope = json.dumps([str(EVENT_ID), "s", 1, "UnitRenamed", 1],
                          separators=(",", ":")).encode()
    assert chain_hash(GENESIS_HASH, EVENT_ID, "s", 1, "UnitRenamed", 1, data,
                      chain_version=LEGACY_CHAIN) == hashlib.sha256(
        GENESIS_HASH + envelope + data).digest()


@pytest.mark.parametrize("change", ["data", "metadata", "recorded_at", "version", "type",
                                    "schema_version", "previous"])
def test_version_2_covers_every_part(change: str) -> None:
    parts = {"previous": GENESIS_HASH, "event_id": EVENT_ID, "stream_id": "s", "version": 1,
             "type_name": "UnitRenamed", "schema_version": 1, "data": b'{"name":"a"}',
             "metadata": b'{"actor":"x"}', "recorded_at": WHEN}
    changed = dict(parts, **{
        "data": {"data": b'{"name":"b"}'}, "metadata": {"metadata": b'{"actor":"y"}'},
        "recorded_at": {"recorded_at": WHEN + timedelta(microseconds=1)},
        "version": {"version": 2}, "type": {"type_name": "UnitMoved"},
        "schema_version": {"schema_version": 2}, "previous": {"previous": bytes([1] * 32)},
    }[change])
    assert chain_hash(**parts, chain_version=CHAIN_VERSION) != chain_hash(
        **changed, chain_version=CHAIN_VERSION)


def test_recorded_at_is_hashed_as_an_instant() -> None:
    args = (GENESIS_HASH, EVENT_ID, "s", 1, "UnitRenamed", 1, b"{}")
    shanghai = WHEN.astimezone(ZoneInfo("Asia/Shanghai"))
    assert chain_hash(*args, chain_version=2, metadata=b"{}", recorded_at=WHEN) == chain_hash(
        *args, chain_version=2, metadata=b"{}", recorded_at=shanghai)
    with pytest.raises(ValueError, match="timezone"):
        chain_hash(*args, chain_version=2, metadata=b"{}", recorded_at=WHEN.replace(tzinfo=None))


@pytest.mark.parametrize("key", [KEY, b"k" * 64, b"a-key-longer-than-a-block-" * 4])
def test_seals_are_hmac_sha256(key: bytes) -> None:
    digest = bytes(range(32))
    seal = Sealer(key).seal("t", digest)
    assert seal[8:] == hmac.digest(key, b"volunteer-ledger seal\0t\0" + digest, "sha256")
    assert seal[:8] == hashlib.sha256(b"volunteer-ledger key id\0" + key).digest()[:8]


def test_seals_bind_key_tenant_and_hash() -> None:
    sealer, digest = Sealer(KEY), bytes(range(32))
    seal = sealer.seal("t", digest)
    assert sealer.check_seal("t", digest, seal) is True
    assert sealer.check_seal("u", digest, seal) is False
    assert sealer.check_seal("t", bytes(32), seal) is False
    assert Sealer(OTHER).check_seal("t", digest, seal) is None  # a key it does not hold
    assert Sealer(OTHER, retired=[KEY]).check_seal("t", digest, seal) is True
    forged = seal[:8] + Sealer(OTHER).seal("t", digest)[8:]  # our key id, another key
    assert sealer.check_seal("t", digest, forged) is False


async def test_an_intact_stream_has_no_break() -> None:
    stream = await _stream()
    assert {e.chain_version for e in stream} == {CHAIN_VERSION}
    assert first_break(stream, seal_keys.load()) is None


async def test_a_changed_field_is_a_hash_mismatch_at_that_event() -> None:
    stream = await _stream()
    for field, value in (("data", msgspec.Raw(b'{"name":"forged"}')),
                         ("metadata", msgspec.Raw(b'{"actor":"mallory"}')),
                         ("recorded_at", stream[2].recorded_at - timedelta(days=1))):
        tampered = [*stream[:2], msgspec.structs.replace(stream[2], **{field: value}),
                    *stream[3:]]
        broken = first_break(tampered, seal_keys.load())
        assert broken is not None and (broken.version, broken.event_id, broken.reason) == (
            3, stream[2].event_id, "hash mismatch"), field


async def test_a_recomputed_chain_fails_the_seal() -> None:
    stream = await _stream()
    previous, tampered = GENESIS_HASH, []
    for stored in stream:
        data = b'{"effective":"2026-01-01","name":"forged","unit_id":"' \
            b'00000000-0000-0000-0000-000000000001"}' if stored.version == 2 else stored.data
        previous = chain_hash(previous, stored.event_id, stored.stream_id, stored.version,
                              stored.type, stored.schema_version, bytes(data),
                              chain_version=CHAIN_VERSION, metadata=bytes(stored.metadata),
                              recorded_at=stored.recorded_at)
        tampered.append(msgspec.structs.replace(stored, data=msgspec.Raw(data),
                                                hash=previous.hex()))
    broken = first_break(tampered, seal_keys.load())
    assert broken is not None and (broken.version, broken.reason) == (2, "seal mismatch")


async def test_a_gap_is_named_where_it_is() -> None:
    stream = await _stream(5)
    broken = first_break([*stream[:2], *stream[3:]], seal_keys.load())
    assert broken is not None and (broken.version, broken.event_id, broken.reason) == (
        3, None, "version gap")
    assert str(stream[3].event_id) in broken.detail


async def test_dropped_tail_needs_the_checkpoint() -> None:
    stream = await _stream(5)
    sealer = seal_keys.load()
    head = Head(version=5, hash=stream[-1].hash, event_id=stream[-1].event_id)
    assert first_break(stream[:3], sealer) is None  # what is left is sealed: not enough
    broken = first_break(stream[:3], sealer, checkpoint=True, head=head)
    assert broken is not None and (broken.version, broken.reason) == (
        4, "missing since checkpoint")
    gone = first_break([], sealer, checkpoint=True, head=head, tenant_id="t", stream_id="s")
    assert gone is not None and (gone.stream_id, gone.version, gone.reason) == (
        "s", 1, "missing since checkpoint")
    assert first_break(stream, sealer, checkpoint=True, head=head) is None
    other = Head(version=5, hash="00" * 32, event_id=stream[-1].event_id)
    differs = first_break(stream, sealer, checkpoint=True, head=other)
    assert differs is not None and (differs.version, differs.reason) == (
        5, "differs from checkpoint")


async def test_seals_of_a_dropped_key_count_only_under_a_checkpoint() -> None:
    stream = await _stream(3)  # sealed with the test session's key
    successor = Sealer(b"the-next-seal-key-0123456789abcdef-0")
    broken = first_break(stream, successor)
    assert broken is not None and (broken.version, broken.reason) == (1, "unknown seal key")
    head = Head(version=2, hash=stream[1].hash, event_id=stream[1].event_id)
    # Vouched for up to the head the checkpoint matches, not after it.
    after = first_break(stream, successor, checkpoint=True, head=head)
    assert after is not None and (after.version, after.reason) == (3, "unknown seal key")
    head = Head(version=3, hash=stream[2].hash, event_id=stream[2].event_id)
    assert first_break(stream, successor, checkpoint=True, head=head) is None


def test_checkpoints_are_signed() -> None:
    sealer = Sealer(KEY)
    heads = {"s": Head(version=3, hash="ab" * 32, event_id=EVENT_ID)}
    raw = encode_checkpoint(sign_checkpoint(sealer, {"t": tenant_heads(heads)}, WHEN))
    checkpoint = read_checkpoint(sealer, raw)
    assert checkpoint.tenants["t"].streams == heads
    assert (checkpoint.tenants["t"].stream_count, checkpoint.tenants["t"].event_count) == (1, 3)
    # Re-indented, it is the same checkpoint; changed, it is refused.
    assert read_checkpoint(sealer, json.dumps(json.loads(raw), indent=2).encode()) == checkpoint
    forged = json.loads(raw)
    forged["tenants"]["t"]["streams"]["s"]["version"] = 2
    forged["tenants"]["t"]["event_count"] = 2
    with pytest.raises(CheckpointRefused, match="signature does not match"):
        read_checkpoint(sealer, json.dumps(forged).encode())
    with pytest.raises(CheckpointRefused, match="neither"):
        read_checkpoint(Sealer(OTHER), raw)
    assert read_checkpoint(Sealer(OTHER, retired=[KEY]), raw) == checkpoint
    with pytest.raises(CheckpointRefused, match="not a checkpoint"):
        read_checkpoint(sealer, b"{}")


def test_the_development_key_is_generated_once_and_kept(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(seal_keys.KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    first, again = seal_keys.load(), seal_keys.load()
    assert first.key_id == again.key_id
    kept = tmp_path / "volunteer-ledger" / "page-secrets.json"
    assert seal_keys.KEY in json.loads(kept.read_text())
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_production_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(seal_keys.KEY, KEY.decode())
    monkeypatch.setenv(seal_keys.RETIRED, f" {OTHER.decode()} ,")
    sealer = seal_keys.load()
    assert sealer.key_id == Sealer(KEY).key_id and sealer.knows(Sealer(OTHER).key_id)
    monkeypatch.setenv(seal_keys.KEY, "short")
    with pytest.raises(RuntimeError, match="at least 32"):
        seal_keys.load()
    monkeypatch.setenv(seal_keys.KEY, KEY.decode())
    monkeypatch.setenv(seal_keys.RETIRED, "short")
    with pytest.raises(RuntimeError, match="at least 32"):
        seal_keys.load()


def test_canonical_metadata_is_what_is_hashed() -> None:
    metadata = Metadata(actor="x", source="import", request_id="r")
    assert canonical_json(metadata) == canonical_json(msgspec.json.decode(
        msgspec.json.encode(metadata)))
