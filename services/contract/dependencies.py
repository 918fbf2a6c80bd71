"""Dependencies both services declare the same way: what their lifespan hook put on
`app.state` (the pool, the store, …), by name, and the caller (see contract.guard)."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

from contract.guard import provide_principal


def _from_state(name: str) -> Provide:
    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)


def app_state(*names: str) -> dict[str, Provide]:
    """One dependency per name, each answering `app.state.<name>`; plus `principal`."""
    return {**{name: _from_state(name) for name in names},
            "principal": Provide(provide_principal, sync_to_thread=False)}
