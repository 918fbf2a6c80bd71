"""The soak (`make soak`): a steady 300 check-ins/s for 10 minutes (`SOAK_SECONDS`, `SOAK_RATE`)
with the reports projecting live, over a cluster of its own (bench.cluster). The check-ins go
to 200 activities at a time, 90 each, then to the next 200 (`PER_ACTIVITY`), as a district's
patrols follow each other: memory must stay flat as activities come and go.

Every 5 s it prints the resident memory of the ledger, of reports and of PostgreSQL (the
sum of its processes' unique memory), how far the slowest projection is behind (events and
seconds) and the errors so far; at the end, each process's growth from the first third to
the last third of the run, the worst lag, and the plots `docs/figures/soak-lag.svg` and
`docs/figures/soak-rss.svg`. Exit status 1 on any refused command or a lag above the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import psutil

from bench.checkin_load import CheckinLoad
from bench.cluster import deployment, interruptible
from bench.faults import behind, caught_up, until
from bench.svg import line_chart
from infra import postgres

FIGURES = postgres.PROJECT_ROOT / "docs" / "figures"
SAMPLE_EVERY = 5.0
# The bound the soak holds the projections to: the slowest one never more than this
# many seconds behind the newest event.
LAG_BOUND_SECONDS = 5.0
# A service whose memory grows more than this from the first third of the run to the last
# is not flat (PostgreSQL is reported, not bounded: its figure follows the pages it caches).
GROWTH_BOUND_MB = 25.0
# 200 activities at a time, each taking this many check-ins before the load moves on to the
# next 200: a patrol's worth, not one activity collecting the whole run.
PER_ACTIVITY = 90
ACTIVITIES_IN_TURN = 2000


def _uss_mb(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):  # a backend that ended meanwhile
            total += process.memory_full_info().uss
    return total / 2**20


async def soak(seconds: float, rate: float, *, clients: int = 64) -> dict[str, object]:
    """`clients`: enough that the offered rate is kept up when answers slow down; each waits
    for its next command's due time."""
    appends = int(seconds * rate) + 100
    async with deployment("soak", appends, activities=ACTIVITIES_IN_TURN) as deployed:
        cluster, ledger, reports = deployed.cluster, deployed.ledger, deployed.reports
        # The seed's events are projected first: the soak measures the steady state.
        if not await until(lambda: caught_up(cluster.url), 900, interval=1):
            raise RuntimeError("the reports did not project the seed within 15 minutes")
        load = CheckinLoad(ledger.port, deployed.seeded, clients=clients, total=appends,
                           rate=rate, per_activity=PER_ACTIVITY)
        driving = asyncio.create_task(load.run())
        started = time.monotonic()
        samples: list[dict[str, float]] = []
        print("seconds\tledger MB\treports MB\tpostgres MB\tlag events\tlag s\t"
              "acknowledged\terrors", flush=True)
        while (elapsed := time.monotonic() - started) < seconds:
            await asyncio.sleep(SAMPLE_EVERY - elapsed % SAMPLE_EVERY)
            events, lag = await behind(cluster.url)
            sample = {"t": round(time.monotonic() - started, 1),
                      "ledger_mb": round(ledger.rss_mb(), 1),
                      "reports_mb": round(reports.rss_mb(), 1),
                      "postgres_mb": round(_uss_mb(cluster.processes()), 1),
                      "lag_events": events, "lag_seconds": round(lag, 3),
                      "acknowledged": len(load.result.acknowledged),
                      "errors": len(load.result.refusals)}
            samples.append(sample)
            print("\t".join(str(v) for v in sample.values()), flush=True)
        load.stop()
        await driving
    return _summary(samples, load, seconds, rate)


def _summary(samples: list[dict[str, float]], load: CheckinLoad, seconds: float,
             rate: float) -> dict[str, object]:
    third = max(1, len(samples) // 3)
    growth = {name: round(statistics.mean(s[name] for s in samples[-third:])
                          - statistics.mean(s[name] for s in samples[:third]), 1)
              for name in ("ledger_mb", "reports_mb", "postgres_mb")}
    latencies = sorted(seconds_ for _, seconds_ in load.result.latencies)
    summary = {"seconds": seconds, "rate_offered": rate,
               "acknowledged": len(load.result.acknowledged),
               "achieved_rate": round(len(load.result.acknowledged) / seconds, 1),
               "errors": len(load.result.refusals), "retries": load.result.retries,
               "max_lag_seconds": max(s["lag_seconds"] for s in samples),
               "max_lag_events": max(s["lag_events"] for s in samples),
               "append_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
               "memory_growth_mb": growth, "samples": samples}
    return summary


def write_figures(summary: dict[str, object], directory: Path = FIGURES) -> list[Path]:
    samples: list[dict[str, float]] = summary["samples"]  # type: ignore[assignment]
    minutes = [s["t"] / 60 for s in samples]
    note = (f"{summary['rate_offered']:g} check-ins/s offered, {summary['seconds']:g} s, "
            "2 shared cores")
    directory.mkdir(parents=True, exist_ok=True)
    figures = {
        "soak-lag.svg": line_chart(
            "Projection lag during the soak", "minutes", "seconds behind the ledger",
            [("slowest projection", minutes, [s["lag_seconds"] for s in samples])], note=note),
        "soak-rss.svg": line_chart(
            "Memory during the soak", "minutes", "MB",
            [("ledger (RSS)", minutes, [s["ledger_mb"] for s in samples]),
             ("reports (RSS)", minutes, [s["reports_mb"] for s in samples]),
             ("PostgreSQL (USS)", minutes, [s["postgres_mb"] for s in samples])], note=note),
    }
    paths = []
    for name, text in figures.items():
        (directory / name).write_text(text)
        paths.append(directory / name)
    return paths


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    rate = float(os.environ.get("SOAK_RATE", "300"))
    summary = asyncio.run(interruptible(soak(seconds, rate)))
    for path in write_figures(summary):
        print(f"wrote {path.relative_to(postgres.PROJECT_ROOT)}")
    brief = {k: v for k, v in summary.items() if k != "samples"}
    print(json.dumps(brief))
    growth: dict[str, float] = summary["memory_growth_mb"]  # type: ignore[assignment]
    ok = (summary["errors"] == 0 and summary["max_lag_seconds"] <= LAG_BOUND_SECONDS
          and max(growth["ledger_mb"], growth["reports_mb"]) <= GROWTH_BOUND_MB)
    print(f"soak: {summary['acknowledged']} check-ins at {summary['achieved_rate']}/s, "
          f"errors {summary['errors']}, worst lag {summary['max_lag_seconds']} s "
          f"(bound {LAG_BOUND_SECONDS:g} s), memory growth first→last third "
          f"{growth} MB (bound {GROWTH_BOUND_MB:g} for the services): "
          f"{'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
