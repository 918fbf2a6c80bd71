"""Reports: the role the reports service runs as, `reports_writer`.

The reports service used to connect with whatever DATABASE_URL logged in as — in
development the superuser, who could have rewritten or truncated the ledger's events. It
now runs as `reports_writer` (its pools do `SET ROLE reports_writer`; in production its
login is a member, docs/SECURITY.md), which:

* owns the read-model schemas (`reports`, and `reports_next` / `reports_retired` of a
  rebuild), since a rebuild creates a schema and swaps it in by renaming, which only an
  owner may do; hence also CREATE on the database (for schemas, nothing else);
* reads the ledger only through its published functions (membership of `reports_reader`),
  with no privilege on any ledger table.

Ownership of what the reports branch's revisions create is handed over after every
upgrade (`infra/migrations/ownership.py`, called from env.py), because a rebuild replaces
the `reports` schema, and with it any default privileges a revision could have set.

Revision ID: r0008
Revises: r0004
Depends on: 0002 (which creates reports_reader: on a fresh cluster the grant below would
otherwise find no such role)
Create Date: 2026-12-02
"""

from alembic import op

revision = "r0008"
down_revision = "r0004"
branch_labels = None
depends_on = "0002"

_ROLE = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_writer') THEN
        CREATE ROLE reports_writer NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'role reports_writer not created: %', SQLERRM;
END $$
"""

_GRANTS = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_writer') THEN
        RAISE NOTICE 'no role reports_writer: grant its privileges by hand';
        RETURN;
    END IF;
    EXECUTE format('GRANT CREATE ON DATABASE %I TO reports_writer', current_database());
    BEGIN
        GRANT reports_reader TO reports_writer;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'reports_reader not granted to reports_writer: %', SQLERRM;
    END;
END $$
"""

_REVOKES = """
DO $$
DECLARE
    me text := current_user;
    name text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_writer') THEN
        RETURN;
    END IF;
    -- Ownership back to the migrating role, so that dropping the role loses nothing.
    FOR name IN SELECT nspname FROM pg_namespace
                WHERE nspname IN ('reports', 'reports_next', 'reports_retired')
                  AND nspowner = 'reports_writer'::regrole LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', name, me);
    END LOOP;
    FOR name IN SELECT c.oid::regclass::text FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('reports', 'reports_next', 'reports_retired')
                  AND c.relkind IN ('r', 'p') AND c.relowner = 'reports_writer'::regrole LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %I', name, me);
    END LOOP;
    EXECUTE format('REVOKE CREATE ON DATABASE %I FROM reports_writer', current_database());
    BEGIN
        REVOKE reports_reader FROM reports_writer;
    EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
        NULL;
    END;
END $$
"""


def upgrade() -> None:
    op.execute(_ROLE)
    op.execute(_GRANTS)


def downgrade() -> None:
    op.execute(_REVOKES)
