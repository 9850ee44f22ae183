"""A real OpenID provider for the tests: ``oidc-provider-mock`` on a free port in a thread, and
how a browser answers its authorisation form (POST ``sub`` or ``action=deny``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from oidc_provider_mock import run_server_in_thread


@contextmanager
def provider() -> Iterator[str]:
    """The provider's base URL (``http://localhost:<port>``) while the context lasts."""
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def provider_setting(base: str, slug: str = "mock", name: str = "Test-IdP") -> dict[str, Any]:
    return {
        "slug": slug,
        "name": name,
        "discovery_url": f"{base}/.well-known/openid-configuration",
        "client_id": "samhjelp-test",
        "client_secret": "s3cret-for-tests",
    }


def set_user(base: str, sub: str, **claims: Any) -> None:
    """The provider's user ``sub`` with these claims (``email``, ``email_verified``, …)."""
    httpx.put(f"{base}/users/{sub}", json=claims).raise_for_status()


def authorize(url: str, *, sub: str | None = None, deny: bool = False) -> str:
    """Submit the provider's form at ``url`` as a person would; returns where it redirects."""
    form = {"action": "deny"} if deny else {"sub": sub or ""}
    answer = httpx.post(url, data=form, follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["location"]
