"""As of a date, a unit's counts use what the ledger had recorded by the end of that day:
the cancellations, the tree and the memberships, whatever their effective dates."""

from __future__ import annotations

from datetime import date

from reports.adapters import unit_reports

from .conftest import History, shanghai


async def _counts(history: History, unit, as_of: date | None) -> tuple[int, int, int, int]:
    """(activities held, participants, minutes, members reported) in March 2025."""
    async with history.pool.acquire() as connection:
        report = await unit_reports.unit_activity(connection, history.tenant_id, unit,
                                                  "2025-03", as_of=as_of)
    assert report is not None
    return report.activities, report.participants, report.minutes, report.members_reported


async def test_an_activity_cancelled_later_was_held_as_of_before(history):
    history.recorded_at = shanghai(2025, 2, 1)
    community = await history.unit("community", None)
    activity = await history.activity(community, shanghai(2025, 3, 5))
    history.recorded_at = shanghai(2025, 3, 12, 10)
    await history.cancel(activity)
    await history.project()
    assert (await _counts(history, community, date(2025, 3, 4)))[0] == 0  # not started yet
    assert (await _counts(history, community, date(2025, 3, 5)))[0] == 1
    assert (await _counts(history, community, date(2025, 3, 11)))[0] == 1
    assert (await _counts(history, community, date(2025, 3, 12)))[0] == 0
    assert (await _counts(history, community, date(2025, 3, 13)))[0] == 0
    assert (await _counts(history, community, None))[0] == 0


async def test_a_transfer_recorded_later_does_not_change_an_earlier_as_of(history):
    history.recorded_at = shanghai(2025, 1, 1)
    street = await history.unit("street", None)
    first = await history.unit("community", street, "东社区")
    second = await history.unit("community", street, "西社区")
    member = await history.member(first)
    await history.served(street, member, shanghai(2025, 3, 5), 120)
    # Recorded on 20 March, effective 1 March: the member was in `second` all month.
    history.recorded_at = shanghai(2025, 3, 20, 9)
    await history.transfer(member, first, second, date(2025, 3, 1))
    await history.project()

    # As of the 15th, the ledger still had the member in `first`.
    assert await _counts(history, first, date(2025, 3, 15)) == (0, 1, 120, 1)
    assert await _counts(history, second, date(2025, 3, 15)) == (0, 0, 0, 0)
    # From the day it was recorded, and now, the transfer re-attributes March.
    assert await _counts(history, first, date(2025, 3, 20)) == (0, 0, 0, 0)
    assert await _counts(history, second, date(2025, 3, 20)) == (0, 1, 120, 1)
    assert await _counts(history, first, None) == (0, 0, 0, 0)
    assert await _counts(history, second, None) == (0, 1, 120, 1)
    # The parent counts the member either way.
    assert await _counts(history, street, date(2025, 3, 15)) == (1, 1, 120, 1)


async def test_a_later_recorded_change_on_the_same_date_replaces_the_earlier(history):
    history.recorded_at = shanghai(2025, 1, 1)
    street = await history.unit("street", None)
    first = await history.unit("community", street)
    second = await history.unit("community", street)
    third = await history.unit("community", street)
    member = await history.member(first)
    await history.served(street, member, shanghai(2025, 3, 5), 60)
    history.recorded_at = shanghai(2025, 3, 10)
    await history.transfer(member, first, second, date(2025, 3, 1))
    history.recorded_at = shanghai(2025, 3, 20)  # corrected: it was the third
    await history.transfer(member, first, third, date(2025, 3, 1))
    history.recorded_at = shanghai(2025, 3, 25)
    await history.leave(member, date(2025, 3, 31))
    await history.project()

    assert [(await _counts(history, unit, date(2025, 3, 9)))[2]
            for unit in (first, second, third)] == [60, 0, 0]
    assert [(await _counts(history, unit, date(2025, 3, 15)))[2]
            for unit in (first, second, third)] == [0, 60, 0]
    assert [(await _counts(history, unit, date(2025, 3, 21)))[2]
            for unit in (first, second, third)] == [0, 0, 60]
    # Left on the 31st (recorded on the 25th): still reported on the 24th, not at the
    # month's end; the hours of the 5th stay with the third.
    assert await _counts(history, third, date(2025, 3, 24)) == (0, 1, 60, 1)
    assert await _counts(history, third, None) == (0, 1, 60, 0)


async def test_a_unit_move_recorded_later_does_not_change_an_earlier_as_of(history):
    history.recorded_at = shanghai(2025, 1, 1)
    street = await history.unit("street", None)
    east = await history.unit("community", street, "东社区")
    west = await history.unit("community", street, "西社区")
    branch = await history.unit("branch", east, "一支部")
    member = await history.member(branch)
    await history.served(branch, member, shanghai(2025, 3, 5), 90)
    history.recorded_at = shanghai(2025, 3, 20, 9)
    await history.move(branch, west, date(2025, 3, 1))
    await history.project()

    assert await _counts(history, east, date(2025, 3, 15)) == (1, 1, 90, 1)
    assert await _counts(history, west, date(2025, 3, 15)) == (0, 0, 0, 0)
    assert await _counts(history, east, date(2025, 3, 21)) == (0, 0, 0, 0)
    assert await _counts(history, west, date(2025, 3, 21)) == (1, 1, 90, 1)
    assert await _counts(history, west, None) == (1, 1, 90, 1)


async def test_imported_history_counts_from_its_effective_dates(history):
    """Records loaded in bulk (an import, the demo's history) were kept elsewhere at the
    time: as of a date after their effective date they count, though loaded later."""
    history.source = "import"
    history.recorded_at = shanghai(2025, 6, 1, 9)
    street = await history.unit("street", None)
    first = await history.unit("community", street, "东社区")
    second = await history.unit("community", street, "西社区")
    member = await history.member(first)
    await history.served(street, member, shanghai(2025, 3, 5), 120)
    await history.transfer(member, first, second, date(2025, 3, 10))
    cancelled = await history.activity(second, shanghai(2025, 3, 20))
    await history.cancel(cancelled)
    await history.project()

    # Known though loaded on 1 June: on 5 March the member served in `first`.
    assert await _counts(history, first, date(2025, 3, 5)) == (0, 1, 120, 1)
    assert await _counts(history, second, date(2025, 3, 9)) == (0, 0, 0, 0)
    # The imported transfer counts from its effective date, 10 March.
    assert await _counts(history, first, date(2025, 3, 15)) == (0, 1, 120, 0)
    assert await _counts(history, second, date(2025, 3, 15)) == (0, 0, 0, 1)
    # An imported cancellation counts from the activity's start: it was never held.
    assert await _counts(history, second, date(2025, 3, 25)) == (0, 0, 0, 1)
    assert await _counts(history, second, None) == (0, 0, 0, 1)
