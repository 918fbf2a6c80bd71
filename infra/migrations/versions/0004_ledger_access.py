"""Access: the token check both services call, and the auditor and service roles.

`ledger.token_principal(token_id)` is the only way the reports service reads tokens (it
runs no SQL on ledger tables); it is SECURITY DEFINER so that a reports login needs only
EXECUTE on it, granted to the role `reports_reader`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ledger.api_tokens DROP CONSTRAINT api_tokens_role_check")
    op.execute(
        """ALTER TABLE ledger.api_tokens ADD CONSTRAINT api_tokens_role_check
           CHECK (role IN ('client', 'organiser', 'auditor', 'service'))"""
    )
    # An auditor reads the whole tenant and never writes.
    op.execute(
        """ALTER TABLE ledger.api_tokens ADD CONSTRAINT api_tokens_auditor_reads
           CHECK (role <> 'auditor' OR (NOT can_write AND scope_unit_id IS NULL))"""
    )
    op.execute(
        """
        CREATE FUNCTION ledger.token_principal(p_token_id text)
        RETURNS TABLE (tenant_id text, token_id text, secret_hash bytea, label text,
                       role text, organiser_id uuid, scope_unit_id uuid, can_write boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, ledger AS $$
            SELECT t.tenant_id, t.token_id, t.secret_hash, t.label, t.role, t.organiser_id,
                   t.scope_unit_id, t.can_write
            FROM ledger.api_tokens t
            WHERE t.token_id = p_token_id AND t.revoked_at IS NULL
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION ledger.token_principal(text) FROM PUBLIC")
    op.execute(
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_reader') THEN
                CREATE ROLE reports_reader NOLOGIN;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot create role reports_reader; grant EXECUTE by hand';
        END $$
        """
    )
    op.execute(
        """
        DO $$ BEGIN
            GRANT EXECUTE ON FUNCTION ledger.token_principal(text) TO reports_reader;
            GRANT USAGE ON SCHEMA ledger TO reports_reader;
        EXCEPTION WHEN undefined_object THEN NULL;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION ledger.token_principal(text)")
    op.execute("ALTER TABLE ledger.api_tokens DROP CONSTRAINT api_tokens_auditor_reads")
    op.execute("ALTER TABLE ledger.api_tokens DROP CONSTRAINT api_tokens_role_check")
    op.execute(
        """ALTER TABLE ledger.api_tokens ADD CONSTRAINT api_tokens_role_check
           CHECK (role IN ('client', 'organiser'))"""
    )
