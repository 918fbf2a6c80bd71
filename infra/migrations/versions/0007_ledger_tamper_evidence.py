"""Ledger: tamper evidence against an insider — chain versions, seals, the writer role.

* `chain_version`: which rule made an event's hash (ledger.adapters.chain). Every event
  stored before this revision is version 1 (the column's default: no rewrite of the
  table) and keeps verifying under that rule; every writer of this code writes version 2,
  whose hash also covers metadata and `recorded_at`, and fills
* `seal`: the key id and HMAC of the hash, with a key the database does not hold.
* `ledger_writer`: the NOLOGIN role the ledger service runs as (its pool does
  `SET ROLE ledger_writer`; in production its login is a member, docs/SECURITY.md). It may
  read and change the ledger's other tables, but only SELECT and INSERT on ledger.events;
  not being the owner, it can neither disable nor drop the append-only triggers. The
  grants cover every table of the schema, including those of revisions before this one,
  and (default privileges of the migrating role) those of later revisions. It is a member
  of `reports_reader` (the published functions) and, where the migrating role may grant
  it, of `pg_read_all_stats` (the feed status reads other sessions' transactions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Roles are the cluster's: another database may have created it already, or the migrating
# role may lack CREATEROLE (then an administrator creates it, docs/SECURITY.md).
_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        CREATE ROLE ledger_writer NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege OR duplicate_object OR unique_violation THEN
    RAISE NOTICE 'role ledger_writer not created: %', SQLERRM;
END $$"""

_GRANTS = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        RAISE NOTICE 'no role ledger_writer: grant its privileges by hand';
        RETURN;
    END IF;
    GRANT USAGE ON SCHEMA ledger TO ledger_writer;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ledger TO ledger_writer;
    REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ledger.events FROM ledger_writer;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ledger TO ledger_writer;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger TO ledger_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA ledger
        GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ledger_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT USAGE, SELECT ON SEQUENCES TO ledger_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT EXECUTE ON FUNCTIONS TO ledger_writer;
    BEGIN
        GRANT reports_reader TO ledger_writer;
    EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
        RAISE NOTICE 'reports_reader not granted to ledger_writer: %', SQLERRM;
    END;
    BEGIN
        GRANT pg_read_all_stats TO ledger_writer;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'pg_read_all_stats not granted to ledger_writer: %', SQLERRM;
    END;
END $$"""

_REVOKES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        RETURN;
    END IF;
    ALTER DEFAULT PRIVILEGES IN SCHEMA ledger REVOKE ALL ON TABLES FROM ledger_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA ledger REVOKE ALL ON SEQUENCES FROM ledger_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA ledger REVOKE ALL ON FUNCTIONS FROM ledger_writer;
    REVOKE ALL ON ALL TABLES IN SCHEMA ledger FROM ledger_writer;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA ledger FROM ledger_writer;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ledger FROM ledger_writer;
    REVOKE USAGE ON SCHEMA ledger FROM ledger_writer;
END $$"""


def upgrade() -> None:
    # A constant default: existing rows read 1 without the table being rewritten.
    op.execute("ALTER TABLE ledger.events "
               "ADD COLUMN chain_version smallint NOT NULL DEFAULT 1, ADD COLUMN seal bytea")
    op.execute("ALTER TABLE ledger.events ADD CONSTRAINT events_sealed "
               "CHECK (chain_version = 1 OR seal IS NOT NULL)")
    op.execute(_ROLE)
    op.execute(_GRANTS)


def downgrade() -> None:
    # Version 1 cannot say what a sealed event's hash covered: refuse rather than leave
    # events that the older code would report as broken.
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT FROM ledger.events WHERE chain_version <> 1) THEN
                RAISE EXCEPTION 'ledger.events holds sealed events (chain version 2): '
                                'revision 0007 cannot be undone';
            END IF;
        END $$
        """
    )
    op.execute(_REVOKES)
    op.execute("ALTER TABLE ledger.events DROP CONSTRAINT events_sealed, "
               "DROP COLUMN seal, DROP COLUMN chain_version")
