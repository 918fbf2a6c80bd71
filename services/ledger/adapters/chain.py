"""Tamper evidence: the one hash every writer computes, the seals, and what verify checks.

Every event of a stream carries `hash`, which covers the event and the previous event's
hash, so a stream is a chain. `chain_version` (revision 0007) says which rule made it:

* **1** — events stored before revision 0007: `sha256(previous ‖ envelope ‖ data)`, the
  envelope being the canonical JSON `[event_id, stream_id, version, type, schema_version]`.
  Not sealed. Still verified under this rule, forever.
* **2** — every event written since: `sha256(previous ‖ envelope ‖ data ‖ metadata)`, the
  envelope `[2, event_id, stream_id, version, type, schema_version, recorded_at]` with
  `recorded_at` in whole microseconds since the Unix epoch, data and metadata as canonical
  JSON (each piece is a complete JSON text, so the concatenation is unambiguous). And
  `seal = key_id ‖ HMAC-SHA256(key, "volunteer-ledger seal\\0" ‖ tenant_id ‖ "\\0" ‖ hash)`
  with a key the database does not hold (`ledger.seal_keys`): whoever edits a row and
  recomputes the chain cannot make the seals match.

The seal names its key (8 bytes of a fingerprint), so keys can be rotated: the current key
seals, retired keys still verify. Checkpoints (`ledger seal`, `Checkpoint` below) are
signed with the same keys and hold every stream's head: they catch what seals cannot,
events or whole streams dropped from the end.

Writers call `link` (the store's append, `bulk_append`, hence imports and the demo loader,
and the in-memory fake of the tests); `first_break` is the verification.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec

from contract.events import canonical_json

GENESIS_HASH = bytes(32)
# The rule of events stored before revision 0007, and the rule of every new event.
LEGACY_CHAIN = 1
CHAIN_VERSION = 2
CHAIN_VERSIONS = (LEGACY_CHAIN, CHAIN_VERSION)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SEAL_DOMAIN = b"volunteer-ledger seal\0"
_CHECKPOINT_DOMAIN = b"volunteer-ledger checkpoint\0"
_KEY_ID_DOMAIN = b"volunteer-ledger key id\0"
KEY_ID_BYTES = 8
SEAL_BYTES = KEY_ID_BYTES + 32


# A writer stamps a whole append (or batch) with one instant: computed once for all.
_last_recorded: tuple[datetime | None, int] = (None, 0)


def recorded_microseconds(recorded_at: datetime) -> int:
    """`recorded_at` as hashed: whole microseconds since the epoch (PostgreSQL's precision)."""
    global _last_recorded
    last, micros = _last_recorded
    if recorded_at is last:
        return micros
    if recorded_at.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    micros = (recorded_at - _EPOCH) // _MICROSECOND
    _last_recorded = (recorded_at, micros)
    return micros


def chain_hash(previous: bytes, event_id: uuid.UUID, stream_id: str, version: int,
               type_name: str, schema_version: int, data: bytes, *, chain_version: int,
               metadata: bytes | None = None, recorded_at: datetime | None = None) -> bytes:
    """The hash of one event under its chain version; `data` and `metadata` are canonical
    JSON (what is stored). Version 1 ignores metadata and recorded_at."""
    if chain_version == LEGACY_CHAIN:
        envelope = canonical_json([str(event_id), stream_id, version, type_name,
                                   schema_version])
        return hashlib.sha256(previous + envelope + data).digest()
    if chain_version != CHAIN_VERSION:
        raise ValueError(f"unknown chain version {chain_version}")
    if metadata is None or recorded_at is None:
        raise ValueError("chain version 2 covers metadata and recorded_at")
    envelope = canonical_json([chain_version, str(event_id), stream_id, version, type_name,
                               schema_version, recorded_microseconds(recorded_at)])
    return hashlib.sha256(previous + envelope + data + metadata).digest()


def key_id(key: bytes) -> bytes:
    """A key's public fingerprint (it reveals nothing of the key)."""
    return hashlib.sha256(_KEY_ID_DOMAIN + key).digest()[:KEY_ID_BYTES]


class _Hmac:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once: a seal per
    event costs a third of `hmac.digest`, which sets the key up on every call."""

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_BLOCK = 64  # SHA-256's block size


class Sealer:
    """The sealing keys: `key` seals and signs; it and the `retired` ones verify."""

    def __init__(self, key: bytes, retired: Iterable[bytes] = ()) -> None:
        self._key = _Hmac(key)
        self._id = key_id(key)
        self._keys = {key_id(k): _Hmac(k) for k in retired}
        self._keys[self._id] = self._key

    @property
    def key_id(self) -> str:
        return self._id.hex()

    def knows(self, key_id_hex: str) -> bool:
        return bytes.fromhex(key_id_hex) in self._keys

    def seal(self, tenant_id: str, digest: bytes) -> bytes:
        return self._id + self._key.digest(_seal_message(tenant_id, digest))

    def check_seal(self, tenant_id: str, digest: bytes, seal: bytes) -> bool | None:
        """True if `seal` is this event's; False if not; None if its key is not known."""
        key = self._keys.get(seal[:KEY_ID_BYTES])
        if key is None:
            return None
        if len(seal) != SEAL_BYTES:
            return False
        expected = key.digest(_seal_message(tenant_id, digest))
        return hmac.compare_digest(expected, seal[KEY_ID_BYTES:])

    def sign(self, payload: bytes) -> str:
        return self._key.digest(_CHECKPOINT_DOMAIN + payload).hex()

    def check_signature(self, key_id_hex: str, payload: bytes, signature: str) -> bool | None:
        """Like check_seal, for a checkpoint's signature."""
        key = self._keys.get(bytes.fromhex(key_id_hex))
        if key is None:
            return None
        expected = key.digest(_CHECKPOINT_DOMAIN + payload).hex()
        return hmac.compare_digest(expected, signature)


def _seal_message(tenant_id: str, digest: bytes) -> bytes:
    return _SEAL_DOMAIN + tenant_id.encode() + b"\0" + digest


def link(sealer: Sealer, tenant_id: str, previous: bytes, event_id: uuid.UUID,
         stream_id: str, version: int, type_name: str, schema_version: int, data: bytes,
         metadata: bytes, recorded_at: datetime) -> tuple[bytes, bytes]:
    """(hash, seal) of a new event: what every writer stores."""
    digest = chain_hash(previous, event_id, stream_id, version, type_name, schema_version,
                        data, chain_version=CHAIN_VERSION, metadata=metadata,
                        recorded_at=recorded_at)
    return digest, sealer.seal(tenant_id, digest)


# ------------------------------------------------------------------------ verification


class Stored(Protocol):
    """What verification reads of a stored event (ledger.adapters.event_store.StoredEvent)."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def data(self) -> Any: ...
    @property
    def metadata(self) -> Any: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def hash(self) -> str: ...
    @property
    def chain_version(self) -> int: ...
    @property
    def seal(self) -> str | None: ...


class Head(msgspec.Struct, frozen=True, kw_only=True):
    """A stream's last event when a checkpoint was made."""

    version: int
    hash: str
    event_id: uuid.UUID


class Break(msgspec.Struct, frozen=True, kw_only=True):
    """The first event of a stream that does not verify, and why."""

    tenant_id: str
    stream_id: str
    version: int
    # None when the event is not there any more (a gap, or missing since a checkpoint).
    event_id: uuid.UUID | None
    reason: str
    detail: str

    def describe(self) -> str:
        event = self.event_id or "missing"
        return (f"BROKEN {self.stream_id} at version {self.version} (tenant {self.tenant_id}, "
                f"event {event}): {self.reason}: {self.detail}")


def first_break(stream: Sequence[Stored], sealer: Sealer, *, checkpoint: bool = False,
                head: Head | None = None, tenant_id: str = "", stream_id: str = ""
                ) -> Break | None:
    """Recompute a stream's chain (`stream` in version order) and check its seals; the
    first event that fails, or None.

    With `checkpoint`, `head` is the stream's head in that checkpoint (None: the stream is
    newer than the checkpoint): the stream must still reach that head with the same hash,
    and no unsealed (chain version 1) event may follow it, since no writer has made one
    since revision 0007. Seals made with a key the sealer no longer holds count only
    where the checkpoint vouches for them (at or before a head it matches).
    """
    if stream:
        tenant_id, stream_id = stream[0].tenant_id, stream[0].stream_id

    def broken(version: int, event_id: uuid.UUID | None, reason: str, detail: str) -> Break:
        return Break(tenant_id=tenant_id, stream_id=stream_id, version=version,
                     event_id=event_id, reason=reason, detail=detail)

    previous = GENESIS_HASH
    expected = 1
    sealed = False
    # A seal of a key we do not hold, waiting for the checkpoint's head to vouch for it.
    unvouched: Break | None = None
    head_version = head.version if head is not None else 0
    for stored in stream:
        version, event_id = stored.version, stored.event_id
        if version != expected:
            return broken(expected, None, "version gap",
                          f"version {expected} is missing; the next stored is version "
                          f"{version} (event {event_id})")
        data = canonical_json(msgspec.json.decode(stored.data))
        if stored.chain_version == LEGACY_CHAIN:
            if sealed:
                return broken(version, event_id, "unsealed after sealed",
                              "a chain version 1 event after a sealed one: no writer makes "
                              "those since revision 0007")
            if checkpoint and version > head_version:
                return broken(version, event_id, "unsealed since checkpoint",
                              "a chain version 1 event after the checkpoint's head: no "
                              "writer makes those since revision 0007")
            digest = chain_hash(previous, event_id, stored.stream_id, version, stored.type,
                                stored.schema_version, data, chain_version=LEGACY_CHAIN)
        elif stored.chain_version == CHAIN_VERSION:
            digest = chain_hash(previous, event_id, stored.stream_id, version, stored.type,
                                stored.schema_version, data, chain_version=CHAIN_VERSION,
                                metadata=canonical_json(msgspec.json.decode(stored.metadata)),
                                recorded_at=stored.recorded_at)
        else:
            return broken(version, event_id, "unknown chain version",
                          f"chain version {stored.chain_version} is not one this code knows")
        if digest.hex() != stored.hash:
            return broken(version, event_id, "hash mismatch",
                          "the stored hash is not that of the event's content (data, "
                          "metadata, recorded_at) and its predecessor's hash")
        if stored.chain_version == CHAIN_VERSION:
            sealed = True
            if stored.seal is None:
                return broken(version, event_id, "seal missing", "a sealed event without seal")
            verdict = sealer.check_seal(tenant_id, digest, bytes.fromhex(stored.seal))
            if verdict is False:
                return broken(version, event_id, "seal mismatch",
                              "the seal is not the key's over this hash: the event, or an "
                              "unsealed one before it, was changed and the chain recomputed")
            if verdict is None:
                unknown = broken(version, event_id, "unknown seal key",
                                 f"sealed with key {stored.seal[:2 * KEY_ID_BYTES]}, which is "
                                 "neither LEDGER_SEAL_KEY nor a retired key")
                if version > head_version:
                    return unvouched or unknown
                unvouched = unvouched or unknown
        if checkpoint and version == head_version and head is not None:
            if stored.hash != head.hash or event_id != head.event_id:
                return unvouched or broken(
                    version, event_id, "differs from checkpoint",
                    f"the checkpoint's head here was event {head.event_id} with hash "
                    f"{head.hash[:16]}…: this event or one before it was changed")
            unvouched = None
        previous = digest
        expected += 1
    if unvouched is not None:
        return unvouched
    if checkpoint and head is not None and expected <= head.version:
        return broken(expected, None, "missing since checkpoint",
                      f"versions {expected}–{head.version} were in the checkpoint (its head "
                      f"event {head.event_id}) and are not stored any more")
    return None


# ------------------------------------------------------------------------ checkpoints

CHECKPOINT_FORMAT = "volunteer-ledger checkpoint"


class TenantHeads(msgspec.Struct, frozen=True, kw_only=True):
    streams: dict[str, Head]
    # Totals: the number of streams, and of events (the sum of the heads' versions).
    stream_count: int
    event_count: int


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """Every stream's head, per tenant, signed with a sealing key: kept outside the
    database, it catches events (or streams) dropped since."""

    format: str = CHECKPOINT_FORMAT
    version: int = 1
    created_at: datetime
    key_id: str
    tenants: dict[str, TenantHeads]
    signature: str = ""


class CheckpointRefused(Exception):
    """A checkpoint file that is not one, or whose signature does not hold."""


def tenant_heads(heads: dict[str, Head]) -> TenantHeads:
    return TenantHeads(streams=heads, stream_count=len(heads),
                       event_count=sum(h.version for h in heads.values()))


def _signed_part(checkpoint: Checkpoint) -> bytes:
    body = msgspec.to_builtins(checkpoint)
    body.pop("signature", None)
    return canonical_json(body)


def sign_checkpoint(sealer: Sealer, tenants: dict[str, TenantHeads],
                    created_at: datetime) -> Checkpoint:
    unsigned = Checkpoint(created_at=created_at, key_id=sealer.key_id, tenants=tenants)
    return msgspec.structs.replace(unsigned, signature=sealer.sign(_signed_part(unsigned)))


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    return canonical_json(checkpoint) + b"\n"


def read_checkpoint(sealer: Sealer, raw: bytes) -> Checkpoint:
    """The checkpoint in `raw`, if its signature holds; CheckpointRefused otherwise."""
    try:
        checkpoint = msgspec.json.decode(raw, type=Checkpoint)
        bytes.fromhex(checkpoint.key_id)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
        raise CheckpointRefused(f"not a checkpoint file: {error}") from None
    if checkpoint.format != CHECKPOINT_FORMAT or checkpoint.version != 1:
        raise CheckpointRefused(f"not a checkpoint of this ledger: {checkpoint.format!r} "
                                f"version {checkpoint.version}")
    verdict = sealer.check_signature(checkpoint.key_id, _signed_part(checkpoint),
                                     checkpoint.signature)
    if verdict is None:
        raise CheckpointRefused(f"signed with key {checkpoint.key_id}, which is neither "
                                "LEDGER_SEAL_KEY nor a retired key")
    if not verdict:
        raise CheckpointRefused("the signature does not match: the file was altered or "
                                "forged")
    for tenant_id, heads in checkpoint.tenants.items():
        if heads != tenant_heads(heads.streams):
            raise CheckpointRefused(f"the totals of tenant {tenant_id} do not add up")
    return checkpoint
