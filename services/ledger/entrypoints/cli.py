"""`ledger` command line: tenants, organisers, tokens, imports, verification, the server.

Each sub-command lives in its own module under `ledger.entrypoints.commands` and exposes
`register(subparsers)`; the parsed arguments carry the coroutine to run as `args.run`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import asyncpg

from contract.cli import run
from contract.postgres import create_pool, require_database_url
from ledger.config import DATABASE_ROLE
from ledger.entrypoints import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="社区志愿服务台账 — community volunteer ledger (the only writer).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        importlib.import_module(f"{commands.__name__}.{module.name}").register(subparsers)
    return parser


async def open_pool(application_name: str = "ledger-cli") -> asyncpg.Pool:
    """A small pool on DATABASE_URL, as the ledger's database role."""
    return await create_pool(require_database_url("ledger"), application_name=application_name,
                             min_size=1, max_size=8, role=DATABASE_ROLE)


def main(argv: list[str] | None = None) -> None:
    run(build_parser(), argv)


if __name__ == "__main__":
    main()
