"""How people's names appear in public (PIPL): masked, and a fixed marker once erased.
Both services' public pages use it (the honor rolls, the certificate verification)."""

from __future__ import annotations

ERASED = "（已注销）"


def masked(name: str | None) -> str:
    """张三明 -> 张*明, 张三 -> 张*, 欧阳小明 -> 欧**明; an erased member stays erased."""
    if not name:
        return ERASED
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
