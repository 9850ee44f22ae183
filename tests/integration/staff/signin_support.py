"""Helpers of the sign-in, users and audit tests: ask for a link as a browser does, read the
mail the memory channel received, use the link."""

from __future__ import annotations

import re

import httpx

from notify import Channel
from notify.memory import MemoryNotifier
from samhjelp.services import Services
from staff.sessions import COOKIE

CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')
LINK = re.compile(r"http://testserver/ansatt/lenke/[A-Za-z0-9_-]+(?:\?\S*)?")


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def outbox_mails(services: Services) -> MemoryNotifier:
    channel = services.notifiers[Channel.EMAIL]
    assert isinstance(channel, MemoryNotifier)
    return channel


async def ask_for_link(
    client: httpx.AsyncClient, email: str, *, neste: str | None = None
) -> httpx.Response:
    form = await client.get("/ansatt/logg-inn", params={"neste": neste} if neste else None)
    assert form.status_code == 200, form.text
    return await client.post(
        "/ansatt/logg-inn",
        data={"_csrf_token": csrf_of(form), "email": email, "neste": neste or ""},
    )


def links_to(services: Services, email: str) -> list[str]:
    """Every link mailed to ``email`` so far, oldest first."""
    return [
        LINK.search(m.text).group(0)  # type: ignore[union-attr]
        for m in outbox_mails(services).sent
        if m.to == email and LINK.search(m.text)
    ]


async def use_link(
    client: httpx.AsyncClient, url: str, *, cookies: dict[str, str] | None = None
) -> httpx.Response:
    """Open the link page (GET) and press its button (POST), as a person does."""
    page = await client.get(url, cookies=cookies)
    if page.status_code != 200:
        return page
    path = url.removeprefix("http://testserver").split("?")[0]
    neste = re.search(r'name="neste" value="([^"]*)"', page.text)
    return await client.post(
        path,
        data={"_csrf_token": csrf_of(page), "neste": neste.group(1) if neste else ""},
        cookies=cookies,
    )


def session_of(response: httpx.Response) -> str:
    value = response.cookies.get(COOKIE)
    assert value, response.headers
    return value
