"""How people's names appear: masked in public, a fixed marker once erased (PIPL)."""

from __future__ import annotations

ERASED = "（已注销）"


def display_name(name: str | None) -> str:
    return name if name else ERASED


def masked(name: str | None) -> str:
    """张三明 -> 张*明, 张三 -> 张*, 欧阳小明 -> 欧**明; an erased member stays erased."""
    if not name:
        return ERASED
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
