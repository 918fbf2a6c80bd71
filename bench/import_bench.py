"""Bulk import against raw COPY of the same event rows (`python -m bench.import_bench`).

In a scratch database (created and dropped here) on DATABASE_URL's server or the embedded
one: a tenant with a tree, an organiser and members; a CSV of N historic participation rows
(patrols, cleanups, services, some meetings; 20–120 people each, as in DOMAIN.md); the
import timed end to end (parse, validate, plan, bulk append), then raw
`copy_records_to_table` of the very rows the import stored into a copy of ledger.events
(same columns, defaults and indexes). Prints JSON lines {"name", "value", "unit"}.
Target: import events/s at least 0.5 x raw COPY events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg

from bench.harness import emit, scratch_database
from contract.calendar import SHANGHAI
from contract.events import MemberRegistered, MemberReported, UnitEstablished
from contract.postgres import create_pool
from ledger.adapters.bulk_append import COLUMNS, bulk_append
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent
from ledger.domain import members
from ledger.handlers import Actor
from ledger.imports.rows import FIELDS
from ledger.imports.run import import_records

TENANT = "bench-import"
KINDS = [("cleanup", "service", "楼道清理"), ("patrol", "service", "红袖章巡逻"),
         ("service", "service", "走访慰问老人"), ("meeting", "attendance", "三会一课")]


async def _setup(pool: asyncpg.Pool, member_count: int) -> tuple[Actor, list[uuid.UUID]]:
    """A tenant, a district → street → community → 3 branches, an organiser, members."""
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '新罗区')",
                       TENANT)
    metadata = Metadata(actor="bench", source="cli")
    units: list[uuid.UUID] = []
    tree = []
    for kind, parent, name in [("district", None, "新罗区委"), ("street", 0, "东城街道党工委"),
                               ("community", 1, "兴华南里社区党委"), ("branch", 2, "第一党支部"),
                               ("branch", 2, "第二党支部"), ("branch", 2, "第三党支部")]:
        units.append(uuid.uuid4())
        tree.append(NewEvent(event_id=uuid.uuid4(), metadata=metadata, event=UnitEstablished(
            unit_id=units[-1], kind=kind, parent_id=None if parent is None else units[parent],  # type: ignore[arg-type]
            name=name, effective=date(2020, 1, 1))))
    member_ids = [uuid.uuid4() for _ in range(member_count)]
    streams = [("organisation", NO_STREAM, tree)] + [
        (members.stream_id(m), NO_STREAM, [
            NewEvent(event_id=uuid.uuid4(), metadata=metadata, event=MemberRegistered(
                member_id=m, kind="retired", registered_on=date(2020, 1, 1))),
            NewEvent(event_id=uuid.uuid4(), metadata=metadata, event=MemberReported(
                member_id=m, unit_id=units[3 + i % 3], effective=date(2020, 1, 1)))])
        for i, m in enumerate(member_ids)]
    await bulk_append(pool, TENANT, streams)
    await pool.copy_records_to_table(
        "member_directory", schema_name="ledger",
        columns=["tenant_id", "member_id", "member_number", "name"],
        records=[(TENANT, m, f"XH-{i:05}", "测试") for i, m in enumerate(member_ids)])
    organiser_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO ledger.organisers (tenant_id, organiser_id, unit_id, name, login) "
        "VALUES ($1, $2, $3, '王书记', 'wang')", TENANT, organiser_id, units[2])
    actor = Actor(tenant_id=TENANT, name=f"organiser:{organiser_id}", source="import",
                  can_write=True, organiser_id=organiser_id, scope_unit_id=units[2])
    return actor, units[3:]


def generate_csv(rows: int, member_count: int, branches: list[uuid.UUID],
                 rng: random.Random) -> bytes:
    """Three non-overlapping slots a day, so no member is ever in two places at once."""
    slots = [(8, 0, 120), (10, 30, 120), (14, 0, 180)]
    out = io.StringIO()
    out.write(",".join(FIELDS) + "\n")
    written, index = 0, 0
    first_day = datetime(2024, 1, 6, tzinfo=SHANGHAI)
    while written < rows:
        kind, category, title = rng.choices(KINDS, weights=[4, 3, 2, 1])[0]
        hour, minute, length = slots[index % 3]
        starts = first_day + timedelta(days=index // 3, hours=hour, minutes=minute)
        ends = starts + timedelta(minutes=length)
        cap = rng.choice(["", "", "90", "120"]) if category == "service" else ""
        size = min(rng.randint(20, 120), rows - written)
        for number in rng.sample(range(member_count), size):
            checked_in = starts + timedelta(minutes=rng.randint(-10, 20))
            checked_out = ends + timedelta(minutes=rng.randint(-30, 15))
            minutes = ""
            if category == "service" and rng.random() < 0.2:
                present = (min(checked_out, ends) - max(checked_in, starts)).seconds // 60
                minutes = str(max(0, min(present, int(cap or present)) - rng.randint(0, 15)))
            values = {
                "activity_ref": f"A-{index:06}", "activity_title": title, "kind": kind,
                "category": category, "host_unit_id": str(branches[index % 3]),
                "place": f"{index % 9 + 1}号楼", "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(), "hours_cap_minutes": cap,
                "member_number": f"XH-{number:05}",
                # Half the times without an offset, as local exports often are.
                "checked_in_at": checked_in.strftime("%Y-%m-%dT%H:%M:%S"),
                "checked_out_at": checked_out.isoformat(), "minutes": minutes,
                "confirmed_by": "", "beneficiary": "",
            }
            out.write(",".join(values[f] for f in FIELDS) + "\n")
        written += size
        index += 1
    return out.getvalue().encode()


async def raw_copy(pool: asyncpg.Pool) -> tuple[int, float]:
    """COPY the rows the import stored into a table shaped like ledger.events."""
    await pool.execute("CREATE TABLE ledger.bench_raw_events (LIKE ledger.events INCLUDING ALL)")
    records = [tuple(r) for r in await pool.fetch(
        f"SELECT {', '.join(COLUMNS)} FROM ledger.events WHERE tenant_id = $1 "
        "AND stream_id LIKE 'activity-%' ORDER BY position", TENANT)]
    async with pool.acquire() as connection:
        started = time.perf_counter()
        async with connection.transaction():
            await connection.copy_records_to_table("bench_raw_events", schema_name="ledger",
                                                   columns=COLUMNS, records=records)
        return len(records), time.perf_counter() - started


async def run(rows: int, member_count: int, seed: int) -> None:
    async with scratch_database("bench_import") as url:
        pool = await create_pool(url, application_name="bench-import", max_size=4)
        try:
            actor, branches = await _setup(pool, member_count)
            source = generate_csv(rows, member_count, branches, random.Random(seed))
            marks: dict[str, float] = {}
            started = time.perf_counter()
            summary = await import_records(
                pool, actor, source, "csv", now=datetime.now(UTC),
                grace=timedelta(minutes=30),
                progress=lambda stage, _n: marks.setdefault(stage, time.perf_counter()))
            seconds = time.perf_counter() - started
            validate = marks["validated"] - started
            assert summary.error_count == 0, summary.errors[:5]
            started = time.perf_counter()
            again = await import_records(pool, actor, source, "csv", now=datetime.now(UTC),
                                         grace=timedelta(minutes=30))
            reimport = time.perf_counter() - started
            assert again.events_appended == 0
            copied, copy_seconds = await raw_copy(pool)
            assert copied == summary.events_appended
        finally:
            await pool.close()
    import_rate = summary.events_appended / seconds
    copy_rate = copied / copy_seconds
    emit("import_rows", summary.rows, "rows")
    emit("import_events", summary.events_appended, "events")
    emit("import_seconds", round(seconds, 3), "s")
    emit("import_parse_validate_seconds", round(validate, 3), "s")
    emit("import_append_seconds", round(seconds - validate, 3), "s")
    emit("import_events_per_second", round(import_rate, 3), "events/s")
    emit("import_rows_per_second", round(summary.rows / seconds, 3), "rows/s")
    # The writing part alone (bulk_append after validation), for where the time goes.
    emit("import_append_events_per_second",
         round(summary.events_appended / (seconds - validate), 3), "events/s")
    emit("reimport_seconds", round(reimport, 3), "s")
    emit("raw_copy_events_per_second", round(copy_rate, 3), "events/s")
    emit("import_vs_raw_copy_ratio", round(import_rate / copy_rate, 3), "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.members, args.seed))


if __name__ == "__main__":
    main()
