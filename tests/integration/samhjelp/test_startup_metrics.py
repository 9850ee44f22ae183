"""``/metrics`` behind a bearer token when ``SAMHJELP_METRICS_TOKEN`` is set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from samhjelp.app import Services, create_app
from samhjelp.settings import Settings

TOKEN = "metrics-token-" + "k" * 24


@pytest.fixture
async def protected(services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    services.settings = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_metrics_are_open_without_a_token_setting(client: httpx.AsyncClient) -> None:
    answer = await client.get("/metrics")
    assert answer.status_code == 200 and "samhjelp_interests" in answer.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
async def test_metrics_refuse_a_missing_or_wrong_token(
    protected: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await protected.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "samhjelp_interests" not in answer.text


async def test_metrics_answer_the_right_token(protected: httpx.AsyncClient) -> None:
    answer = await protected.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and "samhjelp_interests" in answer.text
