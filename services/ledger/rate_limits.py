"""In-process sliding-window rate limits for the public forms (PIN and password attempts).

Kept in memory: one ledger process serves the forms in this deployment. With several
processes behind a balancer each keeps its own count, so the effective limit multiplies by
the process count; move the counts to PostgreSQL or a shared cache before scaling out.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` attempts per key within the last `seconds`."""

    def __init__(self, limit: int, seconds: float, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        return hits

    def _forget_idle(self, now: float) -> None:
        # Bounded memory under a flood of distinct keys: drop keys with nothing recent,
        # and if that is not enough, the oldest half.
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.seconds]:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:
            for key in sorted(self._hits, key=lambda k: self._hits[k][-1])[: self._max_keys // 2]:
                del self._hits[key]

    def allow(self, key: str) -> bool:
        """Record an attempt; False when the key has used up its attempts (not recorded)."""
        if self.blocked(key):
            return False
        self.record(key)
        return True

    def blocked(self, key: str) -> bool:
        """Has the key used up its attempts? (Records nothing.)"""
        return len(self._recent(key, self._clock())) >= self.limit

    def record(self, key: str) -> None:
        now = self._clock()
        self._recent(key, now).append(now)
