"""Check the tamper-evident hash chains of a tenant's streams."""

from __future__ import annotations

import argparse
import sys
import time

from ledger.adapters.event_store import PostgresEventStore
from ledger.entrypoints.cli import open_pool


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
            version = await store.verify_chain(args.tenant, stream_id)
            if version is not None:
                broken += 1
                print(f"BROKEN {stream_id} at version {version}")
            if done % 500 == 0 or done == len(streams):
                rate = done / max(time.monotonic() - started, 1e-9)
                print(f"{done}/{len(streams)} streams checked ({rate:.0f}/s)", file=sys.stderr)
    finally:
        await pool.close()
    print("all chains intact" if not broken else f"{broken} broken stream(s)")
    return 1 if broken else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="verify the hash chains (tamper evidence)")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--stream", help="one stream only")
    parser.set_defaults(run=verify)
