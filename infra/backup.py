"""Backup and restore of the ledger's database, and the drill that proves a restore.

    python -m infra.backup dump DIR                 # roles + pg_dump -Fc of DATABASE_URL
    python -m infra.backup restore DIR --data-dir D --port P
                                                    # a fresh server from DIR, feed horizon moved
    python -m infra.backup drill                    # load, dump, restore, verify, rebuild, compare

Why a restore needs more than `pg_restore` (docs/RELIABILITY.md, "Backup and restore"): the
feed orders events by the writing transaction's id (`ledger.events.txid`, xid8) and shows
only those below the oldest running transaction. A dump keeps the column's values but not the
cluster's transaction counter, so on a fresh server the restored txids lie in its future: the
feed would hide every restored event, and new events would get smaller txids than old ones
and be skipped by every reader holding a cursor. `restore` therefore moves the new cluster's
xid epoch past every restored txid (`pg_resetwal -e`, on the stopped server, before anything
writes): restored events keep their (txid, position), so every cursor handed out before the
restore stays valid, and every event appended after it sorts after all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from contract.calendar import today
from contract.events import UnitEstablished
from contract.postgres import create_pool
from infra import migrate, postgres
from infra.demo import load as demo
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent, PostgresEventStore

ROLES_FILE = "roles.sql"
DUMP_FILE = "ledger.dump"
# One xid epoch is 2**32 transactions. The restore starts the new cluster at least one whole
# epoch past the newest restored txid (two epochs up from the newest's own), so that cursors
# readers took from the lost primary after the backup still sort before every new event as
# long as fewer than 2**32 transactions ran there after the backup.
EPOCHS_AHEAD = 2
BIN = Path(sys.executable).parent


def _client(name: str) -> str:
    return str(postgres._bin(name))


def dump(url: str, directory: Path) -> None:
    """The cluster's roles (the grants in the dump name them) and one consistent snapshot
    of the database: the ledger's events and the reports' read models with their
    checkpoints, as of the same instant."""
    directory.mkdir(parents=True, exist_ok=True)
    server = url.rpartition("/")[0] + "/postgres"
    with open(directory / ROLES_FILE, "w") as roles:
        subprocess.run([_client("pg_dumpall"), "--roles-only", "-d", server], check=True,
                       stdout=roles)
    subprocess.run([_client("pg_dump"), "-Fc", "-f", str(directory / DUMP_FILE), url],
                   check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Restored:
    url: str
    newest_txid: int
    # The fresh cluster's own transaction counter before the move: below newest_txid, the
    # feed would have hidden the restored events.
    counter_before: int
    epoch: int
    # Reports checkpoints naming an event the restored ledger does not hold: read models
    # restored from a newer backup than the ledger's, to be rebuilt (`reports rebuild`).
    checkpoints_ahead: int


def restore(directory: Path, data_dir: Path, port: int) -> Restored:
    """A fresh server in `data_dir` on `port` holding the dump, its xid epoch moved past
    every restored txid. Leaves the server running."""
    if postgres._initialised(data_dir.resolve()):
        raise SystemExit(f"{data_dir} already holds a cluster: restore into a fresh one")
    server_url = postgres.start(data_dir, port)
    admin = server_url.rpartition("/")[0] + "/postgres"
    # The bootstrap superuser exists already: that one line fails, the rest apply.
    subprocess.run([_client("psql"), "-q", "-d", admin, "-f", str(directory / ROLES_FILE)],
                   check=True, capture_output=True)
    subprocess.run([_client("pg_restore"), "--exit-on-error", "-d", server_url,
                    str(directory / DUMP_FILE)], check=True)
    newest, current = asyncio.run(_newest_txid(server_url))
    epoch = (newest >> 32) + EPOCHS_AHEAD
    postgres.stop(data_dir)
    postgres._run([_client("pg_resetwal"), "-e", str(epoch), "-D", str(data_dir.resolve())])
    server_url = postgres.start(data_dir, port)
    # At head already, so no revision runs; but the upgrade's last step gives back what a
    # dump does not carry: the database's own grants (reports_writer's CREATE).
    migrate.upgrade(server_url)
    ahead = asyncio.run(_checkpoints_ahead(server_url))
    return Restored(server_url, newest, current, epoch, ahead)


async def _newest_txid(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            """SELECT coalesce(max(txid::text::bigint), 0) AS newest,
                      pg_current_xact_id()::text::bigint AS current FROM ledger.events""")
        return row["newest"], row["current"]
    finally:
        await connection.close()


async def _checkpoints_ahead(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        if await connection.fetchval("SELECT to_regclass('reports.checkpoints')") is None:
            return 0  # the reports keep their read models in a database of their own
        return await connection.fetchval(
            """SELECT count(*) FROM reports.checkpoints c
               WHERE c.position > 0 AND ledger.feed_txid_of(c.tenant_id, c.position)
                     IS DISTINCT FROM c.txid""")
    finally:
        await connection.close()


async def read_model_checksums(url: str) -> dict[str, str]:
    """md5 of every reports table's rows in a stable order; the checkpoints without the
    wall-clock time they were written at."""
    connection = await asyncpg.connect(url)
    try:
        tables = [r["tablename"] for r in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'reports' ORDER BY 1")]
        sums = {}
        for table in tables:
            columns = [r["column_name"] for r in await connection.fetch(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = 'reports' AND table_name = $1
                     AND column_name <> 'updated_at' ORDER BY ordinal_position""", table)]
            row = ", ".join(f't."{c}"' for c in columns)
            sums[table] = await connection.fetchval(
                f"SELECT md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) FROM "
                f"(SELECT ROW({row})::text AS x FROM reports.{table} t) rows")
        return sums
    finally:
        await connection.close()


def _command(name: str, url: str, *args: str) -> str:
    result = subprocess.run([str(BIN / name), *args], env={**os.environ, "DATABASE_URL": url},
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


async def _load(url: str, tenant: str) -> None:
    pool = await create_pool(url, application_name="backup-drill", min_size=1, max_size=4)
    try:
        await demo.load(pool, tenant, scale="demo", seed=1)
    finally:
        await pool.close()


async def _append_one(url: str, tenant: str) -> tuple[int, int]:
    """An event appended after the restore: (its txid, its position)."""
    pool = await create_pool(url, application_name="backup-drill", min_size=1, max_size=2)
    try:
        unit = uuid.uuid4()
        event = UnitEstablished(unit_id=unit, kind="district", parent_id=None,
                                name="恢复后新增", effective=today())
        await PostgresEventStore(pool).append(
            tenant, f"drill-{unit}", NO_STREAM,
            [NewEvent(event_id=uuid.uuid4(), event=event,
                      metadata=Metadata(actor="drill", source="cli"))])
        row = await pool.fetchrow(
            """SELECT txid::text::bigint AS txid, position FROM ledger.events
               WHERE tenant_id = $1 AND stream_id = $2""", tenant, f"drill-{unit}")
        return row["txid"], row["position"]
    finally:
        await pool.close()


async def _feed_after(url: str, tenant: str, cursor: tuple[int, int]) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT position FROM ledger.feed_batch($1, $2, $3, 100000)",
                                      tenant, cursor[0], cursor[1])
        return [r["position"] for r in rows]
    finally:
        await connection.close()


async def _newest_checkpoint(url: str, tenant: str) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            """SELECT txid, position FROM reports.checkpoints WHERE tenant_id = $1
               ORDER BY txid DESC, position DESC LIMIT 1""", tenant)
        return row["txid"], row["position"]
    finally:
        await connection.close()


async def _burn_transactions(url: str, count: int) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"""DO $$ BEGIN FOR i IN 1..{count} LOOP
            PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$""")
    finally:
        await connection.close()


async def _scratch(server_url: str, name: str, *, drop: bool) -> str:
    base = server_url.rpartition("/")[0]
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if drop:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return f"{base}/{name}"


def drill(work: Path, *, say: Callable[[str], None] = print) -> dict[str, object]:
    """Load the demo into a scratch database, project it, back it up, restore it into a
    fresh server on a free port, `ledger verify` every tenant, rebuild the reports there
    and compare; then append and read the feed from the last cursor taken before the
    backup. Raises AssertionError on any difference; stops and removes what it started."""
    tenant = "drill"
    started_here = not os.environ.get("DATABASE_URL") and not postgres.running()
    server_url = os.environ.get("DATABASE_URL") or postgres.start()
    name = f"backup_drill_{uuid.uuid4().hex[:8]}"
    source = asyncio.run(_scratch(server_url, name, drop=False))
    data_dir = work / "restored-pgdata"
    restored_url = None
    try:
        migrate.upgrade(source)
        # A source that has run more transactions than the fresh server will have: the
        # case in which restored txids lie in the new cluster's future.
        asyncio.run(_burn_transactions(source, 5_000))
        asyncio.run(_load(source, tenant))
        _command("reports", source, "rebuild")
        before = asyncio.run(read_model_checksums(source))
        cursor = asyncio.run(_newest_checkpoint(source, tenant))
        say(f"source: {len(before)} read-model tables, newest cursor {cursor[0]}-{cursor[1]}")
        t0 = time.monotonic()
        dump(source, work / "backup")
        say(f"dumped in {time.monotonic() - t0:.1f} s "
            f"({(work / 'backup' / DUMP_FILE).stat().st_size / 1e6:.1f} MB)")
        t0 = time.monotonic()
        restored = restore(work / "backup", data_dir, free_port())
        restored_url = restored.url
        say(f"restored in {time.monotonic() - t0:.1f} s at {restored.url}; newest txid "
            f"{restored.newest_txid} (the fresh cluster's counter: {restored.counter_before}), "
            f"xid epoch now {restored.epoch}; reports checkpoints "
            f"ahead of the ledger: {restored.checkpoints_ahead}")
        assert restored.newest_txid > restored.counter_before, "a case that needs no move"
        assert restored.checkpoints_ahead == 0
        say(_command("ledger", restored.url, "verify", "--tenant", tenant).strip())
        assert asyncio.run(read_model_checksums(restored.url)) == before, "restored differs"
        _command("reports", restored.url, "rebuild")
        after = asyncio.run(read_model_checksums(restored.url))
        differing = sorted(t for t in before if before[t] != after.get(t))
        assert not differing and after.keys() == before.keys(), f"rebuild differs: {differing}"
        say(f"rebuilt on the restored server: {len(after)} tables, same checksums")
        txid, position = asyncio.run(_append_one(restored.url, tenant))
        assert txid > restored.newest_txid, (txid, restored.newest_txid)
        seen = asyncio.run(_feed_after(restored.url, tenant, cursor))
        assert seen == [position], f"the feed after the old cursor gave {seen}, not {position}"
        _command("ledger", restored.url, "verify", "--tenant", tenant)
        say(f"appended after the restore: txid {txid} > {restored.newest_txid}; the feed after "
            "the pre-backup cursor hands it out, once")
        return {"tables": len(after), "newest_txid": restored.newest_txid, "new_txid": txid}
    finally:
        if restored_url is not None or postgres._initialised(data_dir.resolve()):
            postgres.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        asyncio.run(_scratch(server_url, name, drop=True))
        if started_here:
            postgres.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    dump_parser = commands.add_parser("dump", help="back up DATABASE_URL into DIR")
    dump_parser.add_argument("directory", type=Path)
    restore_parser = commands.add_parser("restore", help="a fresh embedded server from DIR")
    restore_parser.add_argument("directory", type=Path)
    restore_parser.add_argument("--data-dir", type=Path, required=True)
    restore_parser.add_argument("--port", type=int, default=0, help="default: a free one")
    commands.add_parser("drill", help="back up, restore, verify, rebuild, compare")
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(postgres.database_url(), args.directory)
    elif args.command == "restore":
        restored = restore(args.directory, args.data_dir, args.port or free_port())
        print(restored.url)
        print(f"newest restored txid {restored.newest_txid}; xid epoch {restored.epoch}; "
              f"reports checkpoints ahead of the ledger: {restored.checkpoints_ahead}"
              + (" -> run `reports rebuild`" if restored.checkpoints_ahead else ""),
              file=sys.stderr)
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="backup-drill-", dir=postgres.PROJECT_ROOT) \
                as work:
            drill(Path(work))
        print("backup drill: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
