"""`ledger import FILE`: historic participation records from CSV or JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import asyncpg

from contract.problems import Refusal
from ledger.config import Settings
from ledger.entrypoints.cli import open_pool
from ledger.handlers import Actor
from ledger.imports.rows import Format, detect_format
from ledger.imports.run import import_records

# On a terminal, the first errors tell the story; the rest are counted.
SHOWN_ERRORS = 50


class _Progress:
    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.started = time.perf_counter()
        self.validated_at = self.started

    def __call__(self, stage: str, count: int) -> None:
        now = time.perf_counter()
        if stage == "validated":
            self.validated_at = now
            print(f"validated {count} rows in {now - self.started:.1f} s", file=self.err)
        else:
            rate = count / max(now - self.validated_at, 1e-9)
            print(f"written {count} events ({rate:,.0f} events/s)", file=self.err)


async def _importer(pool: asyncpg.Pool, tenant: str, login: str) -> Actor | None:
    row = await pool.fetchrow(
        "SELECT organiser_id, unit_id FROM ledger.organisers WHERE tenant_id = $1 AND login = $2",
        tenant, login)
    if row is None:
        return None
    return Actor(tenant_id=tenant, name=f"organiser:{row['organiser_id']}", source="import",
                 can_write=True, organiser_id=row["organiser_id"], scope_unit_id=row["unit_id"])


async def import_file(pool: asyncpg.Pool, path: Path, *, tenant: str, organiser: str,
                      fmt: Format | None = None, dry_run: bool = False,
                      only_valid: bool = False, grace: timedelta = timedelta(minutes=30),
                      out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Import one file as the organiser `organiser` (a login); 0 when every row was valid."""
    fmt = fmt or detect_format(path.name)
    if fmt is None:
        print("cannot tell the format from the file name: pass --format", file=err)
        return 2
    actor = await _importer(pool, tenant, organiser)
    if actor is None:
        print(f"no organiser {organiser!r} in tenant {tenant!r}", file=err)
        return 2
    try:
        source = await asyncio.to_thread(path.read_bytes)
        summary = await import_records(
            pool, actor, source, fmt, now=datetime.now(UTC), grace=grace, dry_run=dry_run,
            only_valid=only_valid, progress=_Progress(err))
    except Refusal as refusal:
        print(f"{refusal.zh} ({refusal.en})", file=err)
        return 1
    for error in summary.errors[:SHOWN_ERRORS]:
        print(f"row {error.row} {error.field or '-'}: {error.zh} / {error.en}", file=out)
    if summary.error_count > SHOWN_ERRORS:
        print(f"... {summary.error_count - SHOWN_ERRORS} more errors", file=out)
    nothing = summary.error_count and not only_valid
    print(f"rows {summary.rows}, activities {summary.activities}, "
          f"events {summary.events}: appended {summary.events_appended}, "
          f"already imported {summary.events_skipped}; errors {summary.error_count}"
          + (" (dry run)" if dry_run else "") + (" — nothing imported" if nothing else ""),
          file=out)
    return 1 if summary.error_count else 0


async def run_import(args: argparse.Namespace) -> int:
    pool = await open_pool("ledger-import")
    grace = timedelta(minutes=Settings.from_env().checkin_grace_minutes)
    try:
        return await import_file(pool, args.file, tenant=args.tenant, organiser=args.organiser,
                                 fmt=args.format, dry_run=args.dry_run,
                                 only_valid=args.only_valid, grace=grace)
    finally:
        await pool.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="import historic participation records (CSV or JSON lines)",
        description="Every row is checked first; with any error nothing is imported "
                    "(unless --only-valid). Importing the same file again appends nothing.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--organiser", required=True,
                        help="login of the organiser importing (and, by default, confirming)")
    parser.add_argument("--format", choices=["csv", "ndjson"],
                        help="default: from the file name (.csv, .jsonl, .ndjson)")
    parser.add_argument("--dry-run", action="store_true", help="check every row, append nothing")
    parser.add_argument("--only-valid", action="store_true",
                        help="import the activities whose rows are all valid")
    parser.set_defaults(run=run_import)
