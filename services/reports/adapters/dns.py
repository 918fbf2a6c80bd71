"""What a webhook's host resolves to, asked of the system's resolver at every attempt (the
dispatcher then connects to the address it checked, never resolving the name again)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

# (host, port) -> its addresses, in the resolver's order; raises OSError when it has none.
Resolve = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
