"""`reports` command line: serve the API (with the projection runner), rebuild, status.

    reports serve                 # HTTP API on REPORTS_HOST:REPORTS_PORT, runner included
    reports rebuild               # fresh read models from position zero, swapped in at the end
    reports status                # each projection's checkpoint and lag, per tenant
    reports webhooks              # the webhook dispatcher alone (REPORTS_WEBHOOKS=0 in serve)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from contract.cli import run
from contract.cursor import format_cursor
from contract.postgres import create_pool
from contract.serving import serve
from reports.adapters import checkpoints
from reports.adapters.database_feed import DatabaseFeed
from reports.adapters.schema import LIVE, RebuildRunning
from reports.config import DATABASE_ROLE, Settings
from reports.entrypoints.feeds import open_feed, open_feed_pool, open_remote_feed
from reports.service.projections import NAMES
from reports.service.rebuild import REBUILD_BATCH, RebuildProgress, rebuild
from reports.service.webhooks import Dispatcher, prune


async def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    return await serve("reports.entrypoints.app:create_app", host=args.host or settings.host,
                       port=args.port or settings.port,
                       workers=args.workers or settings.workers)


def peak_resident_mb() -> float | None:
    """This process's own peak resident set (Linux VmHWM). Not getrusage's ru_maxrss as
    seen by a parent: a child started by fork+exec carries the parent's figure across."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


async def _rebuild(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    def show(progress: RebuildProgress) -> None:
        print(progress.line(), file=sys.stderr, flush=True)

    try:
        if settings.feed_database_url is not None:
            async with open_feed_pool(settings, application_name="reports-rebuild",
                                      max_size=1) as feed_pool:
                assert feed_pool is not None
                async with feed_pool.acquire() as reader:
                    result = await rebuild(settings.database_url, feed=DatabaseFeed(reader),
                                           batch_size=args.batch_size, on_progress=show)
        elif settings.remote_feed is None:
            # The rebuild reads the ledger's functions on a connection of its own.
            result = await rebuild(settings.database_url, batch_size=args.batch_size,
                                   on_progress=show)
        else:
            async with open_remote_feed(settings.remote_feed) as feed:
                result = await rebuild(settings.database_url, feed=feed,
                                       batch_size=args.batch_size, on_progress=show)
    except RebuildRunning as error:
        print(f"reports rebuild: {error}; nothing done", file=sys.stderr)
        return 1
    peak = peak_resident_mb()
    summary = {"events": result.events_done, "seconds": round(result.seconds, 3),
               "events_per_second": round(result.rate, 1), "peak_rss_mb": peak}
    print(json.dumps(summary) if args.json else
          f"rebuilt {result.events_done} events in {result.seconds:.1f} s "
          f"({result.rate:,.0f} events/s, peak memory {peak} MB); the new read models are live")
    return 0


async def _status(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    pool = await create_pool(settings.database_url, application_name="reports-status",
                             min_size=1, max_size=1, role=DATABASE_ROLE)
    try:
        async with pool.acquire() as connection, \
                open_feed_pool(settings, application_name="reports-status") as feed_pool, \
                open_feed(settings, feed_pool or connection) as feed:
            for tenant_id in await feed.tenant_ids():
                points = await checkpoints.read(connection, LIVE, tenant_id)
                for name in NAMES:
                    point = points.get(name)
                    cursor = point.cursor if point else (0, 0)
                    behind, _ = await feed.lag(tenant_id, cursor)
                    print(f"{tenant_id}\t{name}\t{format_cursor(cursor)}\t"
                          f"behind {behind}\tskipped {point.events_skipped if point else 0}")
    finally:
        await pool.close()
    return 0


async def _webhooks(args: argparse.Namespace) -> int:
    """Deliver until stopped (or, with --once, until nothing is due); or prune the log."""
    settings = Settings.from_env()
    if args.action == "prune":
        days = args.older_than if args.older_than is not None else settings.webhooks.log_days
        if not days and args.older_than is None:
            print("reports webhooks prune: WEBHOOK_LOG_DAYS is 0 (kept for ever); "
                  "give --older-than DAYS", file=sys.stderr)
            return 2
        return await _prune(settings, days)
    pool = await create_pool(settings.database_url, application_name="reports-webhooks",
                             min_size=1, max_size=4)
    try:
        async with open_feed_pool(settings, application_name="reports-webhooks") as feed_pool, \
                open_feed(settings, feed_pool or pool) as feed:
            dispatcher = Dispatcher(pool, feed, pacing=settings.webhooks,
                                    allowlist=settings.webhook_allowlist)
            try:
                if args.once:
                    while await dispatcher.run_once():
                        pass
                else:
                    await dispatcher.run()
            finally:
                await dispatcher.stop()
    finally:
        await pool.close()
    return 0


async def _prune(settings: Settings, days: int) -> int:
    pool = await create_pool(settings.database_url, application_name="reports-webhooks",
                             min_size=1, max_size=1, role=DATABASE_ROLE)
    try:
        async with pool.acquire() as connection:
            pruned = await prune(connection, datetime.now(UTC) - timedelta(days=days))
    finally:
        await pool.close()
    print(f"pruned {pruned} webhook delivery attempts older than {days} days")
    return 0


def _days(text: str) -> int:
    days = int(text)
    if not 0 <= days <= 36_500:
        raise argparse.ArgumentTypeError("0 to 36500 days")
    return days


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reports",
                                     description="社区志愿服务报表 — the reports service.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serving = commands.add_parser("serve", help="run the HTTP API and the projection runner")
    serving.add_argument("--host")
    serving.add_argument("--port", type=int)
    serving.add_argument("--workers", type=int, help="server processes (default: WORKERS, 1)")
    serving.set_defaults(run=_serve)
    rebuild_parser = commands.add_parser(
        "rebuild", help="rebuild every read model from position zero, then swap it in")
    rebuild_parser.add_argument("--batch-size", type=int, default=REBUILD_BATCH)
    rebuild_parser.add_argument("--json", action="store_true",
                                help="print the final figures as one JSON object")
    rebuild_parser.set_defaults(run=_rebuild)
    status = commands.add_parser("status", help="each projection's checkpoint and lag")
    status.set_defaults(run=_status)
    hooks = commands.add_parser("webhooks", help="run the webhook dispatcher")
    hooks.add_argument("action", nargs="?", choices=("run", "prune"), default="run",
                       help="run: deliver (the default); prune: delete old log entries")
    hooks.add_argument("--once", action="store_true",
                       help="deliver what is due now (retries included), then exit")
    hooks.add_argument("--older-than", type=_days, default=None, metavar="DAYS",
                       help="prune: the attempts made more than DAYS days ago "
                            "(default: WEBHOOK_LOG_DAYS)")
    hooks.set_defaults(run=_webhooks)
    return parser


def main(argv: list[str] | None = None) -> None:
    run(build_parser(), argv)


if __name__ == "__main__":
    main()
