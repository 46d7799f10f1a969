"""Group commit for the receiver's acknowledgements: the deliveries that arrive while one
transaction is being committed go together into the next, so a burst costs one commit per batch
instead of one per delivery.

Each request still waits for the commit that holds its own row before its 202 (nothing
acknowledged is only in memory), and a lone delivery is written at once (no timer: a batch is
whatever queued up during the previous commit). Deduplication is unchanged: each row is its own
``INSERT … ON CONFLICT DO NOTHING`` inside the transaction, so a delivery id seen twice in one
batch is stored once and the second is answered as a duplicate.

Measured under a 1,000-delivery burst (docs/development.md, webhook ack): the ack path was bound
by one SQLite transaction per delivery behind the store's write lock, which the workers' claims
and finishes also take; batching the acknowledgements takes that lock once per batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

Row = tuple[str, str, str | None, bytes]  # delivery id, event, action, body


class GroupCommit:
    """Async front of ``DeliveryStore.add_many`` for one event loop (the receiver's uvicorn).

    *write_many* commits the rows in one transaction and says, per row, whether it was new."""

    def __init__(self, write_many: Callable[[Sequence[Row]], list[bool]]) -> None:
        self._write_many = write_many
        self._queued: list[tuple[Row, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def add(self, row: Row) -> bool:
        """True once *row* is committed as a new delivery, False if its id was seen before;
        raises what the database raised for it."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((row, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a client hanging up must not cancel the shared future (the row may be in
        # a transaction already; the others in the batch wait on theirs, not on this one).
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        """Commit what is queued, batch after batch, until nothing is."""
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                results = await run_in_threadpool(self._write_many, [row for row, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0][1], exc)
                    continue
                # One bad row must not fail the others: a failed transaction committed nothing
                # (or, if its COMMIT's answer was lost, everything: the rows then come back as
                # duplicates, stored all the same), so each row is written again on its own.
                for row, future in batch:
                    try:
                        (fresh,) = await run_in_threadpool(self._write_many, [row])
                    except Exception as alone:
                        _fail(future, alone)
                    else:
                        _resolve(future, fresh)
                continue
            for (_, future), fresh in zip(batch, results, strict=True):
                _resolve(future, fresh)


def _resolve(future: asyncio.Future[bool], fresh: bool) -> None:
    if not future.done():
        future.set_result(fresh)


def _fail(future: asyncio.Future[bool], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
