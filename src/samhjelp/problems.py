"""RFC 9457 problem details for every error the API returns, mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR

from intake.errors import PROBLEM_JSON, IntakeError, InvalidInterest

log = logging.getLogger("samhjelp.errors")

_BASE = "https://samhjelp.no/problems/"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": _BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


#: Parameters whose Python name differs from what the client sent.
_WIRE_NAMES = {"idempotency_key": "Idempotency-Key"}


def _field_from_key(key: str | None) -> str:
    return _WIRE_NAMES.get(key or "", key or "body")


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar/pydantic validation errors become 422 naming each bad field."""
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            errors.append(
                {"field": _field_from_key(item.get("key")), "message": item.get("message", "")}
            )
    if not errors:
        errors.append({"field": "body", "message": exc.detail})
    return problem(
        HTTP_422_UNPROCESSABLE_ENTITY,
        "Some fields are not valid",
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        slug="invalid-fields",
        errors=errors,
    )


def handle_intake(request: Request[Any, Any, Any], exc: IntakeError) -> Response[Any]:
    if isinstance(exc, InvalidInterest):
        errors = [{"field": p.field, "message": p.message, "code": p.code} for p in exc.problems]
        return problem(exc.status, exc.title, str(exc), slug="invalid-fields", errors=errors)
    return problem(exc.status, exc.title, str(exc) or None)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if exc.status_code >= 500:
        log.error("http error", extra={"path": request.url.path, "status": exc.status_code})
    return problem(exc.status_code, _title(exc.status_code), exc.detail, headers=headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "Something went wrong on our side; nothing was stored.",
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: handle_validation,
    IntakeError: handle_intake,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem"]
