"""Run the ledger's HTTP service."""

from __future__ import annotations

import argparse
import os

import uvicorn


async def serve(args: argparse.Namespace) -> int:
    config = uvicorn.Config("ledger.entrypoints.app:create_app", factory=True, host=args.host,
                            port=args.port, log_level="info", access_log=False,
                            # The ledger reads X-Forwarded-For itself, from TRUSTED_PROXIES
                            # only; uvicorn's own handling would trust any loopback peer.
                            proxy_headers=False)
    await uvicorn.Server(config).serve()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP API (DATABASE_URL must be set "
                                                 "or the embedded server running)")
    parser.add_argument("--host", default=os.environ.get("LEDGER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LEDGER_PORT", "8000")))
    parser.set_defaults(run=serve)
