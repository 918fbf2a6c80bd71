"""How people's names appear: masked in public, a fixed marker once erased (PIPL)."""

from __future__ import annotations

from contract.masking import ERASED, masked


def display_name(name: str | None) -> str:
    return name if name else ERASED


__all__ = ["ERASED", "display_name", "masked"]
