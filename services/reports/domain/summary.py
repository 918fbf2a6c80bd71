"""The community summary sentence, in the form the committees report it."""

from __future__ import annotations

from contract.vocabulary import hours_text, kind_name, kind_rank
from reports.domain.views import UnitKindRow


def summary_text(members_reported: int, kinds: list[UnitKindRow], person_times: int,
                 participants: int, hours: float) -> str:
    """e.g. "605 名党员报到；开展活动 9 次：环境整治 6 次、巡逻防控 2 次、座谈会 1 次；参与 723
    人次、312 人，服务 1446.5 小时" (kinds in order of frequency).
    """
    held = [row for row in kinds if row.activities]
    # Most frequent first, as the committees write it; ties in the usual order of kinds.
    held.sort(key=lambda row: (-row.activities, kind_rank(row.kind)))
    total = sum(row.activities for row in held)
    text = f"{members_reported} 名党员报到；开展活动 {total} 次"
    if held:
        text += "：" + "、".join(f"{kind_name(row.kind)} {row.activities} 次" for row in held)
    return text + f"；参与 {person_times} 人次、{participants} 人，服务 {hours_text(hours)} 小时"

