"""A certificate as it is printed and verified: the event's figures with the names the
directory and the tree hold today (names never go into events).

`CertificateView` is what the organiser, the member and the API see; `PublicCertificate`
what the public verification page shows of it (masked name, no member id or number).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from contract.calendar import local_date
from contract.events import CertificateIssued, CertificateMonth
from contract.masking import masked
from ledger.adapters.directory import DirectoryEntry, MemberDirectory
from ledger.adapters.names import Names
from ledger.domain.organisation import OrgTree
from ledger.handlers import Ledger


class CertificateView(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    member_id: uuid.UUID
    # From the directory; None once the member's personal data were erased.
    member_number: str | None
    name: str | None
    first_month: str
    last_month: str
    minutes: int
    activities: int
    months: list[CertificateMonth]
    issuer_unit_id: uuid.UUID
    issuer_unit_name: str
    # The unit above the issuer (its street, say), printed in the heading.
    issuer_parent_name: str | None
    issued_by: uuid.UUID
    # The organiser who handled it (经办人).
    handler_name: str | None
    contact: str
    issued_at: datetime
    # Asia/Shanghai date of issue.
    issued_on: date


class PublicCertificate(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    masked_name: str
    first_month: str
    last_month: str
    minutes: int
    activities: int
    months: list[CertificateMonth]
    issuer_unit_name: str
    issued_on: date


def view(event: CertificateIssued, tree: OrgTree, entry: DirectoryEntry | None,
         handler_name: str | None) -> CertificateView:
    unit = tree.units.get(event.issuer_unit_id)
    parent = tree.units.get(unit.parent_id) if unit and unit.parent_id else None
    erased = entry is None or entry.erased
    return CertificateView(
        number=event.number, member_id=event.member_id,
        member_number=None if erased or entry is None else entry.member_number,
        name=None if erased or entry is None else entry.name,
        first_month=event.first_month, last_month=event.last_month, minutes=event.minutes,
        activities=event.activities, months=event.months,
        issuer_unit_id=event.issuer_unit_id, issuer_unit_name=unit.name if unit else "",
        issuer_parent_name=parent.name if parent else None, issued_by=event.issued_by,
        handler_name=handler_name, contact=event.contact, issued_at=event.issued_at,
        issued_on=local_date(event.issued_at))


def public(certificate: CertificateView) -> PublicCertificate:
    return PublicCertificate(
        number=certificate.number, masked_name=masked(certificate.name),
        first_month=certificate.first_month, last_month=certificate.last_month,
        minutes=certificate.minutes, activities=certificate.activities,
        months=certificate.months, issuer_unit_name=certificate.issuer_unit_name,
        issued_on=certificate.issued_on)


async def load(ledger: Ledger, directory: MemberDirectory, names: Names, tenant_id: str,
               number: str) -> CertificateView | None:
    """The certificate the ledger holds under `number`, or None (unknown, or not a number)."""
    event = await ledger.certificates.get(tenant_id, number)
    if event is None:
        return None
    tree = await ledger.state.tree(tenant_id)
    entry = await directory.get(tenant_id, event.member_id)
    handlers = await names.organisers(tenant_id, [event.issued_by], None)
    return view(event, tree, entry, handlers[0].name if handlers else None)


def visible_to(tree: OrgTree, scope_unit_id: uuid.UUID | None,
               certificate: CertificateView) -> bool:
    """A scoped caller sees the certificates its subtree issued (as the lists show them)."""
    return tree.covers(scope_unit_id, certificate.issuer_unit_id)
