"""The controller's timer queue: earliest due time wins, one pass per name at a time, nothing lost
when a name is scheduled while it runs, and a stop that lets a pass in flight finish."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from janus.controller.timers import TimerQueue


async def _until(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_runs_at_the_due_time_and_earliest_schedule_wins() -> None:
    async def main() -> None:
        ran: dict[str, float] = {}

        async def work(name: str) -> float | None:
            ran[name] = time.time()
            return None

        q = TimerQueue(work, workers=2)
        q.start()
        t0 = time.time()
        q.schedule("a", t0 + 0.4)
        q.schedule("a", t0 + 5.0)   # later: must not postpone the earlier timer
        q.schedule("b", t0 + 0.2)
        await _until(lambda: "a" in ran and "b" in ran)
        assert ran["b"] < ran["a"]
        assert ran["a"] >= t0 + 0.4
        assert ran["a"] < t0 + 3.0
        await asyncio.sleep(0.2)
        assert q.pending() == 0  # the superseded entry is gone with its pass
        await q.stop(1.0)

    asyncio.run(main())


def test_forgotten_name_does_not_run() -> None:
    async def main() -> None:
        ran: list[str] = []

        async def work(name: str) -> float | None:
            ran.append(name)
            return None

        q = TimerQueue(work, workers=1)
        q.start()
        q.schedule("gone", time.time() + 0.2)
        q.schedule("kept", time.time() + 0.3)
        q.forget("gone")
        await _until(lambda: ran == ["kept"])
        await asyncio.sleep(0.2)
        assert ran == ["kept"]
        await q.stop(1.0)

    asyncio.run(main())


def test_one_pass_per_name_and_a_schedule_during_a_pass_runs_again() -> None:
    async def main() -> None:
        running: defaultdict[str, int] = defaultdict(int)
        most: defaultdict[str, int] = defaultdict(int)
        passes: defaultdict[str, int] = defaultdict(int)
        release = asyncio.Event()

        async def work(name: str) -> float | None:
            running[name] += 1
            most[name] = max(most[name], running[name])
            passes[name] += 1
            if passes[name] == 1:
                await release.wait()
            running[name] -= 1
            return None

        q = TimerQueue(work, workers=4)
        q.start()
        q.schedule("x")
        await _until(lambda: passes["x"] == 1)
        for _ in range(5):  # changes arriving during the pass: one more pass, not five, not zero
            q.schedule("x")
            await asyncio.sleep(0.02)
        release.set()
        await _until(lambda: passes["x"] == 2)
        await asyncio.sleep(0.2)
        assert passes["x"] == 2
        assert most["x"] == 1
        await q.stop(1.0)

    asyncio.run(main())


def test_the_returned_time_re_arms_the_timer() -> None:
    async def main() -> None:
        times: list[float] = []

        async def work(name: str) -> float | None:
            times.append(time.time())
            return time.time() + 0.2 if len(times) < 3 else None

        q = TimerQueue(work, workers=1)
        q.start()
        q.schedule("g")
        await _until(lambda: len(times) == 3)
        assert times[2] - times[0] >= 0.4
        await q.stop(1.0)

    asyncio.run(main())


def test_a_failing_pass_is_retried_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("janus.controller.timers.RETRY_AFTER_CRASH", 0.1)

    async def main() -> None:
        calls: list[float] = []

        async def work(name: str) -> float | None:
            calls.append(time.time())
            if len(calls) == 1:
                raise RuntimeError("boom")
            return None

        q = TimerQueue(work, workers=1)
        q.start()
        q.schedule("f")
        await _until(lambda: len(calls) == 2)
        await q.stop(1.0)

    asyncio.run(main())


def test_stop_lets_the_pass_in_flight_finish() -> None:
    async def main() -> None:
        finished: list[str] = []
        started = asyncio.Event()

        async def work(name: str) -> float | None:
            started.set()
            await asyncio.sleep(0.3)
            finished.append(name)
            return None

        q = TimerQueue(work, workers=2)
        q.start()
        q.schedule("busy")
        await started.wait()
        await q.stop(5.0)
        assert finished == ["busy"]

    asyncio.run(main())


def test_many_timers_due_in_the_same_second_all_run_once() -> None:
    async def main() -> None:
        seen: defaultdict[str, int] = defaultdict(int)

        async def work(name: str) -> float | None:
            seen[name] += 1
            await asyncio.sleep(0)
            return None

        q = TimerQueue(work, workers=8)
        q.start()
        due = time.time() + 0.3
        for i in range(5000):
            q.schedule(f"g{i}", due)
        await _until(lambda: len(seen) == 5000)
        await asyncio.sleep(0.1)
        assert set(seen.values()) == {1}
        await q.stop(1.0)

    asyncio.run(main())


def test_on_due_sees_every_due_name_at_once_while_the_workers_are_busy() -> None:
    """200 names due together with 2 workers: the hook sees all of them when they come due, not
    when a worker is free (the controller starts its RoleBinding deletes there)."""
    async def main() -> None:
        due_seen: dict[str, float] = {}
        release = asyncio.Event()

        async def work(name: str) -> float | None:
            await release.wait()
            return None

        q = TimerQueue(work, workers=2, on_due=lambda name: due_seen.setdefault(name, time.time()))
        q.start()
        at = time.time() + 0.3
        for i in range(200):
            q.schedule(f"g{i}", at)
        await _until(lambda: len(due_seen) == 200)
        assert max(due_seen.values()) - at < 1.0
        assert min(due_seen.values()) >= at
        assert q.busy() == 200  # all still waiting for (or held by) the 2 workers
        release.set()
        await _until(lambda: q.busy() == 0)
        await q.stop(1.0)

    asyncio.run(main())


def test_a_failing_on_due_never_loses_the_pass() -> None:
    async def main() -> None:
        ran: list[str] = []

        async def work(name: str) -> float | None:
            ran.append(name)
            return None

        def broken(name: str) -> None:
            raise RuntimeError("hook failed")

        q = TimerQueue(work, workers=1, on_due=broken)
        q.start()
        q.schedule("a")
        await _until(lambda: ran == ["a"])
        await q.stop(1.0)

    asyncio.run(main())
