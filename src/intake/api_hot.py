"""The public registration's hot path (issue 12): ``POST /api/v1/interests`` done by a
middleware on its own route handler, next to Litestar's request pipeline rather than through it.

The route stays a plain Litestar ``@post`` handler in the one app and router
(:class:`intake.api.InterestController`): its OpenAPI operation, ``OPTIONS`` and ``405`` are
Litestar's, and every app-wide middleware (request metrics, the write rate limit, request
hygiene) and send hook runs as for any route. :class:`HotRegistration` is that handler's own
middleware, innermost of all. For a request whose ``Idempotency-Key`` and body are valid it does
the handler's work itself — the body validated by pydantic in one pass from the raw bytes, the
one-trip statement (:mod:`intake.registration`, sent through the group commit of
:mod:`intake.group_commit`), the answer encoded once — and sends the response, skipping
Litestar's request object, signature model, kwargs, dependency resolution and response pipeline
(~0.15 ms of a ~0.6 ms registration).

Everything else is handed to Litestar's own handling of the route, unchanged: a key that is
malformed or guessable, a body that does not validate, a duplicated header, an odd
Content-Length. Nothing has been stored at that point, so those clients get exactly the problem
details they got before, made by the same code. An error raised by the work itself (an
unknown municipality, a conflict, a lost database connection) is turned into its response by
Litestar's own exception handling, as it would be inside the handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from intake import idempotency, referrals, registration
from intake.crypto import ContactCipher
from intake.group_commit import Pooled, hot_trips
from intake.schemas import InterestIn, Registered
from intake.web.i18n import Translator, from_accept_language
from intake.web.views import registered_message

#: Bodies up to this are read by the hot path (the app's ``request_max_body_size``).
MAX_BODY = 64 * 1024
_JSON = (b"content-type", b"application/json")
_REPLAYED = (b"idempotent-replayed", b"true")
_encode = msgspec.json.Encoder().encode


def answer_of(done: Registered, accept_language: str | None) -> Any:
    """The registration's JSON answer: the ``message`` in the caller's ``Accept-Language``
    (programs that send none keep the English one), the same words the receipt page uses."""
    lang = from_accept_language(accept_language)
    if lang is not None:
        message = registered_message(Translator(lang), done.organisation, served=done.served)
        done = done.model_copy(update={"message": message})
    return done.model_dump(mode="json")


async def register_public(
    services: Any,
    data: InterestIn,
    *,
    key: str | None,
    raw_body: bytes,
    accept_language: str | None,
) -> tuple[int, Any, bool]:
    """One anonymous registration: (status, the answer's JSON value, whether it is a replay).

    ``key`` must be an acceptable Idempotency-Key or None. One statement on the bare asyncpg
    connection places, claims the key and inserts; registrations arriving together commit
    together (:mod:`intake.group_commit`). Raises the service's errors
    (:class:`~intake.errors.InvalidInterest`, :class:`~intake.errors.Conflict`).
    """
    cipher: ContactCipher = services.cipher
    now: datetime = services.clock()
    claim = None
    if key:
        claim = idempotency.KeyClaim.of(scope="public", key=key, request_body=raw_body)
    referral_id, target = None, None
    if data.referral_code:
        async with services.sessionmaker() as session:
            referral_id, target = await referrals.resolve_link(
                session, data.referral_code, today=now.date()
            )
    bind = services.sessionmaker.kw["bind"]
    how: dict[str, Any] = {
        "cipher": cipher,
        "source": "referral" if referral_id else "self",
        "now": now,
        "answer": lambda done: answer_of(done, accept_language),
        "key": claim,
        "preferred_org": target,
        "referral_id": referral_id,
    }
    if isinstance(bind, AsyncEngine):  # the service: no context to enter (group commit)
        outcome = await registration.register_in_one_trip(Pooled(bind), data, **how)
    else:
        async with hot_trips(bind) as hot:
            outcome = await registration.register_in_one_trip(hot, data, **how)
    if outcome.replayed is not None:
        return outcome.replayed.status, outcome.replayed.body, True
    return 201, outcome.answer, False


class HotRegistration:
    """The route handler's middleware that serves a valid registration itself (module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        #: Litestar's own handling of the route: whatever is not valid goes there.
        self.app = app
        self._errors = ExceptionHandlerMiddleware(app, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = language = length = None
        unusual = False
        for name, value in scope["headers"]:
            if name == b"idempotency-key":
                unusual |= key is not None
                key = value
            elif name == b"accept-language":
                unusual |= language is not None
                language = value
            elif name == b"content-length":
                unusual |= length is not None
                length = value
        messages: list[Any] = []  # ASGI receive events
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                unusual = True
                break
            size += len(message.get("body", b""))
            if size > MAX_BODY:
                unusual = True
                break
            if not message.get("more_body", False):
                break
        body: bytes
        if len(messages) == 1:
            body = messages[0].get("body", b"")
        else:
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        key_text = key.decode("latin-1") if key is not None else None
        data = None
        if not (
            unusual
            or (length is not None and length != str(len(body)).encode())
            or (key_text is not None and not idempotency.acceptable_key(key_text))
        ):
            try:
                data = InterestIn.model_validate_json(body)
            except ValidationError:
                data = None
        if data is None:
            # Not valid, or not ordinary: Litestar's handling of the route answers it, with
            # the body it would have read.
            await self.app(scope, _replay(messages, receive), send)
            return
        try:
            status, answer, replayed = await register_public(
                scope["litestar_app"].state.services,
                data,
                key=key_text,
                raw_body=body,
                accept_language=language.decode("latin-1") if language is not None else None,
            )
        except Exception as exc:  # made into its response as Litestar would in the handler
            await self._failed(scope, receive, send, exc)
            return
        payload = _encode(answer)
        size_header = (b"content-length", str(len(payload)).encode())
        headers = [_REPLAYED, _JSON, size_header] if replayed else [_JSON, size_header]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _failed(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """What Litestar's ExceptionHandlerMiddleware does with an exception from a handler
        (called while it is being handled, so the logging sees it)."""
        app = scope["litestar_app"]
        if app.logging_config and (logger := app.logger):  # pragma: no cover - none configured
            self._errors.handle_exception_logging(logger, app.logging_config, scope)
        for hook in app.after_exception:
            await hook(exc, scope)
        if app.pdb_on_exception:  # pragma: no cover - a debugging switch
            app.debugger_module.post_mortem()
        await self._errors.handle_request_exception(
            litestar_app=app, scope=scope, receive=receive, send=send, exc=exc
        )


def _replay(messages: list[Any], receive: Receive) -> Receive:
    """``receive`` as if nothing had been read: the messages read, then the rest."""
    pending = list(messages)

    async def replayed() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
