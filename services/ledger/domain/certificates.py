"""Volunteer-service certificates (志愿服务证明): issued by the organising unit on the
volunteer's request, with the confirmed service of a period by month, as the national rules
on record and certificate issuing describe (谁记录谁证明: apply → accept → issue).

A certificate is its own stream, `certificate-<number>`, created once (NO_STREAM): its
number is unique in the tenant by the stream key. The number is derived from the command id
with a key the ledger keeps (an HMAC), so a retried command issues the same certificate,
and nobody can guess the number of another one from the public verification page.

A member asks on their page (`CertificateRequested`, in their own stream; one open request
at a time). The answer goes into the stream of the number derived from the request id
instead of a command id: a certificate naming the request, or a refusal with a reason. That
stream is created once, so a request is answered exactly once, whoever answers first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from contract.bounds import clean, line, text
from contract.calendar import SHANGHAI, month_bounds, month_of, valid_month
from contract.events import (
    CertificateIssued,
    CertificateMonth,
    CertificateRequested,
    CertificateRequestRefused,
    Event,
)
from contract.problems import Refusal, forbidden, invalid, not_found
from ledger.domain.activities import ActivityState, Organiser
from ledger.domain.command import Command
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree

STREAM_PREFIX = "certificate-"
NUMBER_PREFIX = "ZYFW"
# 12 base32 characters of the HMAC: 60 bits, beyond any enumeration of the public page.
TAG_CHARS = 12
NUMBER = re.compile(rf"^{NUMBER_PREFIX}-(\d{{4}})-([A-Z2-7]{{{TAG_CHARS}}})\Z")
MAX_NUMBER = len(NUMBER_PREFIX) + 6 + TAG_CHARS
# A certificate lists one row per month and must fit on one A4 page.
MAX_MONTHS = 24
MAX_CONTACT = 50
MAX_REASON = 500
# The titles listed for a month's content (the others are counted in the activities).
CONTENT_TITLES = 3


def stream_id(number: str) -> str:
    return f"{STREAM_PREFIX}{number}"


def certificate_number(key: bytes, tenant_id: str, member_id: uuid.UUID,
                       command_id: uuid.UUID, last_month: str) -> str:
    """`ZYFW-<year the period ends>-<12 base32 characters>`: the same for the same command
    (the year is the command's, not the clock's, so a retry across New Year's Eve agrees),
    unguessable without the key."""
    digest = hmac.new(key, f"certificate|{tenant_id}|{member_id}|{command_id}".encode(),
                      hashlib.sha256).digest()
    tag = base64.b32encode(digest).decode()[:TAG_CHARS]
    return f"{NUMBER_PREFIX}-{last_month[:4]}-{tag}"


def well_formed(number: str) -> bool:
    """Could `number` be a certificate's? (A cheap check before any read.)"""
    return len(number) <= MAX_NUMBER and NUMBER.match(number) is not None


class IssueCertificate(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The member is the path's; the months are Asia/Shanghai months, both inclusive."""

    first_month: line(7)
    last_month: line(7)
    # The issuing unit's contact (联系方式) printed on the certificate; optional.
    contact: line(MAX_CONTACT) = ""


class RequestCertificate(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The member asks for a certificate of these Asia/Shanghai months, both inclusive."""

    first_month: line(7)
    last_month: line(7)


class RefuseCertificateRequest(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: text(MAX_REASON)


@dataclass(frozen=True)
class CertificateState:
    """What a certificate stream holds: a certificate (`number`), or the refusal of the
    request it would have answered (`number` None)."""

    number: str | None
    member_id: uuid.UUID


def apply(state: CertificateState | None, event: Event) -> CertificateState | None:
    if isinstance(event, CertificateIssued):
        return CertificateState(event.number, event.member_id)
    if isinstance(event, CertificateRequestRefused):
        return CertificateState(None, event.member_id)
    return state


def period(command: IssueCertificate | RequestCertificate,
           now: datetime) -> tuple[datetime, datetime]:
    """The period's first and last instant, checked: months in order, over, at most
    `MAX_MONTHS` of them. What the handler reads the member's activities for."""
    first = valid_month(command.first_month, "first_month")
    last = valid_month(command.last_month, "last_month")
    if first > last:
        raise invalid("invalid_range", "开始月份晚于结束月份", "first_month is after last_month",
                      "first_month")
    if last > month_of(now):
        raise invalid("month_in_future", "证明期间不能晚于本月",
                      "the period cannot end after this month", "last_month")
    start, _ = month_bounds(first)
    _, end = month_bounds(last)
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > MAX_MONTHS:
        raise invalid("period_too_long", f"证明期间最长{MAX_MONTHS}个月",
                      f"at most {MAX_MONTHS} months", "last_month")
    return (datetime.combine(start, datetime.min.time(), tzinfo=SHANGHAI),
            datetime.combine(end, datetime.min.time(), tzinfo=SHANGHAI))


def service_by_month(member_id: uuid.UUID, activities: Iterable[ActivityState],
                     first_month: str, last_month: str) -> list[CertificateMonth]:
    """Confirmed service of the member, by month of the check-in: only service activities
    with credited minutes count (meetings and classes are attendance, not service), and a
    revoked record never does. Months without service are left out."""
    minutes: dict[str, int] = {}
    counts: dict[str, int] = {}
    titles: dict[str, dict[str, int]] = {}
    for activity in activities:
        if activity.category != "service":
            continue
        for participation in activity.by_member.get(member_id, ()):
            month = month_of(participation.checked_in_at)
            if (participation.revoked or not participation.minutes
                    or not first_month <= month <= last_month):
                continue
            minutes[month] = minutes.get(month, 0) + participation.minutes
            counts[month] = counts.get(month, 0) + 1
            by_title = titles.setdefault(month, {})
            by_title[activity.title] = by_title.get(activity.title, 0) + participation.minutes
    return [
        CertificateMonth(month=month, minutes=minutes[month], activities=counts[month],
                         content=_content(titles[month], counts[month]))
        for month in sorted(minutes)
    ]


def _content(by_title: dict[str, int], count: int) -> str:
    ranked = sorted(by_title, key=lambda title: (-by_title[title], title))
    shown = "、".join(ranked[:CONTENT_TITLES])
    return shown if len(ranked) <= CONTENT_TITLES else f"{shown}等{count}次"


def issuer_unit(tree: OrgTree, organiser: Organiser) -> uuid.UUID:
    """The organiser's own unit issues; a tenant-wide organiser issues as the district."""
    if organiser.scope_unit_id is not None:
        return organiser.scope_unit_id
    roots = [u.unit_id for u in tree.units.values() if u.parent_id is None]
    if not roots:
        raise not_found("unit_not_found", "组织不存在", "no such unit", "unit_id")
    return roots[0]


def _answerable(tree: OrgTree, state: CertificateState | None, member: MemberState | None,
                organiser: Organiser) -> MemberState:
    if state is not None:
        if state.number is None:
            raise Refusal("already_refused", "该申请已答复不予出具",
                          "the request was refused already", status=409)
        raise Refusal("already_issued", "该证明已出具", "this certificate is issued",
                      status=409)
    if member is None or member.erased:
        raise not_found("member_not_found", "成员不存在", "no such member", "member_id")
    # Who records, certifies: the organiser's subtree must hold the member's unit (a
    # member reporting nowhere only the tenant-wide may certify).
    if organiser.scope_unit_id is not None and (
            member.unit_id is None or not tree.covers(organiser.scope_unit_id, member.unit_id)):
        raise forbidden("该成员不在您的组织范围内", "the member is outside your unit")
    return member


def requested(member: MemberState | None, request_id: uuid.UUID) -> IssueCertificate:
    """The certificate a request asks for, or 404 when the member made no such request."""
    months = member.certificate_requests.get(request_id) if member is not None else None
    if months is None:
        raise not_found("request_not_found", "没有这份证明申请", "no such certificate request",
                        "request_id")
    return IssueCertificate(first_month=months[0], last_month=months[1])


def request(member: MemberState | None, command: RequestCertificate, request_id: uuid.UUID,
            open_requests: int, now: datetime) -> list[Event]:
    """`open_requests`: the member's requests not answered yet (the list read model)."""
    if member is None or member.erased:
        raise not_found("member_not_found", "成员不存在", "no such member", "member_id")
    if not member.active:
        raise Refusal("member_left", "成员已离开", "the member has left", field="member_id")
    period(command, now)
    if open_requests:
        raise Refusal("request_open", "您已有一份待处理的证明申请，请等待答复",
                      "a certificate request of yours is waiting for its answer")
    return [CertificateRequested(request_id=request_id, member_id=member.member_id,
                                 first_month=command.first_month,
                                 last_month=command.last_month, requested_at=now)]


def refuse(tree: OrgTree, state: CertificateState | None, member: MemberState | None,
           command: RefuseCertificateRequest, organiser: Organiser, request_id: uuid.UUID,
           now: datetime) -> list[Event]:
    answered = _answerable(tree, state, member, organiser)
    requested(answered, request_id)
    reason = clean(command.reason, "reason", multiline=True)
    if not reason or len(reason) > MAX_REASON:
        raise invalid("reason_required", f"请填写原因（不超过{MAX_REASON}字）",
                      f"a reason of 1–{MAX_REASON} characters is required", "reason")
    return [CertificateRequestRefused(request_id=request_id, member_id=answered.member_id,
                                      reason=reason, refused_by=organiser.organiser_id,
                                      refused_at=now)]


def issue(tree: OrgTree, state: CertificateState | None, member: MemberState | None,
          activities: Iterable[ActivityState], command: IssueCertificate,
          organiser: Organiser, member_id: uuid.UUID, number: str,
          now: datetime, *, request_id: uuid.UUID | None = None) -> list[Event]:
    """`request_id`: the member's request this answers (its months are the command's)."""
    _answerable(tree, state, member, organiser)
    period(command, now)
    contact = clean(command.contact, "contact")
    months = service_by_month(member_id, activities, command.first_month, command.last_month)
    if not months:
        raise invalid("no_service", "该期间没有已确认的志愿服务记录",
                      "no confirmed service in that period", "first_month")
    return [CertificateIssued(
        number=number, member_id=member_id, first_month=command.first_month,
        last_month=command.last_month, minutes=sum(m.minutes for m in months),
        activities=sum(m.activities for m in months), months=months,
        issuer_unit_id=issuer_unit(tree, organiser), issued_by=organiser.organiser_id,
        issued_at=now, contact=contact, request_id=request_id,
    )]
