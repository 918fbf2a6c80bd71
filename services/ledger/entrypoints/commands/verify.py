"""`ledger verify`: check a tenant's hash chains and seals (tamper evidence), against a
signed checkpoint if one is given, and that this code can read every event (an old
schema version without its upcaster would not be).

Each broken stream gets one line naming its first broken event: tenant, stream, version,
event id and why (hash mismatch, seal mismatch, version gap, missing since checkpoint, …;
docs/SECURITY.md). Exit status 0: intact; 1: something broken or unreadable; 2: the
checkpoint was refused (not one, forged, another key, or without this tenant).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from contract.events import UnknownEventType, decode_data
from ledger import seal_keys
from ledger.adapters.chain import CheckpointRefused, Head, first_break, read_checkpoint
from ledger.adapters.event_store import PostgresEventStore, StoredEvent
from ledger.entrypoints.cli import open_pool


def first_unreadable(stream: Sequence[StoredEvent]) -> tuple[int, str] | None:
    """(version, reason) of the first event that does not decode, or None."""
    for stored in stream:
        try:
            decode_data(stored.type, stored.schema_version, stored.data)
        except (UnknownEventType, msgspec.DecodeError, msgspec.ValidationError,
                KeyError) as error:
            return stored.version, f"{type(error).__name__}: {error}"
    return None


def refused(path: str, reason: str) -> int:
    print(f"REFUSED checkpoint {path}: {reason}", file=sys.stderr)
    return 2


async def verify(args: argparse.Namespace) -> int:
    sealer = seal_keys.load()
    heads: dict[str, Head] | None = None
    if args.checkpoint:
        try:
            raw = await asyncio.to_thread(Path(args.checkpoint).read_bytes)
            checkpoint = read_checkpoint(sealer, raw)
        except (OSError, CheckpointRefused) as error:
            return refused(args.checkpoint, str(error))
        if args.tenant not in checkpoint.tenants:
            return refused(args.checkpoint, f"it holds no tenant {args.tenant!r}")
        heads = checkpoint.tenants[args.tenant].streams
        print(f"checkpoint of {checkpoint.created_at.isoformat()} (key {checkpoint.key_id}): "
              f"{len(heads)} streams, {sum(h.version for h in heads.values())} events",
              file=sys.stderr)
    pool = await open_pool()
    broken = 0
    try:
        store = PostgresEventStore(pool, sealer=sealer)
        if args.stream:
            streams = [args.stream]
        else:
            rows = await pool.fetch(
                "SELECT DISTINCT stream_id FROM ledger.events WHERE tenant_id = $1", args.tenant)
            # Streams gone since the checkpoint are checked too: they are missing.
            streams = sorted({row["stream_id"] for row in rows} | set(heads or ()))
        started = time.monotonic()
        for done, stream_id in enumerate(streams, 1):
            stream = await store.read_stream(args.tenant, stream_id)
            link = first_break(stream, sealer, checkpoint=heads is not None,
                               head=None if heads is None else heads.get(stream_id),
                               tenant_id=args.tenant, stream_id=stream_id)
            unreadable = first_unreadable(stream)
            if link is not None:
                print(link.describe())
            if unreadable is not None:
                version, reason = unreadable
                event = next(e.event_id for e in stream if e.version == version)
                print(f"UNREADABLE {stream_id} at version {version} (tenant {args.tenant}, "
                      f"event {event}): {reason}")
            broken += link is not None or unreadable is not None
            if done % 500 == 0 or done == len(streams):
                rate = done / max(time.monotonic() - started, 1e-9)
                print(f"{done}/{len(streams)} streams checked ({rate:.0f}/s)", file=sys.stderr)
    finally:
        await pool.close()
    if broken:
        print(f"{broken} broken stream(s)")
        return 1
    print("all chains intact, every event readable"
          + ("; nothing dropped since the checkpoint" if heads is not None else ""))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="verify the hash chains and seals (tamper evidence), against a "
                       "checkpoint if given, and that every event decodes")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--stream", help="one stream only")
    parser.add_argument("--checkpoint", metavar="FILE",
                        help="a checkpoint of `ledger seal`: also detects events and streams "
                             "dropped since")
    parser.set_defaults(run=verify)
