"""Certificates decided from activity states: what counts, by month, who may issue, the
period's bounds, and numbers (deterministic per command, unguessable, well formed)."""

from __future__ import annotations

import uuid

import pytest

from contract.events import CertificateIssued, CertificateRequested, CertificateRequestRefused
from ledger.domain import activities, certificates
from ledger.domain.activities import ActivityState
from ledger.domain.certificates import IssueCertificate
from tests.unit.domain.builders import (
    END,
    START,
    Org,
    activity,
    attended,
    member,
    refused,
    sh,
    then,
)

KEY = b"k" * 32
NOW = sh(2026, 5, 2, 10)


def confirmed(org: Org, state: ActivityState, participation: uuid.UUID,
              minutes: int | None = None) -> None:
    then(state, activities.confirm(org.tree, state, activities.ConfirmAttendance(
        participation_id=participation, minutes=minutes), org.organiser(org.community), NOW))


def issue(org: Org, who: object, states: list[ActivityState], first: str = "2026-03",
          last: str = "2026-04", scope: uuid.UUID | None = None) -> CertificateIssued:
    [event] = certificates.issue(
        org.tree, None, who, states, IssueCertificate(first_month=first, last_month=last),  # type: ignore[arg-type]
        org.organiser(scope or org.community), who.member_id, "ZYFW-2026-AAAAAAAAAAAA", NOW)  # type: ignore[attr-defined]
    assert isinstance(event, CertificateIssued)
    return event


def test_only_confirmed_service_counts_by_month() -> None:
    org = Org()
    who = member(unit_id=org.branch)
    cleanup = activity(org.branch, title="清理楼道堆物")
    confirmed(org, cleanup, attended(cleanup, who, START, END))            # 120 in March
    patrol = activity(org.branch, title="夜间巡逻", starts_at=sh(2026, 4, 1, 19),
                      ends_at=sh(2026, 4, 1, 21))
    confirmed(org, patrol, attended(patrol, who, sh(2026, 4, 1, 19), sh(2026, 4, 1, 20)))
    pending = activity(org.branch, starts_at=sh(2026, 4, 2, 9), ends_at=sh(2026, 4, 2, 11))
    attended(pending, who, sh(2026, 4, 2, 9), sh(2026, 4, 2, 11))          # never confirmed
    meeting = activity(org.branch, kind="meeting", category="attendance",
                       starts_at=sh(2026, 4, 3, 9), ends_at=sh(2026, 4, 3, 11))
    confirmed(org, meeting, attended(meeting, who, sh(2026, 4, 3, 9), sh(2026, 4, 3, 11)))
    revoked = activity(org.branch, starts_at=sh(2026, 4, 4, 9), ends_at=sh(2026, 4, 4, 11))
    wrong = attended(revoked, who, sh(2026, 4, 4, 9), sh(2026, 4, 4, 11))
    confirmed(org, revoked, wrong)
    then(revoked, activities.revoke(org.tree, revoked, activities.RevokeParticipation(
        participation_id=wrong, reason="代签"), org.organiser(org.community), NOW))
    outside = activity(org.branch, starts_at=sh(2026, 2, 1, 9), ends_at=sh(2026, 2, 1, 11))
    confirmed(org, outside, attended(outside, who, sh(2026, 2, 1, 9), sh(2026, 2, 1, 11)))

    event = issue(org, who, [cleanup, patrol, pending, meeting, revoked, outside])
    assert [(m.month, m.minutes, m.activities, m.content) for m in event.months] == [
        ("2026-03", 120, 1, "清理楼道堆物"), ("2026-04", 60, 1, "夜间巡逻")]
    assert (event.minutes, event.activities) == (180, 2)
    assert event.issuer_unit_id == org.community and event.issued_at == NOW


def test_content_names_the_titles_with_most_hours_and_counts_the_rest() -> None:
    org = Org()
    who = member(unit_id=org.branch)
    states = []
    for day, (title, hours) in enumerate((("甲", 1), ("乙", 2), ("丙", 1), ("丁", 2)), start=1):
        state = activity(org.branch, title=title, starts_at=sh(2026, 3, day, 8),
                         ends_at=sh(2026, 3, day, 11))
        confirmed(org, state, attended(state, who, sh(2026, 3, day, 8),
                                       sh(2026, 3, day, 8 + hours)))
        states.append(state)
    [month] = issue(org, who, states, "2026-03", "2026-03").months
    assert month.content == "丁、乙、丙等4次" and month.minutes == 360


def test_who_may_issue_and_for_what() -> None:
    org = Org()
    who = member(unit_id=org.branch)
    state = activity(org.branch)
    confirmed(org, state, attended(state, who, START, END))
    with refused("forbidden", status=403):
        issue(org, who, [state], scope=org.other_community)
    # The district (tenant-wide) issues as the top of the tree.
    district = certificates.issue(
        org.tree, None, who, [state], IssueCertificate(first_month="2026-03",
                                                       last_month="2026-03"),
        org.organiser(None), who.member_id, "ZYFW-2026-AAAAAAAAAAAA", NOW)
    assert district[0].issuer_unit_id == org.district  # type: ignore[attr-defined]
    with refused("no_service", field="first_month"):
        issue(org, who, [state], "2026-04", "2026-04")
    with refused("member_not_found", status=404):
        certificates.issue(org.tree, None, None, [], IssueCertificate(
            first_month="2026-03", last_month="2026-03"), org.organiser(org.community),
            who.member_id, "ZYFW-2026-AAAAAAAAAAAA", NOW)
    with refused("already_issued", status=409):
        certificates.issue(org.tree, certificates.CertificateState("x", who.member_id), who,
                           [state], IssueCertificate(first_month="2026-03",
                                                     last_month="2026-03"),
                           org.organiser(org.community), who.member_id, "x", NOW)
    with refused("control_characters"):
        certificates.issue(org.tree, None, who, [state], IssueCertificate(
            first_month="2026-03", last_month="2026-03", contact="电话\x0b"),
            org.organiser(org.community), who.member_id, "x", NOW)


@pytest.mark.parametrize(("first", "last", "code", "field"), [
    ("2026-04", "2026-03", "invalid_range", "first_month"),
    ("2026-03", "2026-06", "month_in_future", "last_month"),
    ("2024-01", "2026-01", "period_too_long", "last_month"),
    ("2026-3", "2026-03", "invalid_month", "first_month"),
    ("2026-03", "2026-13", "invalid_month", "last_month"),
])
def test_the_period_is_checked(first: str, last: str, code: str, field: str) -> None:
    with refused(code, field=field):
        certificates.period(IssueCertificate(first_month=first, last_month=last), NOW)


def test_a_period_of_24_months_is_allowed_and_bounded_in_shanghai() -> None:
    start, end = certificates.period(IssueCertificate(first_month="2024-05",
                                                      last_month="2026-04"), NOW)
    assert start == sh(2024, 5, 1) and end == sh(2026, 5, 1)


def test_numbers_are_deterministic_per_command_and_well_formed() -> None:
    command, member_id = uuid.uuid4(), uuid.uuid4()
    number = certificates.certificate_number(KEY, "t", member_id, command, "2026-04")
    assert number == certificates.certificate_number(KEY, "t", member_id, command, "2026-04")
    assert certificates.well_formed(number) and number.startswith("ZYFW-2026-")
    others = {
        certificates.certificate_number(b"x" * 32, "t", member_id, command, "2026-04"),
        certificates.certificate_number(KEY, "u", member_id, command, "2026-04"),
        certificates.certificate_number(KEY, "t", uuid.uuid4(), command, "2026-04"),
        certificates.certificate_number(KEY, "t", member_id, uuid.uuid4(), "2026-04"),
    }
    assert number not in others and len(others) == 4
    for bad in ("", "ZYFW-2026-short", number.lower(), number + "A", "ZYFW-26-AAAAAAAAAAAA",
                number[:-1] + "1", number + "\n"):
        assert not certificates.well_formed(bad), bad


def test_a_member_asks_for_a_period_of_months_not_yet_to_come() -> None:
    org = Org()
    who = member(unit_id=org.branch)
    request_id = uuid.uuid4()
    march = certificates.RequestCertificate(first_month="2026-03", last_month="2026-05")
    assert certificates.request(who, march, request_id, 0, NOW) == [CertificateRequested(
        request_id=request_id, member_id=who.member_id, first_month="2026-03",
        last_month="2026-05", requested_at=NOW)]
    for first, last, code in (("2026-05", "2026-06", "month_in_future"),
                              ("2026-04", "2026-03", "invalid_range"),
                              ("2024-01", "2026-04", "period_too_long"),
                              ("2026-3", "2026-04", "invalid_month")):
        with refused(code, status=422):
            certificates.request(who, certificates.RequestCertificate(
                first_month=first, last_month=last), request_id, 0, NOW)
    with refused("request_open", status=409):
        certificates.request(who, march, request_id, 1, NOW)
    with refused("member_left"):
        certificates.request(member(unit_id=org.branch, left_on=NOW.date()), march,
                             request_id, 0, NOW)


def test_a_refusal_names_the_request_and_needs_a_reason() -> None:
    org = Org()
    who = member(unit_id=org.branch)
    request_id = uuid.uuid4()
    who.certificate_requests[request_id] = ("2026-03", "2026-04")
    organiser = org.organiser(org.branch)
    reason = certificates.RefuseCertificateRequest(reason=" 该期间没有已确认的服务 ")
    [event] = certificates.refuse(org.tree, None, who, reason, organiser, request_id, NOW)
    assert isinstance(event, CertificateRequestRefused)
    assert (event.reason, event.refused_by) == ("该期间没有已确认的服务", organiser.organiser_id)
    with refused("reason_required", field="reason", status=422):
        certificates.refuse(org.tree, None, who, certificates.RefuseCertificateRequest(
            reason="  "), organiser, request_id, NOW)
    with refused("request_not_found", status=404):
        certificates.refuse(org.tree, None, who, reason, organiser, uuid.uuid4(), NOW)
    answered = certificates.apply(None, event)
    with refused("already_refused", status=409):
        certificates.refuse(org.tree, answered, who, reason, organiser, request_id, NOW)
