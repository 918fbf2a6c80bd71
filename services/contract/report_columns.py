"""The columns of the reports' tables, defined once: the ledger's pages show them, and the
reports service writes the same ones into CSV, XLSX and the printed poster. A column shown
on a page is a column in its export, with the same heading, in the same order.

`key` names the field of the reports' JSON row (an honor-roll entry, a kind of activity)
the column shows.
"""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    key: str
    zh: str
    en: str
    # Characters wide in a spreadsheet (XLSX column width).
    width: int

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


# Columns several tables show, defined once so that a member's hours read the same
# wherever they are listed.
NAME = Column("name", "姓名", "Name", 12)
MEMBER_NUMBER = Column("member_number", "成员编号", "Member number", 14)
HOURS = Column("hours", "服务时长（小时）", "Hours", 16)
# The activities a member took part in (a unit's table counts the activities it held).
TAKEN_PART = Column("activities", "参加活动（次）", "Activities", 14)

HONOR_ROLL: tuple[Column, ...] = (
    Column("rank", "名次", "Rank", 6), NAME, MEMBER_NUMBER, HOURS, TAKEN_PART,
)
# For public display: masked names and no member numbers.
HONOR_ROLL_PUBLIC: tuple[Column, ...] = tuple(c for c in HONOR_ROLL if c != MEMBER_NUMBER)

UNIT_ACTIVITY: tuple[Column, ...] = (
    Column("kind_name", "活动类型", "Kind", 12),
    Column("activities", "开展活动（次）", "Activities held", 14),
    Column("participants", "参与人数", "Participants", 10),
    Column("person_times", "参与人次", "Person-times", 10),
    HOURS,
    Column("attendance", "其中会议学习（人次）", "Of which attendance", 20),
    Column("unconfirmed", "待确认（人次）", "Unconfirmed", 14),
)

# The employer feedback digest (双报到), one row per in-service member.
EMPLOYER_DIGEST: tuple[Column, ...] = (
    MEMBER_NUMBER, NAME,
    Column("status_name", "报到状态", "Status", 10),
    Column("unit_name", "报到组织", "Reported to", 20),
    Column("reported_since", "报到日期", "Since", 12),
    TAKEN_PART, HOURS,
    Column("unconfirmed", "待确认（次）", "Unconfirmed", 12),
)
