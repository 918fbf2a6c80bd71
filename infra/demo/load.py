"""Load a generated district (see infra.demo.generator) into a tenant: directory,
organisers, events, and two tokens to try the API with.

Safe to run again: the tenant, directory rows and organisers are inserted only when
missing, and the events, being generated deterministically, are skipped by bulk_append's
idempotency. Only the tokens are new on every run (a secret is shown once, never stored).

Demo credentials: every organiser's password is `DEMO_PASSWORD` ("xinluo-demo"), every
member's check-in PIN is `DEMO_PIN` ("246810").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import msgspec

from infra.demo.generator import DEMO_PASSWORD, DEMO_PIN, Plan, build, streams
from ledger.adapters.bulk_append import BulkResult, bulk_append
from ledger.adapters.directory import hash_secret
from ledger.adapters.tokens import TokenStore

Progress = Callable[[str], None]
# How often a long load reports, in seconds.
PROGRESS_EVERY = 2.0


class DemoLogin(msgspec.Struct, frozen=True, kw_only=True):
    login: str
    password: str
    name: str
    unit: str


class DemoSummary(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    tenant_name: str
    scale: str
    seed: int
    appended: int
    skipped: int
    units: int
    members: int
    organisers: list[DemoLogin]
    # The featured community's organiser (writes within the community) and a read-only
    # client for the whole tenant.
    organiser_token: str
    client_token: str
    sample_member_number: str
    member_pin: str
    seconds: float

    @property
    def events(self) -> int:
        return self.appended + self.skipped


async def load(pool: asyncpg.Pool, tenant_id: str, *, scale: str, seed: int = 1,
               progress: Progress | None = None) -> DemoSummary:
    started = time.perf_counter()
    plan = build(scale, seed)
    await pool.execute(
        "INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $2) "
        "ON CONFLICT (tenant_id) DO NOTHING", tenant_id, plan.name)
    await _directory(pool, tenant_id, plan)
    logins = await _organisers(pool, tenant_id, plan)
    if progress is not None:
        progress(f"{len(plan.members)} members and {len(logins)} organisers in place; "
                 "writing events ...")
    result = await bulk_append(pool, tenant_id, streams(plan),
                               progress=_reporter(progress, time.perf_counter()))
    featured = plan.featured
    assert featured is not None and featured.organiser is not None
    tokens = TokenStore(pool)
    organiser_token = await tokens.mint(
        tenant_id, label=f"demo {featured.organiser.login}", role="organiser", can_write=True,
        scope_unit_id=featured.unit.unit_id, organiser_id=featured.organiser.organiser_id)
    client_token = await tokens.mint(tenant_id, label="demo read-only client", role="client",
                                     can_write=False)
    return DemoSummary(
        tenant_id=tenant_id, tenant_name=plan.name, scale=scale, seed=seed,
        appended=result.appended, skipped=result.skipped, units=len(plan.units),
        members=len(plan.members), organisers=logins,
        organiser_token=organiser_token.token, client_token=client_token.token,
        sample_member_number=plan.members[0].member_number, member_pin=DEMO_PIN,
        seconds=time.perf_counter() - started,
    )


def _reporter(progress: Progress | None,
              started: float) -> Callable[[BulkResult], None] | None:
    if progress is None:
        return None
    last = started

    def report(result: BulkResult) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= PROGRESS_EVERY:
            last = now
            rate = (result.appended + result.skipped) / (now - started)
            progress(f"events written {result.appended:,}, already there {result.skipped:,} "
                     f"({rate:,.0f} events/s)")
    return report


async def _directory(pool: asyncpg.Pool, tenant_id: str, plan: Plan) -> None:
    """Directory rows for every member; one PIN hash for all (every member has the demo PIN)."""
    pin_hash = await asyncio.to_thread(hash_secret, DEMO_PIN)
    members = plan.members
    await pool.execute(
        """INSERT INTO ledger.member_directory
               (tenant_id, member_id, member_number, name, phone, pin_hash)
           SELECT $1, m.member_id, m.member_number, m.name, m.phone, $6
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[])
               AS m(member_id, member_number, name, phone)
           ON CONFLICT DO NOTHING""",
        tenant_id, [m.member_id for m in members], [m.member_number for m in members],
        [m.name for m in members], [m.phone for m in members], pin_hash,
    )


async def _organisers(pool: asyncpg.Pool, tenant_id: str, plan: Plan) -> list[DemoLogin]:
    names = {unit.unit_id: unit.name for unit in plan.units}
    existing = {row["login"] for row in await pool.fetch(
        "SELECT login FROM ledger.organisers WHERE tenant_id = $1", tenant_id)}
    missing = [o for o in plan.organisers if o.login not in existing]
    # argon2 is slow on purpose; the hashes of a district's organisers run in threads.
    hashes = await asyncio.gather(*(asyncio.to_thread(hash_secret, o.password)
                                    for o in missing))
    await pool.executemany(
        """INSERT INTO ledger.organisers
               (tenant_id, organiser_id, unit_id, name, login, password_hash)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        [(tenant_id, o.organiser_id, o.unit_id, o.name, o.login, h)
         for o, h in zip(missing, hashes, strict=True)],
    )
    return [DemoLogin(login=o.login, password=DEMO_PASSWORD, name=o.name,
                      unit=names[o.unit_id]) for o in plan.organisers]


def describe(summary: DemoSummary, *, all_logins: bool = False) -> list[str]:
    """What to print after a load: the tenant, logins, tokens."""
    lines = [
        f"tenant: {summary.tenant_id} ({summary.tenant_name}), scale {summary.scale}, "
        f"seed {summary.seed}",
        f"events: {summary.appended:,} written, {summary.skipped:,} already there; "
        f"{summary.units:,} units, {summary.members:,} members; "
        f"{summary.seconds:.1f} s",
        f"organiser logins (password for all: {DEMO_PASSWORD}):",
    ]
    shown = summary.organisers if all_logins else summary.organisers[:8]
    lines += [f"  {o.login:<12} {o.unit} · {o.name}" for o in shown]
    if len(shown) < len(summary.organisers):
        lines.append(f"  ... and {len(summary.organisers) - len(shown)} more "
                     "(ledger.organisers)")
    lines += [
        f"member check-in: member number {summary.sample_member_number} (or any XL000001–"
        f"XL{summary.members:06d}), PIN {summary.member_pin}",
        f"organiser token (write, featured community): {summary.organiser_token}",
        f"client token (read-only, whole tenant):    {summary.client_token}",
    ]
    return lines
