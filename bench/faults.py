"""Faults under load, and the checks that say what survived (`make faults`).

    python -m bench.faults            # the long run: 11 faults, as issue 11 measured by hand
    python -m bench.faults --short    # the CI run: one fault of each kind

A private PostgreSQL cluster, the ledger and reports as real processes (bench.cluster), and
16 clients checking members in with command ids, retrying until acknowledged
(bench.checkin_load). Faults: kill -9 of the ledger; of reports while it projects; of a
`reports rebuild` once it has begun filling `reports_next` (then reports is restarted,
which must drop what the rebuild left); PostgreSQL stopped in immediate mode for some
seconds and started again, the services left running. A fault is survived when the
services answer again by themselves and both appends and projections move on.

Afterwards: every acknowledged command is in the store exactly once (its first event has
the command id as its event id; no member is checked into an activity twice), the read
models equal a fresh `reports rebuild`, and no `reports_next` schema is left. Prints one
line per fault and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.checkin_load import TENANT, CheckinLoad, LoadResult
from bench.cluster import Cluster, Service, deployment, interruptible
from infra.backup import BIN, read_model_checksums
from reports.service.projections import NAMES

SHORT = [("ledger", 0), ("reports", 0), ("rebuild", 0), ("postgres", 2)]
LONG = [("ledger", 0), ("reports", 0), ("postgres", 1), ("rebuild", 0), ("ledger", 0),
        ("reports", 0), ("postgres", 8), ("rebuild", 0), ("ledger", 0), ("reports", 0),
        ("postgres", 20)]


async def until(check: Callable[[], Awaitable[bool]], within: float,
                interval: float = 0.2) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if await check():
                return True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # the database may still be coming back
        await asyncio.sleep(interval)
    return False


async def _fetchval(url: str, sql: str, *args: object) -> object:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def projected_position(url: str) -> int:
    """The oldest position any of the tenant's projections has reached."""
    value = await _fetchval(url, """SELECT coalesce(min(position), 0) FROM reports.checkpoints
                                     WHERE tenant_id = $1""", TENANT)
    return int(value)  # type: ignore[arg-type]


async def behind(url: str) -> tuple[int, float]:
    """(events, seconds) the slowest projection is behind the ledger; (-1, 0) before every
    projection has a checkpoint."""
    connection = await asyncpg.connect(url, timeout=5)
    try:
        row = await connection.fetchrow(
            """SELECT count(*) AS projections, max(l.events) AS events,
                      extract(epoch FROM now() - min(l.oldest)) AS seconds
               FROM reports.checkpoints c,
                    ledger.feed_lag(c.tenant_id, c.txid, c.position) l
               WHERE c.tenant_id = $1""", TENANT)
    finally:
        await connection.close()
    if row["projections"] < len(NAMES):
        return -1, 0.0
    return row["events"], float(row["seconds"] or 0.0)


async def reports_next_exists(url: str) -> bool:
    return bool(await _fetchval(
        url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'reports_next'"))


@dataclass
class Verdict:
    acknowledged: int
    lost: int
    doubled: int
    refusals: int
    retries: int
    # Participation rows the live read model holds against check-ins the store holds: a
    # count taken apart from the projection code.
    participations: int
    checkins_stored: int
    read_models_equal_rebuild: bool
    differing_tables: list[str]
    reports_next_left: bool


async def verify(url: str, result: LoadResult) -> Verdict:
    """What the store and the read models hold once the load has stopped."""
    ids = list(result.acknowledged)
    connection = await asyncpg.connect(url)
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM ledger.events WHERE tenant_id = $1 AND event_id = ANY($2)",
            TENANT, ids)
        doubled = await connection.fetchval(
            """SELECT coalesce(sum(n - 1), 0) FROM (
                   SELECT count(*) AS n FROM ledger.events
                   WHERE tenant_id = $1 AND type = 'CheckedIn'
                   GROUP BY data->>'activity_id', data->>'member_id') pairs""", TENANT)
    finally:
        await connection.close()
    if not await until(lambda: caught_up(url), 180):
        raise RuntimeError("the reports did not catch up within 3 minutes")
    live = await read_model_checksums(url)
    participations = await _fetchval(
        url, "SELECT count(*) FROM reports.participations WHERE tenant_id = $1", TENANT)
    checkins = await _fetchval(
        url, "SELECT count(*) FROM ledger.events WHERE tenant_id = $1 AND type = 'CheckedIn'",
        TENANT)
    rebuilt = await asyncio.create_subprocess_exec(
        str(BIN / "reports"), "rebuild", env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = await rebuilt.communicate()
    if rebuilt.returncode != 0:
        raise RuntimeError(f"reports rebuild failed: {errors.decode()[-2000:]}")
    fresh = await read_model_checksums(url)
    differing = sorted(t for t in live.keys() | fresh.keys() if live.get(t) != fresh.get(t))
    return Verdict(acknowledged=len(ids), lost=len(ids) - stored, doubled=int(doubled),
                   refusals=len(result.refusals), retries=result.retries,
                   participations=int(participations),  # type: ignore[arg-type]
                   checkins_stored=int(checkins),  # type: ignore[arg-type]
                   read_models_equal_rebuild=not differing, differing_tables=differing,
                   reports_next_left=await reports_next_exists(url))


async def caught_up(url: str) -> bool:
    events, _ = await behind(url)
    return events == 0


class FaultRun:
    def __init__(self, cluster: Cluster, ledger: Service, reports: Service, load: CheckinLoad,
                 say: Callable[[str], None]) -> None:
        self.cluster, self.ledger, self.reports, self.load = cluster, ledger, reports, load
        self.say = say

    async def _moving_on(self, within: float = 90) -> bool:
        """Appends acknowledged and projections advancing again after a fault."""
        acks = len(self.load.result.acknowledged)
        projected = await self._projected()
        appends = await until(lambda: self._acks_above(acks + 20), within)
        projections = await until(lambda: self._projected_above(projected), within)
        return appends and projections

    async def _acks_above(self, count: int) -> bool:
        return len(self.load.result.acknowledged) > count

    async def _projected(self) -> int:
        for _ in range(300):
            try:
                return await projected_position(self.cluster.url)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(0.2)
        raise RuntimeError("the database did not come back")

    async def _projected_above(self, position: int) -> bool:
        return await projected_position(self.cluster.url) > position

    async def inject(self, kind: str, seconds: float) -> bool:
        if kind == "ledger":
            await self.ledger.kill9()
            await self.ledger.start()
        elif kind == "reports":
            await self.reports.kill9()
            await self.reports.start()
        elif kind == "rebuild":
            return await self._kill_rebuild()
        elif kind == "postgres":
            # In threads: the load's clients go on meanwhile, meeting the outage.
            await asyncio.to_thread(self.cluster.stop_immediately)
            await asyncio.sleep(seconds)
            await asyncio.to_thread(self.cluster.start)
            # The services are not restarted: they must reconnect by themselves.
            await self.ledger.wait_healthy(60)
            await self.reports.wait_healthy(60)
        else:
            raise ValueError(kind)
        return await self._moving_on()

    async def _kill_rebuild(self) -> bool:
        t0 = time.monotonic()
        rebuild = await asyncio.create_subprocess_exec(
            str(BIN / "reports"), "rebuild", "--batch-size", "200",
            env={**os.environ, "DATABASE_URL": self.cluster.url},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            begun = await until(lambda: self._next_has_rows(), 60, interval=0.05)
        finally:
            rebuild.kill()
            await rebuild.wait()
        self.say(f"  rebuild killed {time.monotonic() - t0:.1f} s after its start")
        if not begun:
            self.say("  the rebuild ended before it could be killed mid-way")
            return False
        left = await reports_next_exists(self.cluster.url)
        # A restart of reports (what a deployment does) must clear what it left.
        await self.reports.stop()
        await self.reports.start()
        cleared = await until(lambda: _absent(self.cluster.url), 30)
        self.say(f"  reports restarted {time.monotonic() - t0:.1f} s after the rebuild's start")
        self.say(f"  killed mid-rebuild: reports_next left {left}, cleared at restart {cleared}")
        return left and cleared and await self._moving_on()

    async def _next_has_rows(self) -> bool:
        return bool(await _fetchval(
            self.cluster.url,
            """SELECT CASE WHEN to_regclass('reports_next.checkpoints') IS NULL THEN false
                      ELSE (SELECT count(*) > 0 FROM reports_next.checkpoints
                            WHERE position > 0) END"""))


async def _absent(url: str) -> bool:
    return not await reports_next_exists(url)


async def run(plan: list[tuple[str, float]], *, clients: int = 16, rate: float | None = 200,
              spacing: float = 3, appends: int | None = None,
              say: Callable[[str], None] = print,
              work: Path | None = None) -> dict[str, object]:
    """The fault run; returns the summary (and prints it as it goes). Without faults, the
    concurrency truth run: `appends` check-ins as fast as `clients` get them answered."""
    if appends is None:
        # Enough members for the whole run at the load's rate.
        assert rate is not None and plan
        appends = int(rate * (len(plan) * (spacing + 20 + max(s for _, s in plan)) + 30))
    async with deployment("faults", appends, work=work) as deployed:
        cluster, ledger, reports = deployed.cluster, deployed.ledger, deployed.reports
        load = CheckinLoad(ledger.port, deployed.seeded, clients=clients, total=appends,
                           rate=rate)
        driving = asyncio.create_task(load.run())
        faults = FaultRun(cluster, ledger, reports, load, say)
        survived = 0
        started_load = time.monotonic()
        await asyncio.sleep(spacing if plan else 0)
        for number, (kind, seconds) in enumerate(plan, 1):
            started = time.monotonic()
            ok = await faults.inject(kind, seconds)
            survived += ok
            label = f"{kind} down {seconds:g} s" if kind == "postgres" else f"kill -9 {kind}"
            say(f"fault {number}/{len(plan)}: {label}: "
                f"{'survived' if ok else 'NOT SURVIVED'} in {time.monotonic() - started:.1f} s;"
                f" {len(load.result.acknowledged)} acknowledged so far")
            await asyncio.sleep(spacing)
        if plan:
            load.stop()
        await driving
        load_seconds = time.monotonic() - started_load
        verdict = await verify(cluster.url, load.result)
        summary = {"faults_injected": len(plan), "faults_survived": survived,
                   "clients": clients, "load_seconds": round(load_seconds, 1),
                   **verdict.__dict__, "ledger_starts": ledger.starts,
                   "reports_starts": reports.starts}
        say(json.dumps(summary))
        return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="one fault of each kind (CI)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200, help="check-ins/s offered")
    args = parser.parse_args(argv)
    plan = SHORT if args.short else LONG
    summary = asyncio.run(interruptible(run(plan, clients=args.clients, rate=args.rate,
                                            spacing=3 if args.short else 8)))
    ok = (summary["faults_survived"] == summary["faults_injected"] and summary["lost"] == 0
          and summary["doubled"] == 0 and summary["read_models_equal_rebuild"]
          and not summary["reports_next_left"] and summary["refusals"] == 0)
    print(f"faults injected {summary['faults_injected']}, survived {summary['faults_survived']};"
          f" {summary['acknowledged']} acknowledged, lost {summary['lost']}, doubled "
          f"{summary['doubled']}; read models equal a fresh rebuild: "
          f"{summary['read_models_equal_rebuild']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
