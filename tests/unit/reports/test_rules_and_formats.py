"""Pure rules: ranking, star levels, masking, the summary sentence, Shanghai periods."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from contract.calendar import month_bounds, quarter_bounds
from contract.vocabulary import kind_name, next_level_minutes, star_level
from reports.domain.honor_roll_rules import STANDARD, Candidate, RuleSet, check_rule_set, rank
from reports.domain.names import ERASED, masked
from reports.domain.summary import summary_text
from reports.domain.timeline import FOREVER, Timeline
from reports.domain.views import UnitKindRow


def _candidate(n: int, minutes: int, activities: int = 1, day: int = 1) -> Candidate:
    return Candidate(member_id=uuid.UUID(int=n), member_number=f"M{n:03d}", minutes=minutes,
                     activities=activities, first_check_in=datetime(2025, 6, day, tzinfo=UTC))


def test_rank_applies_minimum_tie_breaks_shared_ranks_and_top_n():
    rules = RuleSet(name="r", version=1, min_minutes=60, top_n=2,
                    tie_break=["minutes", "activities"], kinds=["cleanup"])
    ranked = rank([_candidate(1, 120, 1), _candidate(2, 120, 3), _candidate(3, 120, 3),
                   _candidate(4, 59), _candidate(5, 90)], rules)
    # 2 and 3 tie on every key (rank 1, listed by member number); 1 comes third: out.
    assert [(r.rank, r.candidate.member_number) for r in ranked] == [(1, "M002"), (1, "M003")]


def test_rank_keeps_ties_at_the_boundary_and_orders_by_first_check_in():
    rules = RuleSet(name="r", version=1, min_minutes=0, top_n=1,
                    tie_break=["minutes", "first_check_in"], kinds=["cleanup"])
    ranked = rank([_candidate(1, 60, day=3), _candidate(2, 60, day=2), _candidate(3, 0)],
                  rules)
    assert [r.candidate.member_number for r in ranked] == ["M002"]
    assert rank([_candidate(1, 60, day=2), _candidate(2, 60, day=2)], rules)[1].rank == 1


def test_rule_set_checks_name_fields():
    bad = RuleSet(name="", version=1, min_minutes=-1, top_n=0, tie_break=["minutes", "minutes"],
                  kinds=["dancing"])
    assert [field for field, _ in check_rule_set(bad)] == [
        "name", "min_minutes", "top_n", "tie_break", "kinds"]
    assert check_rule_set(STANDARD) == []


@pytest.mark.parametrize(("hours", "level"), [(0, 0), (99.99, 0), (100, 1), (299, 1), (300, 2),
                                              (600, 3), (1000, 4), (1499, 4), (1500, 5)])
def test_star_levels(hours, level):
    assert star_level(round(hours * 60)) == level


def test_minutes_to_next_level():
    assert next_level_minutes(0) == 6000
    assert next_level_minutes(1500 * 60) is None


@pytest.mark.parametrize(("name", "shown"), [("张三明", "张*明"), ("张三", "张*"),
                                             ("欧阳小明", "欧**明"), ("张", "*"), (None, ERASED)])
def test_masking(name, shown):
    assert masked(name) == shown


def test_summary_sentence_in_the_committees_form():
    def row(kind: str, activities: int) -> UnitKindRow:
        return UnitKindRow(kind=kind, kind_name=kind_name(kind), activities=activities,
                           participants=0, person_times=0, minutes=0, hours=0, attendance=0,
                           unconfirmed=0)

    text = summary_text(605, [row("forum", 1), row("patrol", 2), row("cleanup", 6),
                              row("service", 0)], 723, 312, 1446.5)
    assert text == ("605 名党员报到；开展活动 9 次：环境整治 6 次、巡逻防控 2 次、座谈会 1 次；"
                    "参与 723 人次、312 人，服务 1446.5 小时")
    assert summary_text(0, [], 0, 0, 0.0) == (
        "0 名党员报到；开展活动 0 次；参与 0 人次、0 人，服务 0 小时")
    assert summary_text(1, [], 1, 1, 12.25).endswith("服务 12.25 小时")


def test_shanghai_periods():
    # A check-in's Shanghai date is computed by PostgreSQL (the generated local_date);
    # test_member_hours_month_boundary_and_records covers both sides of a month's end.
    assert month_bounds("2025-12") == (date(2025, 12, 1), date(2026, 1, 1))
    assert quarter_bounds("2026Q4") == (date(2026, 10, 1), date(2027, 1, 1))
    with pytest.raises(ValueError):
        month_bounds("2025-13")


def test_timeline_intervals_do_not_depend_on_arrival_order():
    a, b = Timeline(), Timeline()
    changes = [(date(2025, 3, 1), "x"), (date(2025, 1, 1), "y"), (date(2025, 2, 1), "z")]
    for day, value in changes:
        a.set(day, value)
    for day, value in reversed(changes):
        b.set(day, value)
    assert a.intervals() == b.intervals() == [
        (date(2025, 1, 1), date(2025, 2, 1), "y"), (date(2025, 2, 1), date(2025, 3, 1), "z"),
        (date(2025, 3, 1), FOREVER, "x")]
    assert a.at(date(2025, 2, 15)) == "z" and a.at(date(2024, 1, 1)) is None
