"""Members: registered with minimal data, reported (报到) to a unit, transferred, left."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date

from contract.bounds import clean, line, text
from contract.events import (
    CertificateRequested,
    Event,
    MemberDataErased,
    MemberKind,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
)
from contract.problems import Refusal, invalid, not_found
from ledger.domain.command import Command
from ledger.domain.organisation import OrgTree

# Units a member can report to: where the activities happen.
REPORTING_KINDS = frozenset({"community", "branch", "group", "team"})
# ASCII digits only: str.isdigit() also accepts "１２３４" and "²³⁴⁵", which a phone keypad
# would never produce again at check-in.
PIN = re.compile(r"[0-9]{4,8}")
MAX_NAME = MAX_NUMBER = 50
MAX_EMPLOYER = 100
MAX_PHONE = 32
MAX_REASON = 500


STREAM_PREFIX = "member-"


def stream_id(member_id: uuid.UUID) -> str:
    return f"{STREAM_PREFIX}{member_id}"


@dataclass
class MemberState:
    member_id: uuid.UUID
    kind: str
    employer: str | None
    registered_on: date
    unit_id: uuid.UUID | None = None
    reported_on: date | None = None
    left_on: date | None = None
    erased: bool = False
    # The certificates the member asked for, by request id: (first month, last month).
    # Their answers live in the certificates' streams (domain/certificates.py).
    certificate_requests: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.left_on is None

    @classmethod
    def fold(cls, events: list[Event]) -> MemberState | None:
        state: MemberState | None = None
        for event in events:
            state = apply(state, event)
        return state


def apply(state: MemberState | None, event: Event) -> MemberState | None:
    match event:
        case MemberRegistered():
            return MemberState(event.member_id, event.kind, event.employer, event.registered_on)
        case MemberReported() if state is not None:
            state.unit_id, state.reported_on = event.unit_id, event.effective
        case MemberTransferred() if state is not None:
            state.unit_id, state.reported_on = event.to_unit_id, event.effective
        case MemberLeft() if state is not None:
            state.left_on = event.effective
        case MemberDataErased() if state is not None:
            state.erased = True
        case CertificateRequested() if state is not None:
            state.certificate_requests[event.request_id] = (event.first_month,
                                                            event.last_month)
    return state


# --- commands ----------------------------------------------------------------------------


class RegisterMember(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    member_id: uuid.UUID | None = None
    kind: MemberKind
    employer: line(MAX_EMPLOYER) | None = None
    registered_on: date
    # Directory data: stored outside the events (see ledger.adapters.directory).
    member_number: line(MAX_NUMBER)
    name: line(MAX_NAME)
    phone: line(MAX_PHONE) | None = None
    # The PIN the member uses on the check-in form; only its hash is kept.
    pin: line(8) | None = None
    # Report to a unit at once (the usual case for 双报到).
    unit_id: uuid.UUID | None = None


class ReportMember(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    unit_id: uuid.UUID
    effective: date


class TransferMember(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    to_unit_id: uuid.UUID
    effective: date


class MemberLeaves(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    effective: date
    reason: text(MAX_REASON)


# --- decisions ---------------------------------------------------------------------------


def existing(state: MemberState | None) -> MemberState:
    if state is None:
        raise not_found("member_not_found", "成员不存在", "no such member", "member_id")
    return state


def active(state: MemberState | None) -> MemberState:
    member = existing(state)
    if not member.active:
        raise Refusal("member_inactive", "该成员已离开，不能再登记", "the member has left",
                      field="member_id")
    return member


def _reporting_unit(tree: OrgTree, unit_id: uuid.UUID, field_name: str, effective: date,
                    date_field: str = "effective") -> None:
    unit = tree.active_unit(unit_id, field_name)
    if unit.kind not in REPORTING_KINDS:
        raise invalid("invalid_reporting_unit", "只能向社区、支部、党小组或志愿者队伍报到",
                      "members report to a community, branch, group or team", field_name)
    # A member's months count for the unit they belonged to then: it must have existed.
    if effective < unit.established:
        raise invalid("before_unit_established", "报到日期早于该组织成立日期",
                      "the date is before the unit was established", date_field)


def register(tree: OrgTree, state: MemberState | None, command: RegisterMember,
             member_id: uuid.UUID) -> list[Event]:
    if state is not None:
        raise Refusal("member_exists", "成员已登记", "the member is already registered",
                      field="member_id")
    employer = clean(command.employer or "", "employer")
    if command.kind == "in_service" and not employer:
        raise invalid("employer_required", "在职党员须填写工作单位",
                      "an in-service member needs an employer unit", "employer")
    if len(employer) > MAX_EMPLOYER:
        raise invalid("invalid_employer", f"工作单位不超过{MAX_EMPLOYER}字",
                      f"employer: at most {MAX_EMPLOYER} characters", "employer")
    name = clean(command.name, "name")
    if not name or len(name) > MAX_NAME:
        raise invalid("invalid_name", f"请填写姓名（不超过{MAX_NAME}字）",
                      f"name: 1–{MAX_NAME} characters", "name")
    number = clean(command.member_number, "member_number")
    if not number or len(number) > MAX_NUMBER:
        raise invalid("invalid_member_number", f"请填写成员编号（不超过{MAX_NUMBER}字）",
                      f"member_number: 1–{MAX_NUMBER} characters", "member_number")
    phone = clean(command.phone or "", "phone")
    if len(phone) > MAX_PHONE:
        raise invalid("invalid_phone", f"电话不超过{MAX_PHONE}个字符",
                      f"phone: at most {MAX_PHONE} characters", "phone")
    if command.pin is not None and not PIN.fullmatch(command.pin):
        raise invalid("invalid_pin", "PIN 须为4至8位数字", "the PIN must be 4–8 digits", "pin")
    # Only in-service members need an employer (双报到); for anyone else it is data the
    # ledger has no use for, so it is not kept (PIPL: collect the minimum).
    employer = (employer or None) if command.kind == "in_service" else None
    events: list[Event] = [
        MemberRegistered(member_id=member_id, kind=command.kind, employer=employer,
                         registered_on=command.registered_on)
    ]
    if command.unit_id is not None:
        _reporting_unit(tree, command.unit_id, "unit_id", command.registered_on,
                        "registered_on")
        events.append(MemberReported(member_id=member_id, unit_id=command.unit_id,
                                     effective=command.registered_on))
    return events


def report(tree: OrgTree, state: MemberState | None, command: ReportMember) -> list[Event]:
    member = active(state)
    if member.unit_id is not None:
        raise Refusal("already_reported", "该成员已报到，请办理转移",
                      "the member has reported already; transfer instead", field="unit_id")
    _reporting_unit(tree, command.unit_id, "unit_id", command.effective)
    if command.effective < member.registered_on:
        raise invalid("before_registration", "报到日期早于登记日期",
                      "reporting date is before registration", "effective")
    return [MemberReported(member_id=member.member_id, unit_id=command.unit_id,
                           effective=command.effective)]


def transfer(tree: OrgTree, state: MemberState | None, command: TransferMember) -> list[Event]:
    member = active(state)
    if member.unit_id is None or member.reported_on is None:
        raise Refusal("not_reported", "该成员尚未报到", "the member has not reported yet",
                      field="to_unit_id")
    if command.to_unit_id == member.unit_id:
        raise Refusal("unchanged", "转入组织与当前组织相同", "already in that unit",
                      field="to_unit_id")
    _reporting_unit(tree, command.to_unit_id, "to_unit_id", command.effective)
    if command.effective < member.reported_on:
        raise invalid("before_reporting", "转移日期早于上次报到日期",
                      "transfer date is before the last reporting date", "effective")
    return [MemberTransferred(member_id=member.member_id, from_unit_id=member.unit_id,
                              to_unit_id=command.to_unit_id, effective=command.effective)]


def leave(state: MemberState | None, command: MemberLeaves) -> list[Event]:
    member = active(state)
    reason = clean(command.reason, "reason", multiline=True)
    if not reason or len(reason) > MAX_REASON:
        raise invalid("reason_required", f"请填写原因（不超过{MAX_REASON}字）",
                      f"a reason of 1–{MAX_REASON} characters is required", "reason")
    if command.effective < member.registered_on:
        raise invalid("before_registration", "离开日期早于登记日期",
                      "leaving date is before registration", "effective")
    # Otherwise the member's months between leaving and the last report would count for a
    # unit they had already left.
    if member.reported_on is not None and command.effective < member.reported_on:
        raise invalid("before_reporting", "离开日期早于上次报到日期",
                      "leaving date is before the last reporting date", "effective")
    return [MemberLeft(member_id=member.member_id, effective=command.effective,
                       reason=reason)]
