"""Revision 0008 on its own database: the role the ledger may connect as (one that may
update the member directory) gets what recording attempts needs; the reports' role nothing."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from infra import migrate


async def test_the_ledger_role_may_record_attempts_and_the_reports_role_may_not(
        database_url: str) -> None:
    server, _, _ = database_url.rpartition("/")
    suffix = uuid.uuid4().hex[:8]
    database, role = f"migration_{suffix}", f"ledger_service_{suffix}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f"CREATE DATABASE {database}")
        await admin.execute(f"CREATE ROLE {role} NOLOGIN")
        url = f"{server}/{database}"
        # alembic's environment runs its own event loop: a thread of its own.
        await asyncio.to_thread(migrate.upgrade, url, "0004")
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(
                f"GRANT SELECT, UPDATE ON ledger.member_directory TO {role}")
            await asyncio.to_thread(migrate.upgrade, url)
            rights = {
                (who, privilege): await connection.fetchval(
                    "SELECT has_table_privilege($1, 'ledger.login_attempts', $2)",
                    who, privilege)
                for who in (role, "reports_reader")
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")}
        finally:
            await connection.close()
        assert all(allowed for (who, _), allowed in rights.items() if who == role)
        assert not any(allowed for (who, _), allowed in rights.items()
                       if who == "reports_reader")
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
