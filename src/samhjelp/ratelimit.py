"""A small per-client limit on writes (POST/DELETE), answering 429 with ``Retry-After``.

Litestar's own rate-limit middleware keeps each client's history in a serialised store behind
a lock, which cost more per request than the whole sign-up; this fixed-window counter in a dict
costs a hash lookup. It is per replica, which is what a limit against one noisy client needs.
Client addresses live only in memory, for one window, and are never logged or stored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Receive, Scope, Send

_WRITE_METHODS = frozenset({"POST", "DELETE", "PUT", "PATCH"})


class WriteRateLimit:
    """ASGI middleware: at most ``per_minute`` writes per client address per minute."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_minute: int,
        exempt_prefixes: tuple[str, ...] = ("/health",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.per_minute = per_minute
        self.exempt_prefixes = exempt_prefixes
        self.clock = clock
        self.window_start = clock()
        self.counts: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == ScopeType.HTTP
            and scope.get("method") in _WRITE_METHODS
            and not scope["path"].startswith(self.exempt_prefixes)
        ):
            now = self.clock()
            if now - self.window_start >= 60:
                self.window_start, self.counts = now, {}
            client = scope.get("client")
            key = client[0] if client else "?"
            count = self.counts.get(key, 0) + 1
            self.counts[key] = count
            if count > self.per_minute:
                wait = max(1, math.ceil(60 - (now - self.window_start)))
                raise TooManyRequestsException(
                    "too many requests from this client; try again shortly",
                    headers={"Retry-After": str(wait)},
                )
        await self.app(scope, receive, send)
