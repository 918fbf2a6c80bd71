"""`ledger load-demo`: load a generated district (demo or full scale) into a tenant."""

from __future__ import annotations

import argparse
import sys

from ledger import demo
from ledger.entrypoints.cli import open_pool


async def load_demo(args: argparse.Namespace) -> int:
    pool = await open_pool("ledger-load-demo")
    try:
        summary = await demo.load(
            pool, args.tenant, scale=args.scale, seed=args.seed,
            progress=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        await pool.close()
    for line in demo.describe(summary, all_logins=args.scale == "demo"):
        print(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "load-demo", help="load a generated district into a tenant (safe to repeat)",
        description="Generate a district deterministically and load it: member directory, "
                    "organisers, events (through bulk append), and two demo tokens. "
                    "Running it again appends nothing.")
    parser.add_argument("--tenant", default="xinluo")
    parser.add_argument("--scale", choices=["demo", "district"], default="demo",
                        help="demo: one street, 兴华南里 and one more community, 3 months; "
                             "district: 新罗区, 547 branches, 3 years, over 1M events")
    parser.add_argument("--seed", type=int, default=1)
    parser.set_defaults(run=load_demo)
