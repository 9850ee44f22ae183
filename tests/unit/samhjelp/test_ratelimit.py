"""The write rate limit: per client, per minute, reads never limited."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import TooManyRequestsException

from samhjelp.ratelimit import WriteRateLimit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_limits_writes_per_client_and_resets_each_minute() -> None:
    passed: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["method"])

    clock = Clock()
    limit = WriteRateLimit(app, per_minute=2, clock=clock)

    def scope(method: str, ip: str, path: str = "/api/v1/interests") -> Any:
        return {"type": "http", "method": method, "path": path, "client": (ip, 1)}

    for _ in range(2):
        await limit(scope("POST", "10.0.0.1"), None, None)  # type: ignore[arg-type]
    with pytest.raises(TooManyRequestsException) as caught:
        await limit(scope("DELETE", "10.0.0.1"), None, None)  # type: ignore[arg-type]
    assert caught.value.headers == {"Retry-After": "60"}
    await limit(scope("POST", "10.0.0.2"), None, None)  # another client  # type: ignore[arg-type]
    for _ in range(5):
        await limit(scope("GET", "10.0.0.1"), None, None)  # reads pass  # type: ignore[arg-type]
        await limit(scope("POST", "10.0.0.1", "/health/x"), None, None)  # type: ignore[arg-type]
    clock.t += 45
    with pytest.raises(TooManyRequestsException) as caught:
        await limit(scope("POST", "10.0.0.1"), None, None)  # type: ignore[arg-type]
    assert caught.value.headers == {"Retry-After": "15"}
    clock.t += 16
    await limit(scope("POST", "10.0.0.1"), None, None)  # type: ignore[arg-type]
    assert passed.count("POST") == 2 + 1 + 5 + 1 and passed.count("GET") == 5
