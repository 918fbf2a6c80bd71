"""Run the ledger's HTTP service (contract.serving: WORKERS processes, JSON logs)."""

from __future__ import annotations

import argparse
import os

from contract.serving import serve as run_server
from contract.serving import worker_count


async def serve(args: argparse.Namespace) -> int:
    return await run_server("ledger.entrypoints.app:create_app", host=args.host,
                            port=args.port, workers=args.workers or worker_count())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP API (DATABASE_URL must be set "
                                                 "or the embedded server running)")
    parser.add_argument("--host", default=os.environ.get("LEDGER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LEDGER_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes (default: WORKERS, 1)")
    parser.set_defaults(run=serve)
