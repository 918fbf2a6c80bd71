"""`python -m infra.demo`: load a generated district (demo or full scale) into a tenant.

On DATABASE_URL, or on the embedded server (started if need be).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from contract.postgres import create_pool
from infra import postgres
from infra.demo import load as demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.demo",
        description="Generate a district deterministically and load it: member directory, "
                    "organisers, events (through bulk append), and two demo tokens. "
                    "Running it again appends nothing.")
    parser.add_argument("--tenant", default="xinluo")
    parser.add_argument("--scale", choices=["demo", "district"], default="demo",
                        help="demo: one street, 兴华南里 and one more community, 3 months; "
                             "district: 新罗区, 547 branches, 3 years, over 1M events")
    parser.add_argument("--seed", type=int, default=1)
    return parser


async def load_demo(args: argparse.Namespace) -> int:
    pool = await create_pool(postgres.database_url(), application_name="demo-loader",
                             min_size=1, max_size=8)
    try:
        summary = await demo.load(
            pool, args.tenant, scale=args.scale, seed=args.seed,
            progress=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        await pool.close()
    for line in demo.describe(summary, all_logins=args.scale == "demo"):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(load_demo(build_parser().parse_args(argv)))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
