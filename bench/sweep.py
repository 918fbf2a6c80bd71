"""Check-in throughput and latency against concurrency (`make bench-sweep`): the ledger as a
process over a cluster of its own, 1, 4, 16 and 64 keep-alive clients each checking a
different member in as fast as answered (bench.checkin_load, bench.http_load). Prints JSON
lines and writes `docs/figures/sweep-throughput.svg` and `docs/figures/sweep-latency.svg`."""

from __future__ import annotations

import asyncio
import sys
import time

from bench.checkin_load import CheckinLoad, Seeded
from bench.cluster import deployment, interruptible
from bench.harness import emit
from bench.soak import FIGURES
from bench.svg import line_chart

LEVELS = {1: 600, 4: 1500, 16: 3000, 64: 3000}


def _quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def sweep() -> dict[int, tuple[float, float, float]]:
    """{clients: (check-ins/s, p50 ms, p99 ms)}"""
    figures = {}
    async with deployment("sweep", sum(LEVELS.values())) as deployed:
        seeded, offset = deployed.seeded, 0
        for clients, count in LEVELS.items():
            part = Seeded(seeded.token, seeded.members[offset:offset + count],
                          seeded.activities)
            offset += count
            load = CheckinLoad(deployed.ledger.port, part, clients=clients, total=count)
            started = time.monotonic()
            result = await load.run()
            elapsed = time.monotonic() - started
            if result.refusals:
                raise RuntimeError(f"refused: {result.refusals[:3]}")
            latencies = [seconds for _, seconds in result.latencies]
            figures[clients] = (round(count / elapsed, 1),
                                round(_quantile(latencies, 0.50) * 1000, 1),
                                round(_quantile(latencies, 0.99) * 1000, 1))
            rate, p50, p99 = figures[clients]
            emit(f"sweep_checkin_c{clients}_throughput", rate, "events/s")
            emit(f"sweep_checkin_c{clients}_p50", p50, "ms")
            emit(f"sweep_checkin_c{clients}_p99", p99, "ms")
    return figures


def write_figures(figures: dict[int, tuple[float, float, float]]) -> None:
    clients = list(figures)
    note = "check-ins over HTTP, 1 ledger process, 2 shared cores"
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / "sweep-throughput.svg").write_text(line_chart(
        "Check-in throughput against concurrency", "concurrent clients", "check-ins/s",
        [("throughput", clients, [figures[c][0] for c in clients])], x_log2=True, note=note))
    (FIGURES / "sweep-latency.svg").write_text(line_chart(
        "Check-in latency against concurrency", "concurrent clients", "ms",
        [("p50", clients, [figures[c][1] for c in clients]),
         ("p99", clients, [figures[c][2] for c in clients])], x_log2=True, note=note))


def main() -> int:
    figures = asyncio.run(interruptible(sweep()))
    write_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
