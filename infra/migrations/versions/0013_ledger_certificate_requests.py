"""Ledger: the list read model of members' certificate requests (证明申请).

A member asks on their page (`CertificateRequested`, in the member's stream); the
organising unit answers once, by issuing (`CertificateIssued` v2 names the request) or by
refusing (`CertificateRequestRefused`). This catalogue lists the open requests for the
organisers of the member's unit and every request for the member, written by
`ledger.adapters.catalogue` in the transaction of the append like the other catalogues.
No event of these types (nor a v2 certificate) existed before this revision: nothing to
backfill. The writer's privileges come from revision 0007's default privileges.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = [
    """
    CREATE TABLE ledger.certificate_requests (
        tenant_id     text        NOT NULL REFERENCES ledger.tenants,
        request_id    uuid        NOT NULL,
        member_id     uuid        NOT NULL,
        first_month   text        NOT NULL,
        last_month    text        NOT NULL,
        requested_at  timestamptz NOT NULL,
        -- open | issued | refused
        status        text        NOT NULL,
        number        text,
        reason        text,
        answered_at   timestamptz,
        PRIMARY KEY (tenant_id, request_id)
    )
    """,
    """CREATE INDEX certificate_requests_by_member
        ON ledger.certificate_requests (tenant_id, member_id, requested_at DESC)""",
    """CREATE INDEX certificate_requests_open
        ON ledger.certificate_requests (tenant_id, requested_at) WHERE status = 'open'""",
]


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE ledger.certificate_requests")
