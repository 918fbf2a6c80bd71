"""The monthly honor roll (光荣榜): published once for an ended Shanghai month, in rank
order, by someone whose scope covers the unit; then frozen, with objections taken only
during the publicity (公示) window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from contract.events import (
    HonorRollEntry,
    HonorRollObjectionRecorded,
    HonorRollPublished,
    UnitDissolved,
)
from ledger.domain import honor_rolls
from ledger.domain.honor_rolls import (
    MAX_MONTH_MINUTES,
    ComputedRoll,
    HonorRollState,
    PublishHonorRoll,
    RecordObjection,
    record_objection,
)

from .builders import Org, new_id, refused, sh

# The first minutes of April in Shanghai (still 31 March in UTC): March has ended.
APRIL_1 = sh(2026, 4, 1, 0, 10)


@pytest.fixture
def org() -> Org:
    return Org()


def entries(*ranks: int) -> list[HonorRollEntry]:
    return [HonorRollEntry(rank=rank, member_id=new_id(), minutes=600 - 10 * rank,
                           activities=3) for rank in ranks]


Roll = tuple[PublishHonorRoll, ComputedRoll]
COMPUTED = ("computed_at_position", "entries")


def roll(org: Org, **overrides: Any) -> Roll:
    """What the caller asks (unit, month, rule set) and what the reports computed."""
    asked: dict[str, Any] = {"unit_id": org.community, "month": "2026-03",
                             "rule_set": "monthly-top", "rule_version": 1}
    computed: dict[str, Any] = {"rule_set": "monthly-top", "rule_version": 1,
                                "computed_at_position": "812:4096",
                                "entries": entries(1, 2, 2, 4)}
    for name, value in overrides.items():
        (computed if name in COMPUTED else asked)[name] = value
    return PublishHonorRoll(**asked), ComputedRoll(**computed)


def publish(tree: Any, state: HonorRollState | None, asked: Roll, scope: Any, publisher: Any,
            now: datetime) -> list[Any]:
    command, computed = asked
    return honor_rolls.publish(tree, state, command, computed, scope, publisher, now)


def published(org: Org, now: Any = APRIL_1, days: int = 7) -> HonorRollState:
    state = HonorRollState.fold(publish(org.tree, None, roll(org, publicity_days=days),
                                        org.community, new_id(), now))
    assert state is not None
    return state


def test_a_month_s_roll_is_published_with_its_publicity_end(org: Org) -> None:
    publisher, command = new_id(), roll(org)
    assert publish(org.tree, None, command, org.street, publisher, APRIL_1) == [
        HonorRollPublished(unit_id=org.community, month="2026-03", rule_set="monthly-top",
                           rule_version=1, computed_at_position="812:4096",
                           entries=command[1].entries, published_by=publisher,
                           published_at=APRIL_1, publicity_ends=date(2026, 4, 8))]


def test_a_month_that_has_not_ended_in_shanghai_cannot_be_published(org: Org) -> None:
    # 23:30 on 31 March in Shanghai: March is still running. APRIL_1 (00:10 in Shanghai)
    # is 16:10 UTC on 31 March, when a UTC clock would still refuse.
    with refused("month_not_over", field="month", status=422):
        publish(org.tree, None, roll(org), org.community, new_id(), sh(2026, 3, 31, 23, 30))
    with refused("month_not_over", field="month", status=422):
        publish(org.tree, None, roll(org, month="2026-05"), org.community, new_id(), APRIL_1)
    assert publish(org.tree, None, roll(org), org.community, new_id(), APRIL_1)
    # The same instant as a UTC clock reports it (16:10 on 31 March) is April all the same.
    assert publish(org.tree, None, roll(org), org.community, new_id(),
                   APRIL_1.astimezone(UTC))


def test_a_published_roll_is_frozen(org: Org) -> None:
    state = published(org)
    with refused("already_published"):
        publish(org.tree, state, roll(org, entries=entries(1)), org.community, new_id(),
                APRIL_1 + timedelta(days=1))


@pytest.mark.parametrize("scope", ["group", "branch", "other_community"])
def test_only_someone_whose_scope_covers_the_unit_publishes(org: Org, scope: str) -> None:
    with refused("forbidden", status=403):
        publish(org.tree, None, roll(org), getattr(org, scope), new_id(), APRIL_1)


def test_the_unit_must_exist_and_be_active(org: Org) -> None:
    with refused("unit_not_found", status=404):
        publish(org.tree, None, roll(org, unit_id=new_id()), None, new_id(), APRIL_1)
    org.tree.apply(UnitDissolved(unit_id=org.group, effective=date(2026, 1, 1)))
    with refused("unit_inactive"):
        publish(org.tree, None, roll(org, unit_id=org.group), None, new_id(), APRIL_1)


@pytest.mark.parametrize("month", ["2026-3", "2026-13", "2026-00", "26-03", "2026/03"])
def test_the_month_is_yyyy_mm(org: Org, month: str) -> None:
    with refused("invalid_month", field="month", status=422):
        publish(org.tree, None, roll(org, month=month), None, new_id(), APRIL_1)


@pytest.mark.parametrize("days", [6, 61])
def test_publicity_lasts_7_to_60_days(org: Org, days: int) -> None:
    with refused("invalid_publicity_days", field="publicity_days", status=422):
        publish(org.tree, None, roll(org, publicity_days=days), None, new_id(), APRIL_1)


@pytest.mark.parametrize("ranks", [(1,), (1, 2, 3), (1, 1, 3), (1, 2, 2, 2, 5)])
def test_entries_are_ranked_by_position_with_ties_sharing_a_rank(org: Org,
                                                                 ranks: tuple[int, ...]) -> None:
    [event] = publish(org.tree, None, roll(org, entries=entries(*ranks)), None, new_id(),
                      APRIL_1)
    assert isinstance(event, HonorRollPublished)
    assert [entry.rank for entry in event.entries] == list(ranks)


@pytest.mark.parametrize("ranks", [(2, 1), (0, 1), (1, 3, 2), (2,), (1, 3), (1, 1, 2)])
def test_entries_out_of_rank_order_are_refused(org: Org, ranks: tuple[int, ...]) -> None:
    with refused("invalid_entries", field="entries", status=422):
        publish(org.tree, None, roll(org, entries=entries(*ranks)), None, new_id(), APRIL_1)


def test_a_member_appears_once(org: Org) -> None:
    twice = entries(1, 2)
    twice[1] = HonorRollEntry(rank=2, member_id=twice[0].member_id, minutes=1, activities=1)
    with refused("invalid_entries", field="entries"):
        publish(org.tree, None, roll(org, entries=twice), None, new_id(), APRIL_1)


def test_entries_cannot_carry_negative_figures(org: Org) -> None:
    bad = [HonorRollEntry(rank=1, member_id=new_id(), minutes=-60, activities=1)]
    with refused("invalid_entries", field="entries"):
        publish(org.tree, None, roll(org, entries=bad), None, new_id(), APRIL_1)


def test_an_empty_roll_is_not_published(org: Org) -> None:
    # Frozen empty, the month could never get its roll once the records come in.
    with refused("empty_honor_roll", field="month", status=422):
        publish(org.tree, None, roll(org, entries=[]), None, new_id(), APRIL_1)


# --- objections --------------------------------------------------------------------------


def test_an_objection_is_recorded_during_publicity(org: Org) -> None:
    state, named, clerk = published(org), new_id(), new_id()
    now = sh(2026, 4, 8, 23, 59)  # the last day of the window, Shanghai time
    assert record_objection(state, RecordObjection(member_id=named, objection=" 时长有误 "),
                            clerk, now) == [
        HonorRollObjectionRecorded(unit_id=org.community, month="2026-03", member_id=named,
                                   objection="时长有误", recorded_by=clerk, recorded_at=now)]


def test_objections_after_the_publicity_window_are_refused(org: Org) -> None:
    state = published(org)
    # 16:00 UTC on 8 April is 00:00 on 9 April in Shanghai: the window closes by Shanghai
    # dates, whatever zone the clock reports in.
    with refused("publicity_over"):
        record_objection(state, RecordObjection(objection="晚了"), new_id(),
                         datetime(2026, 4, 8, 16, 0, tzinfo=UTC))


def test_an_objection_needs_text(org: Org) -> None:
    with refused("objection_required", field="objection", status=422):
        record_objection(published(org), RecordObjection(objection="  "), new_id(), APRIL_1)
    with refused("objection_required", field="objection", status=422):
        record_objection(published(org), RecordObjection(objection="异" * 1001), new_id(),
                         APRIL_1)


def test_no_objection_to_a_roll_never_published() -> None:
    with refused("honor_roll_not_found", status=404):
        record_objection(None, RecordObjection(objection="?"), new_id(), APRIL_1)


def test_objections_are_counted_and_leave_the_roll_unchanged(org: Org) -> None:
    publisher = new_id()
    [published_event] = publish(org.tree, None, roll(org), None, publisher, APRIL_1)
    state = HonorRollState.fold([published_event])
    assert state is not None
    objection = record_objection(state, RecordObjection(objection="第二名时长有误"), new_id(),
                                 APRIL_1)
    folded = HonorRollState.fold([published_event, *objection, *objection])
    assert folded is not None
    assert (folded.objections, folded.publicity_ends) == (2, date(2026, 4, 8))


def test_the_frozen_entries_are_the_computed_ones_under_the_rule_set_asked_for(
        org: Org) -> None:
    command, computed = roll(org)
    [event] = publish(org.tree, None, (command, computed), None, new_id(), APRIL_1)
    assert event.entries == computed.entries
    other = msgspec.structs.replace(computed, rule_set="lenient")
    with refused("rule_set_mismatch", field="rule_set", status=422):
        publish(org.tree, None, (command, other), None, new_id(), APRIL_1)
    older = msgspec.structs.replace(computed, rule_version=2)
    with refused("rule_set_mismatch", field="rule_set", status=422):
        publish(org.tree, None, (command, older), None, new_id(), APRIL_1)


def test_no_entry_carries_more_than_a_whole_month(org: Org) -> None:
    absurd = [HonorRollEntry(rank=1, member_id=new_id(), minutes=MAX_MONTH_MINUTES + 1,
                             activities=1)]
    with refused("invalid_entries", field="entries", status=422):
        publish(org.tree, None, roll(org, entries=absurd), None, new_id(), APRIL_1)
