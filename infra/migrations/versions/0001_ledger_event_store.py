"""Ledger: the append-only events table, tenants, member directory, organisers, API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS ledger")
    op.execute(
        """
        CREATE TABLE ledger.tenants (
            tenant_id   text PRIMARY KEY,
            name        text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # The event store. `txid` is the writing transaction's id: the feed reads only events
    # whose transaction is older than every transaction still running (see docs/architecture.md),
    # so an event that commits late is never passed over.
    op.execute(
        """
        CREATE TABLE ledger.events (
            tenant_id       text        NOT NULL REFERENCES ledger.tenants,
            position        bigint      GENERATED ALWAYS AS IDENTITY,
            txid            xid8        NOT NULL DEFAULT pg_current_xact_id(),
            event_id        uuid        NOT NULL,
            stream_id       text        NOT NULL,
            version         integer     NOT NULL CHECK (version >= 1),
            type            text        NOT NULL,
            schema_version  smallint    NOT NULL,
            data            jsonb       NOT NULL,
            metadata        jsonb       NOT NULL,
            recorded_at     timestamptz NOT NULL DEFAULT now(),
            hash            bytea       NOT NULL,
            PRIMARY KEY (tenant_id, position),
            UNIQUE (tenant_id, stream_id, version),
            UNIQUE (tenant_id, event_id)
        )
        """
    )
    op.execute("CREATE INDEX events_feed ON ledger.events (tenant_id, txid, position)")
    # A member's participations across activities (the overlap check).
    op.execute(
        """
        CREATE INDEX events_member_participation ON ledger.events
            (tenant_id, ((data->>'member_id')::uuid), position)
        WHERE type IN ('CheckedIn', 'CheckedOut', 'ParticipationCorrected',
                       'ParticipationRevoked')
        """
    )
    op.execute(
        """
        CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger.events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Record a correction as a new event.';
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON ledger.events
            FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()
        """
    )
    op.execute(
        """
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ledger.events
            FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
        """
    )
    # Personal data, outside the events so a person can be erased without touching them.
    op.execute(
        """
        CREATE TABLE ledger.member_directory (
            tenant_id      text NOT NULL REFERENCES ledger.tenants,
            member_id      uuid NOT NULL,
            member_number  text,
            name           text,
            phone          text,
            id_number      text,
            pin_hash       text,
            erased_at      timestamptz,
            PRIMARY KEY (tenant_id, member_id),
            UNIQUE (tenant_id, member_number)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ledger.organisers (
            tenant_id      text NOT NULL REFERENCES ledger.tenants,
            organiser_id   uuid NOT NULL,
            unit_id        uuid NOT NULL,
            name           text NOT NULL,
            login          text NOT NULL,
            password_hash  text,
            created_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, organiser_id),
            UNIQUE (tenant_id, login)
        )
        """
    )
    # Bearer tokens: only a hash of the secret is stored.
    op.execute(
        """
        CREATE TABLE ledger.api_tokens (
            tenant_id      text NOT NULL REFERENCES ledger.tenants,
            token_id       text NOT NULL,
            secret_hash    bytea NOT NULL,
            label          text NOT NULL,
            role           text NOT NULL CHECK (role IN ('client', 'organiser')),
            organiser_id   uuid,
            scope_unit_id  uuid,
            can_write      boolean NOT NULL,
            created_at     timestamptz NOT NULL DEFAULT now(),
            revoked_at     timestamptz,
            PRIMARY KEY (tenant_id, token_id),
            UNIQUE (token_id),
            CHECK (role <> 'organiser' OR organiser_id IS NOT NULL)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA ledger CASCADE")
