"""One batch of the feed through the projections, in two steps:

1. `decode_batch`: raw events -> decoded events (needs no checkpoint);
2. `apply_batch`: each projection past its checkpoint loads the rows the batch touches,
   folds the events into them in memory and saves what changed; then every checkpoint.
   All in the caller's transaction, so the batch's effect lands exactly once.

The live runner reads, decodes and applies in one transaction (runner.py). A rebuild reads
and decodes the next batches on another connection while the current one is applied
(`apply_decoded`, rebuild.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec

from contract.cursor import Cursor
from contract.events import BY_NAME, UnknownEventType, current_decoders, decode_data
from reports.adapters import checkpoints
from reports.domain.projection import EventMeta
from reports.service.ports import RawEvent
from reports.service.projections import PROJECTIONS, Projection

log = logging.getLogger("reports.runner")

# Decoding hands the event loop back this often, so that a rebuild's batch being saved
# meanwhile is not held up while the next one is decoded.
YIELD_EVERY = 1000

# Event types skipped because this code does not know them (a newer ledger): type -> count.
# The durable count is in each checkpoint's events_skipped; this one is for logs and /status.
unknown_types: dict[str, int] = {}

# The common case, decoded without decode_data's checks: a current version of a known type.
_CURRENT = current_decoders()
# A projection's reads (Projection.reads) -> their decoder, made once.
_VIEWS: dict[type, Callable[[bytes], msgspec.Struct]] = {}


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """Events read after `after`, decoded once for all projections.

    `events` (with their types in `names`) holds those some projection takes, and those
    this code cannot read (decoded as None: each projection counts them as skipped); `size`
    counts every event read.
    """

    after: Cursor
    last: Cursor
    last_recorded_at: datetime
    size: int
    names: list[str]
    events: list[tuple[msgspec.Struct | None, EventMeta]]


class FeedGap(RuntimeError):
    """A batch read ahead starts after a projection's checkpoint: applying it would skip."""


def _decode(name: str, version: int, data: bytes, position: int) -> msgspec.Struct | None:
    try:
        return decode_data(name, version, data)
    except UnknownEventType:
        reason = "unknown event type"
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as error:
        # A stored event this code cannot read (a missing upcaster, say): skip, never loop.
        reason = f"undecodable ({error})"
    unknown_types[name] = unknown_types.get(name, 0) + 1
    log.warning("skipping event %s at position %d: %s", name, position, reason)
    return None


def _view_decoder(view: type[msgspec.Struct]) -> Callable[[bytes], msgspec.Struct]:
    decoder = _VIEWS.get(view)
    if decoder is None:
        decoder = _VIEWS[view] = msgspec.json.Decoder(view).decode
    return decoder


def _decoders(projections: Sequence[Projection]) -> dict[str, tuple[int, Callable]]:
    """Type name -> (the schema version decoded directly, its decoder), for each type some
    projection takes: what that projection reads of it if it alone takes the type (see
    Projection.reads), else the whole event. Other versions go through decode_data."""
    takers: dict[str, int] = {}
    for projection in projections:
        for name in projection.event_types:
            takers[name] = takers.get(name, 0) + 1
    decoders = {name: _CURRENT[name] for name in takers if name in _CURRENT}
    for projection in projections:
        for cls, view in projection.reads.items():
            if takers.get(cls.__name__) == 1:
                decoders[cls.__name__] = (cls.VERSION, _view_decoder(view))
    return decoders


async def decode_batch(raws: Sequence[RawEvent], after: Cursor,
                       projections: Sequence[Projection] = PROJECTIONS) -> DecodedBatch:
    decoders = _decoders(projections)
    names: list[str] = []
    events: list[tuple[msgspec.Struct | None, EventMeta]] = []
    for number, (txid, position, name, version, data, recorded_at, imported) in enumerate(
            raws, start=1):
        current = decoders.get(name)
        # Known types no projection takes (CorrectionRequested, say) are passed over;
        # unknown ones are decoded as None (skipped, counted).
        if current is not None or name not in BY_NAME:
            if current is not None and current[0] == version:
                try:
                    event = current[1](data)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    event = _decode(name, version, data, position)
            else:
                event = _decode(name, version, data, position)
            names.append(name)
            events.append((event, EventMeta(txid, position, recorded_at, imported)))
        if not number % YIELD_EVERY:
            await asyncio.sleep(0)
    txid, position, *_, recorded_at, _ = raws[-1]
    return DecodedBatch(after, (txid, position), recorded_at, len(raws), names, events)


def _route(batch: DecodedBatch, projections: Sequence[Projection], seen: Sequence[Cursor],
           ) -> tuple[list[list[tuple[msgspec.Struct, EventMeta]]], list[int]]:
    """Each projection's events past its checkpoint, and how many it skips."""
    mine: list[list[tuple[msgspec.Struct, EventMeta]]] = [[] for _ in projections]
    skipped = [0] * len(projections)
    # Usually every projection is at the batch's start: then no per-event comparison.
    level = all(cursor == batch.after for cursor in seen)
    routes: dict[str, list[int]] = {}
    for index, projection in enumerate(projections):
        for name in projection.event_types:
            routes.setdefault(name, []).append(index)
    for name, pair in zip(batch.names, batch.events, strict=True):
        if pair[0] is None:
            meta = pair[1]
            for index in range(len(projections)):
                skipped[index] += level or (meta.txid, meta.position) > seen[index]
        elif level:
            for index in routes.get(name, ()):
                mine[index].append(pair)
        else:
            meta = pair[1]
            for index in routes.get(name, ()):
                if (meta.txid, meta.position) > seen[index]:
                    mine[index].append(pair)
    return mine, skipped


async def apply_batch(connection: asyncpg.Connection, schema: str, tenant_id: str,
                      batch: DecodedBatch, points: dict[str, checkpoints.Checkpoint], *,
                      projections: Sequence[Projection] = PROJECTIONS) -> None:
    """Inside the caller's transaction, with the checkpoints `points` locked: fold the batch
    into each projection past its checkpoint, save the rows, then the checkpoints."""
    mine, skipped = _route(batch, projections, [points[p.name].cursor for p in projections])
    for index, projection in enumerate(projections):
        events = mine[index]
        if events:
            fold = projection.new_batch()
            await projection.load(connection, schema, tenant_id, fold,
                                  fold.wanted([event for event, _ in events]))
            for event, meta in events:
                fold.apply(event, meta)
            await projection.save(connection, schema, tenant_id, fold)
        point = points[projection.name]
        if point.cursor < batch.last:
            point.events_applied += len(events)
            point.events_skipped += skipped[index]
            point.cursor = batch.last
            point.last_recorded_at = batch.last_recorded_at
    await checkpoints.save(connection, schema, tenant_id, list(points.values()))


async def apply_decoded(connection: asyncpg.Connection, schema: str, tenant_id: str,
                        batch: DecodedBatch, *,
                        projections: Sequence[Projection] = PROJECTIONS) -> None:
    """Apply a batch read on another connection, in one transaction with the checkpoints.

    The feed never changes below its horizon, so a batch read earlier is as good as one read
    now, provided no projection's checkpoint is behind the batch's start.
    """
    async with connection.transaction():
        points = await checkpoints.lock(connection, schema, tenant_id,
                                        [p.name for p in projections])
        behind = min(point.cursor for point in points.values())
        if behind < batch.after:
            raise FeedGap(f"tenant {tenant_id}: checkpoint {behind} is behind the batch "
                          f"read after {batch.after}")
        await apply_batch(connection, schema, tenant_id, batch, points,
                          projections=projections)
