"""A matching run never stalls web requests: the core runs in a worker process, and the job
reports (and logs) when the exact solver had to fall back to the greedy plan.

The app runs in-process on the test's event loop (the ``client`` fixture), so a core that ran
on the loop would hold every /health/live request for the whole run.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import random
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import highspy
import httpx
import pytest
import uvicorn
from highspy._core import _Highs
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import make_org_with_facilitator, register_people
from intake.crypto import ContactCipher
from integration.matching.test_matching_offloop_standin import BURN_SECONDS, burn_then_compute
from matching import exact
from matching.job import (
    InlinePlanner,
    OffLoopPlanner,
    Planner,
    compute_plan,
)
from matching.model import RuleBook
from matching.service import Inputs
from samhjelp import jobs
from samhjelp.app import Services, create_app
from unit.matching.matching_strategies import NOW, THEMES, person, starter


async def _six_waiting(session: AsyncSession, cipher: ContactCipher, now: datetime) -> None:
    await make_org_with_facilitator(session)
    await register_people(session, cipher, now, 6, step=timedelta(days=1))
    await session.commit()


def _poll(url: str, stop: threading.Event, latencies: list[float]) -> None:
    """A client in its own thread, asking every 20 ms and timing each answer."""
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            answer = http.get(url)
            latencies.append(time.perf_counter() - t0)
            assert answer.status_code == 200
            time.sleep(0.02)


async def _run_while_polling(
    services: Services, planner: Planner
) -> tuple[dict[str, Any], float, list[float]]:
    """Serve the app with uvicorn on this event loop, run the scheduled ``match`` job on the
    same loop, and poll /health/live from another thread all through the run:
    (job result, run seconds, request latencies)."""
    services.planner = planner
    # No lifespan: the app's shutdown would dispose the test session's engine.
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=0, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    stop = threading.Event()
    latencies: list[float] = []
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        poller = threading.Thread(
            target=_poll, args=(f"http://127.0.0.1:{port}/health/live", stop, latencies)
        )
        poller.start()
        while len(latencies) < 5:  # noqa: ASYNC110 (the client answered before the run)
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        result = await jobs.match(services)
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.1)  # let a request held by the run come back
        stop.set()
        await asyncio.to_thread(poller.join, 10)
    finally:
        stop.set()
        server.should_exit = True
        await serving
    return result, seconds, latencies


async def test_a_matching_run_does_not_stall_requests(
    services: Services,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
) -> None:
    await _six_waiting(session, cipher, clock.now)
    planner = OffLoopPlanner(burn_then_compute)
    try:
        result, seconds, latencies = await _run_while_polling(services, planner)
        assert planner.started
    finally:
        planner.shutdown()
    assert not planner.started and multiprocessing.active_children() == []
    # The run really formed and stored the group, through the worker process.
    assert result == {
        "ran": True,
        "candidates": 6,
        "groups": 1,
        "placed": 6,
        "joined": 0,
        "waiting": 0,
        "exact_fallbacks": 0,
    }
    assert seconds > BURN_SECONDS
    assert len(latencies) > 30  # requests kept being answered all through the run
    # A core on the loop holds a request for the whole burn (>= 2 s, see the control below).
    # The bound leaves room for a busy CI machine's scheduler; typical is ~10 ms.
    slowest = max(latencies)
    assert slowest < BURN_SECONDS / 4, f"slowest /health/live took {slowest:.3f} s"
    assert sorted(latencies)[len(latencies) // 2] < 0.05


async def test_the_same_check_catches_a_run_on_the_loop(
    services: Services,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
) -> None:
    # The control: the same run on the event loop holds a request for the whole run, so the
    # test above would fail if the job ran the core on the loop.
    await _six_waiting(session, cipher, clock.now)
    result, seconds, latencies = await _run_while_polling(
        services, InlinePlanner(burn_then_compute)
    )
    assert result["placed"] == 6
    assert seconds > BURN_SECONDS and max(latencies) > BURN_SECONDS * 0.9


def _population(n: int, seed: int) -> Inputs:
    rng = random.Random(seed)
    orgs = ("A", "B", "C", "D")
    people = [
        person(
            f"p{i:05d}",
            org=rng.choice(orgs),
            themes=tuple(rng.sample(THEMES, rng.randint(1, 2))),
            cross=rng.random() < 0.5,
            age=rng.choice((23, 28, 33, 38, 43, 48, 53)),
            gender=rng.choice(("female", "male", None)),
            slots=frozenset(rng.sample(("tue-evening", "wed-evening", "thu-daytime"), 2)),
            digital=rng.random() < 0.3,
            days=rng.randint(0, 60),
        )
        for i in range(n)
    ]
    facs = [starter(f"f{o}{k}", org=o, free=20) for o in orgs for k in range(3)]
    return Inputs(people, facs, RuleBook(), {o: o for o in orgs})


async def test_the_worker_forms_the_same_plan_as_the_loop() -> None:
    inputs = _population(3000, seed=7)
    planner = OffLoopPlanner()
    try:
        off = await planner.compute(inputs, NOW)
        again = await planner.compute(inputs, NOW)  # the kept worker, second run
    finally:
        planner.shutdown()
    on = compute_plan(inputs, NOW)
    assert len(on.plan.groups) > 50
    assert off.plan == on.plan == again.plan


class _BrokenHighs(_Highs):  # type: ignore[misc]
    def run(self) -> highspy.HighsStatus:
        return highspy.HighsStatus.kError


async def test_a_solver_failure_is_logged_and_counted_in_the_run_report(
    services: Services,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _six_waiting(session, cipher, clock.now)
    # In-process, so the forced failure reaches the core (a worker would not see the patch).
    monkeypatch.setattr(exact, "_Highs", _BrokenHighs)
    monkeypatch.setattr(exact, "_reset_scheduler", lambda: None)
    services.planner = InlinePlanner()
    with caplog.at_level(logging.WARNING, logger="samhjelp.matching"):
        result = await jobs.match(services)
    assert result["placed"] == 6  # the greedy plan still forms the group
    assert result["exact_fallbacks"] == 1
    [record] = [r for r in caplog.records if "exact solver failed" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.pool_size == 6  # type: ignore[attr-defined]
    assert "kError" in record.reason  # type: ignore[attr-defined]
    assert "a pool of 6" in record.getMessage()
