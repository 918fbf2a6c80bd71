"""`make bench`: every benchmark in turn, each in its own process, JSON lines on stdout.

    python -m bench                 # all of the default ones
    python -m bench ledger import   # some of them
    python -m bench shards standby  # the scaling runs, by name only (docs/SCALING.md)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from infra import postgres

BENCHMARKS = {
    "ledger": "bench.ledger_bench",    # HTTP check-ins vs a bare endpoint and raw INSERT
    "workers": "bench.workers_bench",  # check-ins on `ledger serve` at 1, 2 and 4 workers
    "bulk": "bench.bulk_bench",        # bulk_append (COPY) vs raw COPY
    "import": "bench.import_bench",    # CSV import end to end vs raw COPY
    "reports": "bench.reports_bench",  # rebuild, lag and HTTP latency on a large district
    "feed": "bench.feed_bench",        # long-poll fan-out: 1, 200, 500 waiters, one commit
}
# Run only when named: each starts servers of its own and takes minutes on a busy machine.
BY_NAME = {
    "shards": "bench.shards_bench",    # check-in appends on 1, 2, 4 servers sharded by tenant
    "standby": "bench.standby",        # the feed's visibility on a streaming hot standby
}
EVERY = BENCHMARKS | BY_NAME


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"any of: {', '.join(EVERY)} "
                             f"(default: all but {', '.join(BY_NAME)})")
    names = parser.parse_args().names or list(BENCHMARKS)
    unknown = [name for name in names if name not in EVERY]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    # The benchmarks start the checkout's embedded PostgreSQL when they need it; whoever
    # found it stopped leaves it stopped (a second checkout's tests need the machine back).
    started_here = not os.environ.get("DATABASE_URL") and not postgres.running()
    try:
        failed = _run_each(names)
    finally:
        if started_here:
            postgres.stop()
    return 1 if failed else 0


def _run_each(names: list[str]) -> list[str]:
    failed = []
    for name in names:
        module = EVERY[name]
        print(f"# {name}: {module}", file=sys.stderr, flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", module])
        print(f"# {name}: exit {result.returncode} after {time.monotonic() - started:.0f} s",
              file=sys.stderr, flush=True)
        if result.returncode:
            failed.append(name)
    return failed


if __name__ == "__main__":
    sys.exit(main())
