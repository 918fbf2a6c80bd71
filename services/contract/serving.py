"""How `ledger serve` and `reports serve` run in production: uvicorn with `WORKERS`
processes on one socket, JSON logs, and a graceful shutdown.

On SIGTERM (or SIGINT) to the server's process (the supervisor's, with several workers;
what a container engine signals) uvicorn stops accepting connections, lets every request under way
finish (up to `GRACEFUL_SECONDS`: an append in flight commits and is answered), then runs
each app's lifespan shutdown (the reports' projection runner lets its batch commit) — the
supervisor of several workers passes the signal to each and waits for them. With several
workers the metrics go to a fresh `PROMETHEUS_MULTIPROC_DIR` (contract.metrics) unless one
is given, removed again at exit.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import uvicorn
from uvicorn.supervisors import Multiprocess

from contract.logs import uvicorn_config
from contract.metrics import MULTIPROCESS_DIR

# The longest a request under way may take to finish after SIGTERM (a feed long poll
# waits up to 30 s).
GRACEFUL_SECONDS = 35
WORKER_HEALTHCHECK_SECONDS = 60


def worker_count() -> int:
    """`WORKERS` (default 1): server processes per service."""
    text = os.environ.get("WORKERS", "1")
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValueError(f"WORKERS must be a whole number from 1 to 64, not {text!r}")
    return int(text)


async def serve(app: str, *, host: str, port: int, workers: int) -> int:
    """Serve the app factory `module:create_app` until a signal stops it."""
    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers,
                            log_config=uvicorn_config(), access_log=False,
                            # The ledger reads X-Forwarded-For itself, from TRUSTED_PROXIES
                            # only; uvicorn's own handling would trust any loopback peer.
                            proxy_headers=False,
                            timeout_graceful_shutdown=GRACEFUL_SECONDS,
                            # A worker that does not answer the supervisor's ping in time is
                            # replaced; importing and starting one takes seconds on a busy
                            # two-core machine, past uvicorn's 5 s default.
                            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    if workers == 1:
        await uvicorn.Server(config).serve()
        return 0
    made_dir = None
    if not os.environ.get(MULTIPROCESS_DIR):
        made_dir = tempfile.mkdtemp(prefix="metrics-")
        # Before the workers are spawned: they inherit it and write their values there.
        os.environ[MULTIPROCESS_DIR] = made_dir
    try:
        # The supervisor blocks this (otherwise idle) event loop until the workers exit.
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)
    return 0
