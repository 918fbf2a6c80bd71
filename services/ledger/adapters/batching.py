"""Concurrent calls answered by one statement: the shape of group commit, for any query.

Each call to PostgreSQL costs the process a send, a receive and asyncpg's protocol work,
whatever the statement does; on a busy ledger these, not the queries, are most of a
request's CPU. A `Batched` takes single calls (`await batched(key)`) and runs them through
`run(keys) -> answers` (one answer per key, in order): a call that finds one of `pipelines`
runs free starts one at once, with whatever else is waiting; calls arriving while all are
busy wait for the next run, which takes every one waiting (up to `max_batch`). Nothing is
delayed to fill a batch, so a lone call costs what it did alone, plus a task switch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, NamedTuple, TypeVar

K = TypeVar("K")
R = TypeVar("R")


class _Waiting(NamedTuple, Generic[K, R]):
    key: K
    answer: asyncio.Future[R]


class Batched(Generic[K, R]):
    def __init__(self, run: Callable[[list[K]], Awaitable[Sequence[R]]], *,
                 pipelines: int = 2, max_batch: int = 256) -> None:
        self._run = run
        self._pipelines = pipelines
        self._max_batch = max_batch
        self._waiting: list[_Waiting[K, R]] = []
        self._runners: set[asyncio.Task[None]] = set()
        # How many runs answered how many calls (the tests' and the bench's view).
        self.runs = 0
        self.calls = 0

    async def __call__(self, key: K) -> R:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R] = loop.create_future()
        self._waiting.append(_Waiting(key, answer))
        if len(self._runners) < self._pipelines:
            # Held here: the loop keeps only a weak reference to a task.
            runner = loop.create_task(self._drain())
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)
        # Shielded: a caller that goes away (a dropped request) leaves its key in the run,
        # whose other callers still wait for it.
        return await asyncio.shield(answer)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:self._max_batch]
                del self._waiting[:self._max_batch]
                await self._answer(batch)
        finally:
            # At once, not in the done callback a loop turn later: a call arriving in
            # between would find every runner taken and wait for nobody.
            self._runners.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _answer(self, batch: list[_Waiting[K, R]]) -> None:
        try:
            answers = await self._run([waiting.key for waiting in batch])
        except BaseException as error:
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        self.runs += 1
        self.calls += len(batch)
        for waiting, result in zip(batch, answers, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(result)


def columns(calls: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """The calls' arguments as one list per argument, for a statement's `unnest`."""
    return [list(column) for column in zip(*calls, strict=True)]
