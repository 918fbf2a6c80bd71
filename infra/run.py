"""`make run`: PostgreSQL, migrations, demo data, then both services in the foreground.

Ctrl-C stops the services and, if this command started it, the embedded PostgreSQL.

Environment: DATABASE_URL (default: the embedded server), LEDGER_PORT (8000),
REPORTS_PORT (8001), DEMO (1: load the demo community into an empty database; 0: don't).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from infra import migrate, postgres

DEMO_TENANT = "xinluo"


def _log(message: str) -> None:
    print(f"[run] {message}", flush=True)


async def _load_demo(database_url: str) -> None:
    from contract.postgres import create_pool

    pool = await create_pool(database_url, application_name="demo-loader", min_size=1)
    try:
        if await pool.fetchval("SELECT count(*) FROM ledger.tenants") > 0:
            _log("database already has data: demo not loaded")
            return
        from infra.demo import load as demo

        _log("loading the demo community (新罗区 · 兴华南里) ...")
        summary = await demo.load(pool, DEMO_TENANT, scale="demo", seed=1,
                                  progress=lambda line: _log(line))
        _log("demo loaded:")
        for line in demo.describe(summary):
            print("      " + line, flush=True)
    finally:
        await pool.close()


def _spawn(module: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"{module}:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         # The ledger reads X-Forwarded-For itself (TRUSTED_PROXIES), never uvicorn.
         "--no-proxy-headers"],
        env=env,
    )


def main() -> int:
    external = os.environ.get("DATABASE_URL")
    started_here = not external and not postgres.running()
    database_url = external or postgres.start()
    _log(f"PostgreSQL: {database_url}")
    migrate.upgrade(database_url)
    _log("migrations applied")
    if os.environ.get("DEMO", "1") != "0":
        asyncio.run(_load_demo(database_url))

    ledger_port = int(os.environ.get("LEDGER_PORT", "8000"))
    reports_port = int(os.environ.get("REPORTS_PORT", "8001"))
    env = {**os.environ, "DATABASE_URL": database_url,
           "REPORTS_URL": f"http://127.0.0.1:{reports_port}",
           "REPORTS_PUBLIC_URL": os.environ.get("REPORTS_PUBLIC_URL",
                                                f"http://127.0.0.1:{reports_port}")}
    children = [
        _spawn("ledger.entrypoints.app", ledger_port, env),
        _spawn("reports.entrypoints.app", reports_port, env),
    ]
    ledger, reports = f"http://127.0.0.1:{ledger_port}", f"http://127.0.0.1:{reports_port}"
    for line in (
        f"组织者 organisers:      {ledger}/organiser/login",
        f"党员 members (手机):    {ledger}/t/{DEMO_TENANT}/identify  → {ledger}/t/{DEMO_TENANT}/me",
        f"ledger API (OpenAPI):  {ledger}/schema",
        f"reports API (OpenAPI): {reports}/schema   status: {reports}/status",
        "Ctrl-C stops everything",
    ):
        _log(line)

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    _log(f"a service exited with code {child.returncode}; stopping")
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if started_here:
            postgres.stop()
            _log("PostgreSQL stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
