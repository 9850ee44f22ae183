"""Request metrics: ``samhjelp.web.RequestMetrics`` counts exactly what Litestar's Prometheus
middleware counts (same metric names, labels and values), with its label children cached.

Both run around the same stub ASGI app answering 201, 404, 503 and raising, and the change of
every sample in the registry must be the same; then through the real app, a registration is
counted under its route template.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_org
from samhjelp.app import Services, create_app
from samhjelp.web import RequestMetrics, metrics_config

NAMES = (
    "litestar_requests_total",
    "litestar_request_duration_seconds_count",
    "litestar_requests_in_progress",
    "litestar_requests_error_total",
)


def samples() -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    found: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for metric in REGISTRY.collect():
        for s in metric.samples:
            if s.name in NAMES and s.labels.get("path", "").startswith("/stub/"):
                found[(s.name, tuple(sorted(s.labels.items())))] += int(s.value)
    return found


async def stub(scope: Any, receive: Any, send: Any) -> None:
    status = int(scope["path"].rsplit("/", 1)[1])
    if status == 0:
        raise RuntimeError("a handler that blows up")
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"x"})


async def drive(middleware: Any) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    before = samples()
    for status in (201, 201, 404, 503, 0):
        path = f"/stub/{status}"
        scope = {"type": "http", "method": "POST", "path": path, "path_template": path}
        try:
            await middleware(scope, None, _ignore)
        except RuntimeError:
            assert status == 0
    after = samples()
    return Counter({k: after[k] - before.get(k, 0) for k in after})


async def _ignore(message: Any) -> None:
    pass


async def test_the_same_samples_as_litestars_middleware() -> None:
    ours = await drive(RequestMetrics(stub, metrics_config()))
    config = PrometheusConfig(app_name="samhjelp", group_path=True, exclude=["/metrics"])
    theirs = await drive(PrometheusMiddleware(stub, config))
    assert ours == theirs
    assert ours[("litestar_requests_total", _labels(201))] == 2
    assert ours[("litestar_requests_error_total", _labels(503))] == 1
    assert ours[("litestar_requests_total", _labels(200, path="/stub/0"))] == 1  # raised


def _labels(status: int, path: str | None = None) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            {
                "app_name": "samhjelp",
                "method": "POST",
                "path": path or f"/stub/{status}",
                "status_code": str(status),
            }.items()
        )
    )


async def test_a_registration_is_counted_under_its_route(
    services: Services, session: AsyncSession
) -> None:
    await make_org(session, ("4601",))
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = (await client.get("/metrics")).text
        assert (await client.post("/api/v1/interests", json=interest_body())).status_code == 201
        after = (await client.get("/metrics")).text
    line = (
        'litestar_requests_total{app_name="samhjelp",method="POST",'
        'path="/api/v1/interests",status_code="201"} '
    )

    def count(text: str) -> float:
        found = [row for row in text.splitlines() if row.startswith(line)]
        return float(found[0].rsplit(" ", 1)[1]) if found else 0.0

    assert count(after) == count(before) + 1
    running = (
        'litestar_requests_in_progress{app_name="samhjelp",method="POST",'
        'path="/api/v1/interests",status_code="200"} 0.0'
    )
    assert running in after
