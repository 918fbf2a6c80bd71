"""Connection pools for the services and their readers: jsonb travels as raw JSON bytes, decoded
by typed msgspec decoders (the ledger, the reports service and their tools share them).
"""

from __future__ import annotations

import os

import asyncpg

# A transaction left open stalls the feed (its horizon cannot pass it), so the services
# never keep one idle for long.
SESSION_SETTINGS = {
    "idle_in_transaction_session_timeout": "15s",
    "timezone": "Asia/Shanghai",
}


async def init_connection(connection: asyncpg.Connection) -> None:
    # Binary jsonb is a version byte (1) followed by the JSON text.
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        format="binary",
        encoder=lambda value: b"\x01" + value,
        decoder=lambda value: value[1:],
    )


async def reset_connection(connection: asyncpg.Connection) -> None:
    """Replaces asyncpg's default reset, which costs a round trip on every release.

    The services change no session state beyond the settings above, so only an
    abandoned transaction needs undoing.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def create_pool(
    dsn: str, *, application_name: str, min_size: int = 2, max_size: int = 20,
    role: str | None = None,
) -> asyncpg.Pool:
    """A pool on `dsn`. With `role`, every connection does `SET ROLE role` first, so the
    service holds that role's privileges only, whatever it logs in as (the login must be
    the role's member, or a superuser in development)."""

    async def init(connection: asyncpg.Connection) -> None:
        await init_connection(connection)
        if role is not None:
            await set_role(connection, role)

    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init,
        reset=reset_connection,
        server_settings={**SESSION_SETTINGS, "application_name": application_name},
    )
    assert pool is not None
    return pool


async def set_role(connection: asyncpg.Connection, role: str) -> None:
    try:
        await connection.execute(f'SET ROLE "{role}"')
    except (asyncpg.InvalidParameterValueError, asyncpg.InsufficientPrivilegeError) as error:
        raise RuntimeError(
            f"cannot SET ROLE {role}: {error}. The role is created by the migrations; the "
            f"login of DATABASE_URL must be a member of it (GRANT {role} TO <login>), see "
            "docs/SECURITY.md") from error


def require_database_url(service: str) -> str:
    """DATABASE_URL, which a service needs: it never falls back to a development server."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit(
            f"DATABASE_URL is not set: the {service} service needs postgresql://… of its "
            "database. In development the make targets and `python -m infra.run` set it to "
            "the embedded server (`make db-start` prints its URL).")
    return url
