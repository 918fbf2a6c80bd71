"""Members: registered with the minimum of data, reported (报到) to a unit, transferred, left.

No personal data goes into the events: name, phone and PIN stay in the command, for the
member directory."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import pytest

from contract.events import (
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    UnitDissolved,
    encode_data,
)
from ledger.domain.members import (
    MemberLeaves,
    MemberState,
    RegisterMember,
    ReportMember,
    TransferMember,
    leave,
    register,
    report,
    transfer,
)

from .builders import FOUNDED, Org, member, new_id, refused

JOINED = date(2026, 3, 1)


@pytest.fixture
def org() -> Org:
    return Org()


def registration(**overrides: Any) -> RegisterMember:
    fields: dict[str, Any] = {
        "kind": "in_service", "employer": "市供电公司", "registered_on": JOINED,
        "member_number": "M-0001", "name": "张晓明", "phone": "13800000000", "pin": "2468",
    }
    fields.update(overrides)
    return RegisterMember(**fields)


# --- register ----------------------------------------------------------------------------


def test_an_in_service_member_registers_with_an_employer(org: Org) -> None:
    member_id = new_id()
    events = register(org.tree, None, registration(employer=" 市供电公司 "), member_id)
    assert events == [MemberRegistered(member_id=member_id, kind="in_service",
                                       employer="市供电公司", registered_on=JOINED)]


def test_registration_keeps_name_phone_and_pin_out_of_the_events(org: Org) -> None:
    events = register(org.tree, None, registration(unit_id=org.branch), new_id())
    stored = b"".join(encode_data(event) for event in events).decode()
    for secret in ("张晓明", "13800000000", "2468", "M-0001"):
        assert secret not in stored


def test_registering_with_a_unit_reports_there_on_the_same_day(org: Org) -> None:
    member_id = new_id()
    events = register(org.tree, None, registration(kind="retired", employer=None,
                                                   unit_id=org.branch), member_id)
    assert events == [
        MemberRegistered(member_id=member_id, kind="retired", employer=None,
                         registered_on=JOINED),
        MemberReported(member_id=member_id, unit_id=org.branch, effective=JOINED),
    ]


@pytest.mark.parametrize("employer", [None, "", "   "])
def test_an_in_service_member_needs_an_employer(org: Org, employer: str | None) -> None:
    with refused("employer_required", field="employer", status=422):
        register(org.tree, None, registration(employer=employer), new_id())


@pytest.mark.parametrize("kind", ["retired", "registered", "volunteer"])
def test_other_members_need_no_employer(org: Org, kind: str) -> None:
    events = register(org.tree, None, registration(kind=kind, employer=None), new_id())
    assert [type(e) for e in events] == [MemberRegistered]


def test_an_employer_is_kept_only_for_in_service_members(org: Org) -> None:
    member_id = new_id()
    events = register(org.tree, None, registration(kind="retired", employer="原纺织厂"),
                      member_id)
    assert events == [MemberRegistered(member_id=member_id, kind="retired", employer=None,
                                       registered_on=JOINED)]


@pytest.mark.parametrize("pin", ["1234", "12345678", None])
def test_a_pin_is_4_to_8_digits_or_absent(org: Org, pin: str | None) -> None:
    assert register(org.tree, None, registration(pin=pin), new_id())


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "12 34", "", "１２３４", "²³⁴⁵"])
def test_a_pin_of_another_shape_is_refused(org: Org, pin: str) -> None:
    with refused("invalid_pin", field="pin", status=422):
        register(org.tree, None, registration(pin=pin), new_id())


@pytest.mark.parametrize(("field", "value"), [("name", "  "), ("member_number", "")])
def test_a_member_needs_a_name_and_a_number(org: Org, field: str, value: str) -> None:
    with refused(f"invalid_{field}", field=field, status=422):
        register(org.tree, None, registration(**{field: value}), new_id())


def test_a_member_registers_once(org: Org) -> None:
    existing = member()
    with refused("member_exists", field="member_id"):
        register(org.tree, existing, registration(), existing.member_id)


@pytest.mark.parametrize("unit", ["street", "district"])
def test_members_report_only_where_activities_happen(org: Org, unit: str) -> None:
    with refused("invalid_reporting_unit", field="unit_id", status=422):
        register(org.tree, None, registration(unit_id=getattr(org, unit)), new_id())


def test_the_command_refuses_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"kind": "retired", "registered_on": "2026-03-01",
                         "member_number": "1", "name": "李", "id_number": "110..."},
                        RegisterMember)


# --- report ------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["community", "branch", "group", "team"])
def test_a_member_reports_to_a_community_branch_group_or_team(org: Org, unit: str) -> None:
    who = member("in_service", employer="市供电公司")
    assert report(org.tree, who, ReportMember(unit_id=getattr(org, unit), effective=JOINED)) == [
        MemberReported(member_id=who.member_id, unit_id=getattr(org, unit), effective=JOINED)]


def test_a_reported_member_transfers_rather_than_reports_again(org: Org) -> None:
    who = member(unit_id=org.branch)
    with refused("already_reported", field="unit_id"):
        report(org.tree, who, ReportMember(unit_id=org.other_branch, effective=JOINED))


def test_reporting_cannot_predate_registration(org: Org) -> None:
    who = member(registered_on=JOINED)
    with refused("before_registration", field="effective", status=422):
        report(org.tree, who, ReportMember(unit_id=org.branch, effective=date(2026, 2, 28)))


def test_nobody_reports_to_a_unit_before_it_was_established(org: Org) -> None:
    young = org.add("branch", org.community, "新建支部", effective=date(2026, 4, 1))
    with refused("before_unit_established", field="effective", status=422):
        report(org.tree, member(), ReportMember(unit_id=young, effective=JOINED))
    with refused("before_unit_established", field="registered_on", status=422):
        register(org.tree, None, registration(unit_id=young), new_id())
    with refused("before_unit_established", field="effective", status=422):
        transfer(org.tree, member(unit_id=org.branch),
                 TransferMember(to_unit_id=young, effective=JOINED))


def test_nobody_reports_to_a_dissolved_unit(org: Org) -> None:
    org.tree.apply(UnitDissolved(unit_id=org.group, effective=JOINED))
    with refused("unit_inactive", field="unit_id"):
        report(org.tree, member(), ReportMember(unit_id=org.group, effective=JOINED))


def test_an_unknown_member_cannot_report(org: Org) -> None:
    with refused("member_not_found", field="member_id", status=404):
        report(org.tree, None, ReportMember(unit_id=org.branch, effective=JOINED))


def test_a_member_who_left_cannot_report(org: Org) -> None:
    with refused("member_inactive", field="member_id"):
        report(org.tree, member(left_on=JOINED), ReportMember(unit_id=org.branch,
                                                              effective=JOINED))


# --- transfer ----------------------------------------------------------------------------


def test_a_member_transfers_between_units_and_the_old_unit_is_recorded(org: Org) -> None:
    who = member(unit_id=org.branch)
    events = transfer(org.tree, who, TransferMember(to_unit_id=org.other_branch,
                                                    effective=JOINED))
    assert events == [MemberTransferred(member_id=who.member_id, from_unit_id=org.branch,
                                        to_unit_id=org.other_branch, effective=JOINED)]


def test_a_transfer_is_folded_into_the_current_unit(org: Org) -> None:
    who = member(unit_id=org.branch)
    state = MemberState.fold([
        MemberRegistered(member_id=who.member_id, kind="retired", registered_on=FOUNDED),
        MemberReported(member_id=who.member_id, unit_id=org.branch, effective=FOUNDED),
        *transfer(org.tree, who, TransferMember(to_unit_id=org.team, effective=JOINED)),
    ])
    assert state is not None
    assert (state.unit_id, state.reported_on) == (org.team, JOINED)


def test_a_member_who_never_reported_cannot_transfer(org: Org) -> None:
    with refused("not_reported", field="to_unit_id"):
        transfer(org.tree, member(), TransferMember(to_unit_id=org.branch, effective=JOINED))


def test_a_transfer_to_the_same_unit_is_refused(org: Org) -> None:
    with refused("unchanged", field="to_unit_id"):
        transfer(org.tree, member(unit_id=org.branch),
                 TransferMember(to_unit_id=org.branch, effective=JOINED))


def test_a_transfer_cannot_predate_the_last_report(org: Org) -> None:
    who = member(unit_id=org.branch, registered_on=JOINED)
    with refused("before_reporting", field="effective", status=422):
        transfer(org.tree, who, TransferMember(to_unit_id=org.other_branch,
                                               effective=date(2026, 2, 28)))


def test_a_transfer_goes_to_a_reporting_unit(org: Org) -> None:
    with refused("invalid_reporting_unit", field="to_unit_id"):
        transfer(org.tree, member(unit_id=org.branch),
                 TransferMember(to_unit_id=org.street, effective=JOINED))


def test_a_member_who_left_cannot_transfer(org: Org) -> None:
    with refused("member_inactive"):
        transfer(org.tree, member(unit_id=org.branch, left_on=JOINED),
                 TransferMember(to_unit_id=org.other_branch, effective=JOINED))


# --- leave -------------------------------------------------------------------------------


def test_a_member_leaves_with_a_reason() -> None:
    who = member()
    assert leave(who, MemberLeaves(effective=JOINED, reason=" 迁出本区 ")) == [
        MemberLeft(member_id=who.member_id, effective=JOINED, reason="迁出本区")]


def test_leaving_needs_a_reason() -> None:
    with refused("reason_required", field="reason", status=422):
        leave(member(), MemberLeaves(effective=JOINED, reason="  "))


def test_leaving_cannot_predate_registration() -> None:
    with refused("before_registration", field="effective"):
        leave(member(registered_on=JOINED), MemberLeaves(effective=date(2026, 2, 1),
                                                         reason="迁出"))


def test_leaving_cannot_predate_the_last_report(org: Org) -> None:
    who = member(unit_id=org.branch)
    then_transferred = MemberState(who.member_id, who.kind, None, FOUNDED, org.team, JOINED)
    with refused("before_reporting", field="effective", status=422):
        leave(then_transferred, MemberLeaves(effective=date(2026, 2, 1), reason="迁出"))


def test_a_member_leaves_only_once() -> None:
    with refused("member_inactive", field="member_id"):
        leave(member(left_on=JOINED), MemberLeaves(effective=JOINED, reason="迁出"))
