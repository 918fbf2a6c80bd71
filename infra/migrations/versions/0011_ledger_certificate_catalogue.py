"""Ledger: the list read model of issued volunteer-service certificates (志愿服务证明).

A certificate is its own stream (certificate-<number>), the verification page reads it
there; this catalogue lists them by member and by issuing unit, written by
`ledger.adapters.catalogue` in the transaction of the append like the other catalogues.
Backfilled from the events for databases that already hold certificates; the writer's
privileges come from revision 0007's default privileges.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = [
    """
    CREATE TABLE ledger.certificate_catalogue (
        tenant_id       text        NOT NULL REFERENCES ledger.tenants,
        number          text        NOT NULL,
        member_id       uuid        NOT NULL,
        issuer_unit_id  uuid        NOT NULL,
        first_month     text        NOT NULL,
        last_month      text        NOT NULL,
        minutes         integer     NOT NULL,
        activities      integer     NOT NULL,
        issued_by       uuid        NOT NULL,
        issued_at       timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, number)
    )
    """,
    """CREATE INDEX certificate_catalogue_by_member
        ON ledger.certificate_catalogue (tenant_id, member_id, issued_at DESC)""",
    """CREATE INDEX certificate_catalogue_by_issued
        ON ledger.certificate_catalogue (tenant_id, issued_at DESC, number DESC)""",
]

BACKFILL = [
    """
    INSERT INTO ledger.certificate_catalogue
        (tenant_id, number, member_id, issuer_unit_id, first_month, last_month, minutes,
         activities, issued_by, issued_at)
    SELECT tenant_id, data->>'number', (data->>'member_id')::uuid,
           (data->>'issuer_unit_id')::uuid, data->>'first_month', data->>'last_month',
           (data->>'minutes')::integer, (data->>'activities')::integer,
           (data->>'issued_by')::uuid, (data->>'issued_at')::timestamptz
    FROM ledger.events WHERE type = 'CertificateIssued'
    ON CONFLICT DO NOTHING
    """,
]


def upgrade() -> None:
    for statement in TABLES + BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE ledger.certificate_catalogue")
