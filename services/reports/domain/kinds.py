"""Activity kinds as the committees name them in their reports."""

from __future__ import annotations

KIND_ORDER = ("cleanup", "patrol", "service", "lecture", "meeting", "other")
KIND_NAMES_ZH = {
    "patrol": "巡逻", "cleanup": "环境整治", "lecture": "党课讲座", "meeting": "座谈会",
    "service": "志愿服务", "other": "其他活动",
}
UNIT_KIND_NAMES_ZH = {
    "district": "区委", "street": "街道党工委", "community": "社区党委",
    "branch": "党支部", "group": "党小组", "team": "志愿者队伍",
}


def kind_name(kind: str) -> str:
    return KIND_NAMES_ZH.get(kind, kind)
