"""Bulk import, pure part: parsing CSV / JSON lines and checking rows against the rules."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from contract.calendar import SHANGHAI
from contract.events import ActivityClosed, ActivityScheduled, AttendanceConfirmed, CheckedIn
from ledger.domain.activities import Busy
from ledger.imports.plan import Context, Plan, plan
from ledger.imports.rows import FIELDS, Row, detect_format, parse
from tests.unit.domain.builders import Org, member

HEADER = ",".join(FIELDS)
NOW = datetime(2026, 6, 1, tzinfo=SHANGHAI)


class World:
    def __init__(self) -> None:
        self.org = Org()
        self.importer = self.org.organiser(self.org.community)
        self.members = {f"M{i}": member(unit_id=self.org.branch) for i in range(1, 5)}
        self.members["LEFT"] = member(unit_id=self.org.branch, left_on=date(2026, 3, 1))
        self.busy: dict[uuid.UUID, list[Busy]] = {}

    def context(self) -> Context:
        return Context(tenant_id="t-1", importer=self.importer, tree=self.org.tree,
                       members=self.members,
                       organisers={"li": self.org.organiser(self.org.branch),
                                   "far": self.org.organiser(self.org.other_community)},
                       busy=self.busy, now=NOW, grace=timedelta(minutes=30))

    def row(self, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "activity_ref": "A1", "activity_title": "楼道清理", "kind": "cleanup",
            "category": "service", "host_unit_id": str(self.org.branch), "place": "3号楼",
            "starts_at": "2026-02-07T09:00:00+08:00", "ends_at": "2026-02-07T11:00:00+08:00",
            "hours_cap_minutes": "", "member_number": "M1",
            "checked_in_at": "2026-02-07T09:00:00+08:00",
            "checked_out_at": "2026-02-07T10:30:00+08:00", "minutes": "", "confirmed_by": "",
            "beneficiary": "",
        }
        fields.update(overrides)
        return fields

    def csv(self, *rows: dict[str, Any]) -> bytes:
        lines = [HEADER] + [",".join(str(r[f]) for f in FIELDS) for r in rows]
        return ("\n".join(lines) + "\n").encode()

    def check(self, *rows: dict[str, Any]) -> Plan:
        parsed = parse(self.csv(*rows), "csv")
        result = plan(parsed.rows, self.context(), parsed.spoiled_refs)
        result.errors[:0] = parsed.errors
        return result


def errors(result: Plan) -> list[tuple[int, str | None, str]]:
    return sorted((e.row, e.field, e.code) for e in result.errors)


def test_a_valid_activity_becomes_its_events_with_the_minutes_the_rules_allow() -> None:
    w = World()
    result = w.check(
        w.row(member_number="M1", checked_in_at="2026-02-07T08:45",  # no offset: Shanghai
              checked_out_at="2026-02-07T11:30"),
        w.row(member_number="M2", checked_in_at="2026-02-07T09:30", minutes="60"),
    )
    assert result.errors == []
    (activity,) = result.activities
    types = [type(e).__name__ for _, e in activity.events]
    assert types == ["ActivityScheduled", "CheckedIn", "CheckedOut", "AttendanceConfirmed",
                     "CheckedIn", "CheckedOut", "AttendanceConfirmed", "ActivityClosed"]
    confirmed = [e for _, e in activity.events if isinstance(e, AttendanceConfirmed)]
    # Present 08:45–11:30, credited only within the 09:00–11:00 window.
    assert [c.minutes for c in confirmed] == [120, 60]
    assert all(c.confirmed_by == w.importer.organiser_id for c in confirmed)
    check_in = next(e for _, e in activity.events if isinstance(e, CheckedIn))
    assert check_in.method == "import"
    assert check_in.at == datetime(2026, 2, 7, 8, 45, tzinfo=SHANGHAI)
    assert isinstance(activity.events[-1][1], ActivityClosed)
    assert activity.minutes == 180


def test_ids_are_derived_so_the_same_file_plans_the_same_events() -> None:
    w = World()
    first = w.check(w.row(), w.row(member_number="M2"))
    again = w.check(w.row(member_number="M2"), w.row())
    assert {i for i, _ in first.activities[0].events} == {i for i, _ in again.activities[0].events}
    scheduled = first.activities[0].events[0][1]
    assert isinstance(scheduled, ActivityScheduled)
    ctx = w.context()
    ctx.tenant_id = "t-2"
    parsed = parse(w.csv(w.row()), "csv")
    assert plan(parsed.rows, ctx).activities[0].activity_id != first.activities[0].activity_id


def test_every_bad_row_is_reported_with_its_line_and_field() -> None:
    w = World()
    result = w.check(
        w.row(member_number="NOPE"),                                          # line 2
        w.row(member_number="M2", checked_in_at="yesterday"),                 # line 3
        w.row(member_number="M3", checked_out_at="2026-02-07T08:00+08:00"),   # line 4
        w.row(member_number="M4", minutes="121"),                             # line 5
        w.row(member_number="M1", activity_ref="A2", kind="party"),           # line 6
        w.row(member_number="M1", activity_ref="A3", confirmed_by="nobody"),  # line 7
    )
    assert errors(result) == [
        (2, "member_number", "unknown_member"),
        (3, "checked_in_at", "invalid_time"),
        (4, "checked_out_at", "before_check_in"),
        (5, "minutes", "minutes_exceed_presence"),
        (6, "kind", "invalid_choice"),
        (7, "confirmed_by", "unknown_organiser"),
    ]
    assert all(e.zh and e.en for e in result.errors)
    assert result.activities == []


def test_cap_attendance_and_window_rules_come_from_the_domain() -> None:
    w = World()
    result = w.check(
        w.row(activity_ref="capped", hours_cap_minutes="60", minutes="61"),
        w.row(activity_ref="meeting", kind="meeting", category="attendance", minutes="30",
              member_number="M2"),
        w.row(activity_ref="late", member_number="M3", checked_in_at="2026-02-07T11:05+08:00",
              checked_out_at="2026-02-07T12:00+08:00"),
        w.row(activity_ref="future", member_number="M4", starts_at="2026-07-01T09:00+08:00",
              ends_at="2026-07-01T11:00+08:00", checked_in_at="2026-07-01T09:00+08:00",
              checked_out_at="2026-07-01T10:00+08:00"),
        w.row(activity_ref="window", starts_at="2026-02-07T11:00+08:00",
              ends_at="2026-02-07T09:00+08:00", member_number="M2"),
    )
    assert errors(result) == [
        (2, "minutes", "minutes_exceed_presence"),
        (3, "minutes", "attendance_no_hours"),
        (4, "checked_in_at", "already_ended"),
        (5, "checked_in_at", "in_future"),
        (6, "ends_at", "invalid_window"),
    ]


def test_attendance_rows_credit_zero_by_default() -> None:
    w = World()
    result = w.check(w.row(kind="meeting", category="attendance"))
    confirmed = [e for _, e in result.activities[0].events if isinstance(e, AttendanceConfirmed)]
    assert [c.minutes for c in confirmed] == [0]


def test_host_unit_unknown_or_outside_the_importers_scope() -> None:
    w = World()
    result = w.check(
        w.row(activity_ref="A1", host_unit_id=str(uuid.uuid4())),
        w.row(activity_ref="A2", host_unit_id=str(w.org.other_branch)),
    )
    assert errors(result) == [(2, "host_unit_id", "unit_not_found"),
                              (3, "host_unit_id", "forbidden")]


def test_a_confirmer_outside_the_host_unit_is_refused() -> None:
    w = World()
    ok = w.check(w.row(confirmed_by="li"))
    assert ok.errors == []
    refused = w.check(w.row(confirmed_by="far"))
    assert errors(refused) == [(2, "confirmed_by", "forbidden")]


def test_overlapping_participation_of_one_member_across_activities() -> None:
    w = World()
    result = w.check(
        w.row(activity_ref="A1", checked_in_at="2026-02-07T09:00+08:00",
              checked_out_at="2026-02-07T10:30+08:00"),
        w.row(activity_ref="B1", activity_title="巡逻", kind="patrol",
              checked_in_at="2026-02-07T10:00+08:00", checked_out_at="2026-02-07T11:00+08:00"),
        # Back to back is not an overlap.
        w.row(activity_ref="C1", activity_title="宣传", member_number="M2",
              checked_in_at="2026-02-07T09:00+08:00", checked_out_at="2026-02-07T10:00+08:00"),
        w.row(activity_ref="D1", activity_title="走访", member_number="M2",
              checked_in_at="2026-02-07T10:00+08:00", checked_out_at="2026-02-07T11:00+08:00"),
    )
    # Each side of the overlap is reported: the check-out of one, the check-in of the other.
    assert errors(result) == [(2, "checked_out_at", "overlapping_participation"),
                              (3, "member_number", "overlapping_participation")]
    assert sorted(a.ref for a in result.activities) == ["C1", "D1"]


def test_time_after_the_scheduled_end_keeps_a_member_busy_nowhere() -> None:
    w = World()
    result = w.check(
        w.row(activity_ref="A1", checked_out_at="2026-02-07T11:40+08:00"),
        w.row(activity_ref="B1", activity_title="巡逻", starts_at="2026-02-07T11:00+08:00",
              ends_at="2026-02-07T12:00+08:00", checked_in_at="2026-02-07T11:10+08:00",
              checked_out_at="2026-02-07T12:00+08:00"),
    )
    assert result.errors == []
    assert sorted(a.minutes for a in result.activities) == [50, 120]


def test_overlap_with_a_participation_already_in_the_ledger() -> None:
    w = World()
    stored = uuid.uuid4()
    w.busy[w.members["M1"].member_id] = [
        Busy(stored, "老党员座谈", datetime(2026, 2, 7, 9, 30, tzinfo=SHANGHAI),
             datetime(2026, 2, 7, 9, 45, tzinfo=SHANGHAI))]
    result = w.check(w.row(), w.row(member_number="M2"))
    assert errors(result) == [(2, "checked_out_at", "overlapping_participation")]
    w.busy[w.members["M1"].member_id] = [
        Busy(stored, "老党员座谈", datetime(2026, 2, 7, 8, 0, tzinfo=SHANGHAI),
             datetime(2026, 2, 7, 9, 15, tzinfo=SHANGHAI))]
    assert errors(w.check(w.row())) == [(2, "member_number", "overlapping_participation")]


def test_rows_of_one_activity_must_agree_and_members_appear_once() -> None:
    w = World()
    result = w.check(
        w.row(member_number="M1"),
        w.row(member_number="M2", place="4号楼"),
        w.row(member_number="M1", checked_in_at="2026-02-07T10:40+08:00",
              checked_out_at="2026-02-07T10:50+08:00"),
    )
    assert errors(result) == [(3, "place", "disagrees_with_activity"),
                              (4, "member_number", "duplicate")]
    assert result.activities == []


def test_a_member_who_left_later_keeps_earlier_records() -> None:
    w = World()
    before = w.check(w.row(member_number="LEFT"))
    assert before.errors == []
    after = w.check(w.row(member_number="LEFT", starts_at="2026-03-07T09:00+08:00",
                          ends_at="2026-03-07T11:00+08:00",
                          checked_in_at="2026-03-07T09:00+08:00",
                          checked_out_at="2026-03-07T10:00+08:00"))
    assert errors(after) == [(2, "member_number", "member_inactive")]


def test_json_lines_and_file_level_problems() -> None:
    w = World()
    good = w.row()
    good["minutes"] = 30
    lines = [
        '{"activity_ref": "A1"',                       # line 1: broken JSON
        "",
        json.dumps(good, ensure_ascii=False),
        '{"activity_ref": "A1", "colour": "red"}',     # line 4: unknown field
    ]
    parsed = parse("\n".join(lines).encode(), "ndjson")
    assert [(e.row, e.field, e.code) for e in parsed.errors] == [
        (1, None, "invalid_json"), (4, "colour", "unknown_field")]
    assert [(r.row, r.minutes) for r in parsed.rows] == [(3, 30)]
    assert isinstance(parsed.rows[0], Row)

    # 1 and true look alike to a cache; a list is not hashable.
    odd = [json.dumps({**good, "hours_cap_minutes": cap}) for cap in (1, True, [1])]
    parsed = parse("\n".join(odd).encode(), "ndjson")
    assert [(e.row, e.field, e.code) for e in parsed.errors] == [
        (2, "hours_cap_minutes", "invalid_integer"), (3, "hours_cap_minutes", "invalid_integer")]

    missing = parse(b"activity_ref,member_number\nA1,M1\n", "csv")
    assert {e.field for e in missing.errors if e.code == "missing_column"} >= {"kind", "place"}
    assert [e.code for e in parse(b"\xff\xfe", "csv").errors] == ["not_utf8"]
    bom = parse(b"\xef\xbb\xbf" + w.csv(w.row()), "csv")
    assert bom.errors == [] and len(bom.rows) == 1


def test_quoted_newlines_keep_line_numbers_right() -> None:
    w = World()
    body = w.csv(w.row(activity_title='"楼道\n清理"'), w.row(member_number="NOPE",
                                                            activity_title='"楼道\n清理"'))
    parsed = parse(body, "csv")
    # A title is one line (contract.bounds): both rows are refused, each at its own line.
    assert [(e.row, e.field, e.code) for e in parsed.errors if e.code != "unknown_member"] \
        == [(2, "activity_title", "control_characters"), (4, "activity_title",
                                                         "control_characters")]


def test_format_detection() -> None:
    assert detect_format("text/csv; charset=utf-8") == "csv"
    assert detect_format("application/x-ndjson") == "ndjson"
    assert detect_format("records.jsonl") == "ndjson"
    assert detect_format("records.txt") is None
