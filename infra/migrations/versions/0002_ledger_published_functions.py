"""Ledger: the published read functions, the only things the reports service may call.

Reports reads the feed, its lag, the cursor of a position, the tenant ids and the names it
shows through these functions, never the tables: the ledger can change its tables as long
as the functions keep their columns. Their owner is the ledger's role; they run as that
owner (SECURITY DEFINER), so a role holding `reports_reader` (EXECUTE only, no table
privileges) can call them. Why not inlined SQL functions: inlining needs SECURITY INVOKER,
which would need SELECT on the tables; a 20,000-event batch is one call, so the planning a
non-inlined function costs per call is lost in the noise (docs/operations.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Every function: a fixed search_path (a SECURITY DEFINER function must not resolve names
# through the caller's), STABLE (reads only).
_DEFINER = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"

FUNCTIONS = {
    # The feed: only events whose writing transaction is older than every transaction still
    # running, in (txid, position) order, so an event that commits late is never passed
    # over. ORDER BY names the table's columns: the index events_feed is walked, not sorted.
    "ledger.feed_batch(text, bigint, bigint, integer)": f"""
        CREATE FUNCTION ledger.feed_batch(tenant text, after_txid bigint,
                                          after_position bigint, max_events integer)
        RETURNS TABLE (txid bigint, "position" bigint, type text, schema_version smallint,
                       data jsonb, recorded_at timestamptz, imported boolean)
        {_DEFINER} AS $$
            SELECT e.txid::text::bigint, e.position, e.type, e.schema_version, e.data,
                   e.recorded_at, e.metadata->>'source' = 'import'
            FROM ledger.events e
            WHERE e.tenant_id = tenant
              AND (e.txid, e.position) > (after_txid::text::xid8, after_position)
              AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY e.txid, e.position
            LIMIT max_events
        $$""",
    # Events after a cursor, visible or still held back by an open transaction.
    "ledger.feed_lag(text, bigint, bigint)": f"""
        CREATE FUNCTION ledger.feed_lag(tenant text, after_txid bigint, after_position bigint)
        RETURNS TABLE (events bigint, oldest timestamptz)
        {_DEFINER} AS $$
            SELECT count(*), min(e.recorded_at)
            FROM ledger.events e
            WHERE e.tenant_id = tenant
              AND (e.txid, e.position) > (after_txid::text::xid8, after_position)
        $$""",
    # The transaction id of a position (a cursor is txid and position); NULL if unknown.
    "ledger.feed_txid_of(text, bigint)": f"""
        CREATE FUNCTION ledger.feed_txid_of(tenant text, event_position bigint)
        RETURNS bigint
        {_DEFINER} AS $$
            SELECT e.txid::text::bigint FROM ledger.events e
            WHERE e.tenant_id = tenant AND e.position = event_position
        $$""",
    "ledger.tenant_ids()": f"""
        CREATE FUNCTION ledger.tenant_ids() RETURNS SETOF text
        {_DEFINER} AS $$
            SELECT tenant_id FROM ledger.tenants ORDER BY tenant_id
        $$""",
    # Numbers and names of members; the name is NULL once the member's data were erased.
    "ledger.member_names(text, uuid[])": f"""
        CREATE FUNCTION ledger.member_names(tenant text, member_ids uuid[])
        RETURNS TABLE (member_id uuid, member_number text, name text)
        {_DEFINER} AS $$
            SELECT d.member_id, d.member_number,
                   CASE WHEN d.erased_at IS NULL THEN d.name END
            FROM ledger.member_directory d
            WHERE d.tenant_id = tenant AND d.member_id = ANY(member_ids)
        $$""",
    "ledger.organiser_names(text, uuid[])": f"""
        CREATE FUNCTION ledger.organiser_names(tenant text, organiser_ids uuid[])
        RETURNS TABLE (organiser_id uuid, name text)
        {_DEFINER} AS $$
            SELECT o.organiser_id, o.name FROM ledger.organisers o
            WHERE o.tenant_id = tenant AND o.organiser_id = ANY(organiser_ids)
        $$""",
}

# Roles are the cluster's, not the database's: another database (a test session's, say)
# may have created it already, or the migrating role may lack CREATEROLE; either way the
# functions are still there for the ledger's own role.
_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_reader') THEN
        CREATE ROLE reports_reader NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege OR duplicate_object OR unique_violation THEN
    RAISE NOTICE 'role reports_reader not created: %', SQLERRM;
END $$"""

_GRANTS = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_reader') THEN
        GRANT USAGE ON SCHEMA ledger TO reports_reader;
        GRANT EXECUTE ON FUNCTION {functions} TO reports_reader;
    END IF;
END $$"""


def upgrade() -> None:
    for sql in FUNCTIONS.values():
        op.execute(sql)
    functions = ", ".join(FUNCTIONS)
    # Functions are executable by PUBLIC by default; these only by the role granted below.
    op.execute(f"REVOKE EXECUTE ON FUNCTION {functions} FROM PUBLIC")
    op.execute(_ROLE)
    op.execute(_GRANTS.replace("{functions}", functions))


def downgrade() -> None:
    # Dropping the functions drops their grants. The role stays: it is the cluster's, and
    # other databases' grants may use it.
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_reader') THEN
                REVOKE USAGE ON SCHEMA ledger FROM reports_reader;
            END IF;
        END $$""")
