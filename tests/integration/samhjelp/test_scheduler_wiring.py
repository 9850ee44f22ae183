"""Jobs are listed and handed to the scheduler by ``create_app``, not registered into a global
list by importing a module; the link pages are routes of every app ``create_app`` builds."""

from __future__ import annotations

from dataclasses import replace

import httpx
from litestar import Litestar

from samhjelp.app import Services, create_app
from samhjelp.runtime import Scheduler


def _schedulers(app: Litestar) -> list[Scheduler]:
    hooks = app.on_startup
    return [h.__self__ for h in hooks if isinstance(getattr(h, "__self__", None), Scheduler)]


async def test_create_app_runs_the_explicit_job_list_when_the_scheduler_is_on(
    services: Services,
) -> None:
    assert _schedulers(create_app(services)) == []  # tests' settings: scheduler off
    on = replace(
        services, settings=services.settings.model_copy(update={"scheduler_enabled": True})
    )
    [scheduler] = _schedulers(create_app(on))
    assert [job.id for job in scheduler.jobs] == [
        "match",
        "lifecycle",
        "deliver",
        "housekeeping",
        "statistics",
        "audit_retention",
        "nudges",
        "lapse",
    ]
    await scheduler.start()
    try:
        assert scheduler._scheduler is not None
        running = {
            j.id: j.trigger.interval.total_seconds() for j in scheduler._scheduler.get_jobs()
        }
    finally:
        await scheduler.stop()
    minutes = on.settings.match_interval_minutes
    assert running == {
        "match": minutes * 60,
        "lifecycle": 60,
        "deliver": 20,
        "housekeeping": 3600,
        "statistics": 3600,
        "audit_retention": 6 * 3600,
        "nudges": 3600,
        "lapse": 3600,
    }


async def test_every_app_serves_the_link_pages(client: httpx.AsyncClient) -> None:
    """A forged link gets the kind 400 page of groups.pages, not a 404 for a missing route."""
    page = await client.get("/s/" + "A" * 28)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
