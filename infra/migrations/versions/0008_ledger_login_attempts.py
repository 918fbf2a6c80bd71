"""Ledger: identify, sign-in and check-in-code attempts, counted in PostgreSQL.

One table shared by every ledger process (`ledger.adapters.attempts`), replacing counts
kept in one process's memory. A row is one counter of a tenant: a (subject, address)
pair, a subject (member number, organiser login or activity) from every address, or an
address for every subject. Its `key` is a keyed hash of what it counts, so the table holds no member
number and no client address (an erased member's number is not kept here either).

This revision only adds a table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ledger.login_attempts (
            key           bytea       PRIMARY KEY,
            kind          text        NOT NULL CHECK (kind IN ('pin', 'password', 'code')),
            scope         text        NOT NULL CHECK (scope IN ('pair', 'subject', 'address')),
            -- Failures counted (an attempt counts as one until it succeeds); `attempts`
            -- also counts successes (an address's successful identifies are limited too).
            failures      integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
            attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            window_start  timestamptz NOT NULL,
            last_at       timestamptz NOT NULL,
            -- A pair's next attempt is not verified before this (the growing delay).
            next_at       timestamptz NOT NULL
        )
        """
    )
    # Rows idle for long are deleted now and then (`Attempts.prune`).
    op.execute("CREATE INDEX login_attempts_idle ON ledger.login_attempts (last_at)")
    # The reports service never reads attempts: nothing for `reports_reader`. The ledger
    # connects as the tables' owner, or as a role made for it (by a later revision or by
    # hand); such a role already updates the member directory (erasure), so whoever may
    # update it may record attempts too, without this revision naming a role it can't know.
    op.execute(
        """
        DO $$
        DECLARE grantee regrole;
        BEGIN
            FOR grantee IN
                SELECT DISTINCT a.grantee::regrole
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = 'ledger.member_directory'::regclass
                  AND a.privilege_type = 'UPDATE'
                  AND a.grantee <> c.relowner AND a.grantee <> 0
            LOOP
                EXECUTE format(
                    'GRANT SELECT, INSERT, UPDATE, DELETE ON ledger.login_attempts TO %s',
                    grantee);
            END LOOP;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ledger.login_attempts")
