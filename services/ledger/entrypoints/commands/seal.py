"""`ledger seal --out FILE`: a signed checkpoint of every stream's head, per tenant, to keep
outside the database (`ledger verify --checkpoint FILE` then detects events or whole
streams dropped since, which the seals of the remaining events cannot show).

The heads are read in one snapshot. A head whose seal does not hold is refused rather
than signed: run `ledger verify` first, since a checkpoint vouches for what it records.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ledger import seal_keys
from ledger.adapters.chain import (
    CHAIN_VERSION,
    Head,
    TenantHeads,
    encode_checkpoint,
    sign_checkpoint,
    tenant_heads,
)
from ledger.entrypoints.cli import open_pool

# One backward walk of the (tenant, stream, version) index.
_HEADS = """SELECT DISTINCT ON (stream_id) stream_id, version, event_id,
        encode(hash, 'hex') AS hash, chain_version, seal
    FROM ledger.events WHERE tenant_id = $1 ORDER BY stream_id, version DESC"""


async def seal(args: argparse.Namespace) -> int:
    sealer = seal_keys.load()
    pool = await open_pool("ledger-seal")
    tenants: dict[str, TenantHeads] = {}
    try:
        async with pool.acquire() as connection, connection.transaction(
                isolation="repeatable_read", readonly=True):
            ids = args.tenant or [row["tenant_id"] for row in await connection.fetch(
                "SELECT tenant_id FROM ledger.tenants ORDER BY tenant_id")]
            for tenant_id in ids:
                heads: dict[str, Head] = {}
                for row in await connection.fetch(_HEADS, tenant_id):
                    if row["chain_version"] == CHAIN_VERSION and not sealer.check_seal(
                            tenant_id, bytes.fromhex(row["hash"]), bytes(row["seal"] or b"")):
                        print(f"REFUSED: the head of {row['stream_id']} (tenant {tenant_id}, "
                              f"version {row['version']}) is not sealed by a known key; run "
                              "`ledger verify`", file=sys.stderr)
                        return 1
                    heads[row["stream_id"]] = Head(version=row["version"], hash=row["hash"],
                                                   event_id=uuid.UUID(str(row["event_id"])))
                tenants[tenant_id] = tenant_heads(heads)
    finally:
        await pool.close()
    checkpoint = sign_checkpoint(sealer, tenants, datetime.now(UTC))
    encoded = encode_checkpoint(checkpoint)
    if args.out == "-":
        sys.stdout.buffer.write(encoded)
    else:
        await asyncio.to_thread(_write, Path(args.out), encoded)
    streams = sum(t.stream_count for t in tenants.values())
    events = sum(t.event_count for t in tenants.values())
    print(f"checkpoint of {len(tenants)} tenant(s), {streams} streams, {events} events, "
          f"signed with key {checkpoint.key_id} -> {args.out}", file=sys.stderr)
    return 0


def _write(out: Path, encoded: bytes) -> None:
    """Whole or not at all: a checkpoint cut short would be refused by verify."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    temporary.write_bytes(encoded)
    temporary.replace(out)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "seal", help="export a signed checkpoint of every stream's head (keep it outside "
                     "the database; `ledger verify --checkpoint FILE` checks against it)")
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write it (-: "
                                                                     "standard output)")
    parser.add_argument("--tenant", action="append",
                        help="only this tenant (repeatable; default: every tenant)")
    parser.set_defaults(run=seal)
