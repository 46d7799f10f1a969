"""The controller's API thread pool serves waiting calls by priority (RoleBinding deletes before
the other deletes, those before status writes), FIFO within one priority; errors reach the
awaiting coroutine; a cancelled call never runs; threads are reused, never more than asked."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from janus.controller import kube
from janus.controller.kube import ACCESS, CLEANUP, NORMAL, PriorityPool


def test_waiting_calls_are_served_by_priority_then_in_arrival_order() -> None:
    pool = PriorityPool(1, name="test-prio")
    gate = threading.Event()
    order: list[str] = []
    first = pool.submit(NORMAL, gate.wait)  # occupies the only thread
    time.sleep(0.05)
    futures = [pool.submit(prio, lambda tag=tag: order.append(tag))
               for prio, tag in ((NORMAL, "status-1"), (CLEANUP, "sa-1"), (ACCESS, "rb-1"),
                                 (NORMAL, "status-2"), (ACCESS, "rb-2"), (CLEANUP, "sa-2"))]
    gate.set()
    first.result(timeout=5)
    for f in futures:
        f.result(timeout=5)
    assert order == ["rb-1", "rb-2", "sa-1", "sa-2", "status-1", "status-2"]


def test_errors_reach_the_caller_and_a_cancelled_call_never_runs() -> None:
    pool = PriorityPool(1, name="test-err")
    gate = threading.Event()
    ran: list[str] = []
    busy = pool.submit(NORMAL, gate.wait)
    time.sleep(0.05)
    cancelled = pool.submit(ACCESS, lambda: ran.append("cancelled"))
    assert cancelled.cancel()

    def boom() -> None:
        raise ValueError("refused")

    failing = pool.submit(NORMAL, boom)
    gate.set()
    busy.result(timeout=5)
    with pytest.raises(ValueError, match="refused"):
        failing.result(timeout=5)
    after = pool.submit(NORMAL, lambda: ran.append("after"))
    after.result(timeout=5)
    assert ran == ["after"]


def test_threads_are_reused_and_capped() -> None:
    pool = PriorityPool(4, name="test-cap")
    for _ in range(20):  # one at a time: one thread does them all
        pool.submit(NORMAL, lambda: None).result(timeout=5)
    assert pool._threads == 1
    gate = threading.Event()
    live: set[str] = set()

    def hold() -> None:
        live.add(threading.current_thread().name)
        gate.wait()

    held = [pool.submit(NORMAL, hold) for _ in range(10)]
    deadline = time.monotonic() + 5
    while len(live) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(live) == 4 and pool._threads == 4  # never more than asked
    assert pool.waiting() == 6
    gate.set()
    for f in held:
        f.result(timeout=5)


def test_run_at_awaits_the_result_from_the_event_loop() -> None:
    async def main() -> list[int]:
        return list(await asyncio.gather(kube.run_at(ACCESS, lambda: 1), kube.run(lambda x: x, 2)))

    assert asyncio.run(main()) == [1, 2]


def test_a_lane_serves_each_ending_pass_whole_in_the_order_the_passes_began(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside kube.lane() every call but a RoleBinding delete is served at CLEANUP in the
    order the passes began: the first pass's status write before a later pass's deletes (a
    mass expiry records grants Expired one by one, not all after the last delete), and every
    RoleBinding delete still first. Outside a lane, NORMAL waits for every waiting delete."""
    pool = PriorityPool(1, name="test-lane")
    monkeypatch.setattr(kube, "_pool", pool)
    gate = threading.Event()
    order: list[str] = []

    def call(tag: str) -> None:
        time.sleep(0.02)  # a round trip: the loop queues the next call of a pass meanwhile
        order.append(tag)

    async def main() -> None:
        busy = asyncio.wrap_future(pool.submit(NORMAL, gate.wait))  # the only thread, held
        await asyncio.sleep(0.05)

        async def ending_pass(tag: str) -> None:
            with kube.lane():
                await asyncio.gather(kube.run_at(CLEANUP, call, f"{tag}-sa"),
                                     kube.run_at(CLEANUP, call, f"{tag}-secret"))
                await kube.run(call, f"{tag}-status")

        outside = asyncio.ensure_future(kube.run(call, "grant-read"))
        passes = [asyncio.ensure_future(ending_pass(f"g{i}")) for i in range(1, 5)]
        await asyncio.sleep(0.01)
        cut = asyncio.ensure_future(kube.run_at(ACCESS, call, "g9-rb"))
        await asyncio.sleep(0.05)  # all queued behind the held thread
        gate.set()
        await asyncio.gather(busy, outside, cut, *passes)

    asyncio.run(main())
    assert order[0] == "g9-rb"
    # Without the lane g1-status (NORMAL) would follow all eight deletes.
    assert order.index("g1-status") < order.index("g3-sa")
    assert order.index("g2-status") < order.index("g4-sa")
    assert order.index("grant-read") > max(order.index("g4-sa"), order.index("g4-secret"))
