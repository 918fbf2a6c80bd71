"""A whole deployment on this machine for the fault, truth, soak and sweep runs: a
PostgreSQL cluster of its own (a fresh data directory, a free port, so that stopping it hard
touches nothing else of the checkout), and the ledger and reports as real uvicorn processes
on free ports that a run can kill -9 and start again, as a process manager would;
`deployment()` starts all of it, seeded, and stops it on the way out."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import psutil

from bench.checkin_load import ACTIVITIES, Seeded, seed
from contract.postgres import create_pool
from infra import migrate, postgres
from infra.backup import free_port

T = TypeVar("T")

SECRETS = {"CHECKIN_CODE_SECRET": "cluster-checkin-code-secret-0123456789abcdef",
           "PAGES_SECRET": "cluster-pages-secret-0123456789abcdef-0123456789"}


class Cluster:
    def __init__(self, work: Path) -> None:
        self.data_dir = work / "pgdata"
        self.port = free_port()
        self.url = ""

    def start(self) -> str:
        self.url = postgres.start(self.data_dir, self.port)
        return self.url

    def migrate(self) -> None:
        migrate.upgrade(self.url)

    def _postmaster(self) -> psutil.Process | None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            return psutil.Process(pid)
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def stop_immediately(self) -> None:
        """Immediate shutdown (SIGQUIT to the postmaster, as `pg_ctl -m immediate`): every
        backend killed, no checkpoint; crash recovery at the next start."""
        main = self._postmaster()
        assert main is not None, "the cluster is not running"
        main.send_signal(signal.SIGQUIT)
        main.wait(60)

    def processes(self) -> list[psutil.Process]:
        """The postmaster and its children (backends, checkpointer, WAL writer, …)."""
        main = self._postmaster()
        try:
            return [main, *main.children(recursive=True)] if main else []
        except psutil.Error:
            return []

    def stop(self) -> None:
        try:
            if postgres._initialised(self.data_dir.resolve()):
                postgres.stop(self.data_dir)
        finally:
            # Whatever went wrong above, no server of this run outlives it.
            if self._postmaster() is not None:
                self.stop_immediately()
            shutil.rmtree(self.data_dir, ignore_errors=True)


class Service:
    """One service's uvicorn process; `start` waits until /health answers."""

    def __init__(self, name: str, module: str, env: dict[str, str]) -> None:
        self.name = name
        self.module = module
        self.port = free_port()
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, within: float = 60) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", f"{self.module}:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            "--no-access-log", "--no-proxy-headers", "--timeout-keep-alive", "60",
            env=self.env, stderr=subprocess.DEVNULL if self.env.get("QUIET") else None)
        self.starts += 1
        await self.wait_healthy(within)

    async def wait_healthy(self, within: float) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
                try:
                    if (await client.get(f"{self.base}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health within {within} s")

    async def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(20):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def rss_mb(self) -> float:
        assert self.process is not None
        return psutil.Process(self.process.pid).memory_info().rss / 2**20


def services(database_url: str, *, quiet: bool = True) -> tuple[Service, Service]:
    env = {**os.environ, **SECRETS, "DATABASE_URL": database_url, "DEMO": "0"}
    if quiet:
        # The outages make both services log tracebacks by design; the run reports figures.
        env["QUIET"] = "1"
    reports = Service("reports", "reports.entrypoints.app", env)
    ledger = Service("ledger", "ledger.entrypoints.app",
                     {**env, "REPORTS_URL": reports.base})
    return ledger, reports


@dataclass(frozen=True)
class Deployment:
    cluster: Cluster
    ledger: Service
    reports: Service
    seeded: Seeded


@asynccontextmanager
async def deployment(prefix: str, members: int, *, work: Path | None = None,
                     activities: int = ACTIVITIES) -> AsyncIterator[Deployment]:
    """A cluster of its own in a fresh directory `<prefix>-…` under `work` (default: the
    checkout, as the server user cannot enter a private temporary directory), migrated and
    seeded with `members` members and `activities` activities (bench.checkin_load), then
    the reports and the ledger started over it. Both services and the cluster are stopped
    on the way out, also on failure or cancellation."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-", dir=work or postgres.PROJECT_ROOT) as tmp:
        cluster = Cluster(Path(tmp))
        ledger = reports = None
        try:
            await asyncio.to_thread(cluster.start)
            # Alembic runs its own event loop: keep it off this one.
            await asyncio.to_thread(cluster.migrate)
            pool = await create_pool(cluster.url, application_name=prefix, max_size=4)
            try:
                seeded = await seed(pool, members, activities)
            finally:
                await pool.close()
            ledger, reports = services(cluster.url)
            await reports.start()
            await ledger.start()
            yield Deployment(cluster, ledger, reports, seeded)
        finally:
            for service in (ledger, reports):
                if service is not None:
                    await service.stop()
            await asyncio.to_thread(cluster.stop)


async def interruptible(work: Awaitable[T]) -> T:
    """Run `work` so that SIGTERM and SIGINT cancel it: its `finally` blocks then stop the
    servers and the cluster it started, instead of the process dying with them running."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def cancel_once() -> None:
        # A second signal (Ctrl-C twice, a wrapper passing SIGTERM on) must not cancel the
        # clean-up the first one started: it would leave PostgreSQL running.
        for signum in signals:
            loop.add_signal_handler(signum, lambda: None)
        task.cancel()

    for signum in signals:
        loop.add_signal_handler(signum, cancel_once)
    return await work
