"""Check the tamper-evident hash chains of a tenant's streams, and that this code can read
every event in them (an old schema version without its upcaster would not be)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import msgspec

from contract.events import UnknownEventType, decode_data
from ledger.adapters.event_store import PostgresEventStore, StoredEvent, first_broken_link
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


async def verify(args: argparse.Namespace) -> int:
    pool = await open_pool()
    broken = 0
    try:
        store = PostgresEventStore(pool)
        if args.stream:
            streams = [args.stream]
        else:
            rows = await pool.fetch(
                "SELECT DISTINCT stream_id FROM ledger.events WHERE tenant_id = $1", args.tenant)
            streams = [row["stream_id"] for row in rows]
        started = time.monotonic()
        for done, stream_id in enumerate(streams, 1):
            stream = await store.read_stream(args.tenant, stream_id)
            version = first_broken_link(stream)
            unreadable = first_unreadable(stream)
            if version is not None:
                print(f"BROKEN {stream_id} at version {version}")
            if unreadable is not None:
                print(f"UNREADABLE {stream_id} at version {unreadable[0]}: {unreadable[1]}")
            broken += version is not None or unreadable is not None
            if done % 500 == 0 or done == len(streams):
                rate = done / max(time.monotonic() - started, 1e-9)
                print(f"{done}/{len(streams)} streams checked ({rate:.0f}/s)", file=sys.stderr)
    finally:
        await pool.close()
    print("all chains intact, every event readable" if not broken
          else f"{broken} broken stream(s)")
    return 1 if broken else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="verify the hash chains (tamper evidence) and that every event decodes")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--stream", help="one stream only")
    parser.set_defaults(run=verify)
