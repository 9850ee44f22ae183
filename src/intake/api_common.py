"""What every intake API module shares: the injected dependencies' types and the problem
responses each route documents in OpenAPI (RFC 9457 ``application/problem+json``).

Its own module so that the API's controllers can live in several modules (and the group and
statistics APIs reuse the same documentation) without importing each other.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus

from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.errors import PROBLEM_JSON
from intake.progress import Progress, Suggestions
from intake.registry import ApiPrincipal
from intake.schemas import Problem

Db = SkipValidation[AsyncSession]
Cipher = SkipValidation[ContactCipher]
Now = SkipValidation[datetime]
Principal = SkipValidation[ApiPrincipal]
ProgressPort = SkipValidation[Progress]
SuggestionsPort = SkipValidation[Suggestions]

_WHY = {
    400: "Malformed request: invalid JSON, NUL characters, or JSON nested too deep",
    401: "No API key, or an unknown or revoked one",
    403: "The API key's role may not do this",
    404: "Unknown, or not visible to this caller",
    409: "Conflicts with what is stored (e.g. an Idempotency-Key reused for another body)",
    413: "The request body is larger than 64 KiB",
    415: "The body must be application/json",
    422: "Some fields are not valid: each is named in errors[]",
    429: "Too many writes from this client; see Retry-After",
}
READ = (400, 422)
WRITE = (400, 413, 415, 422, 429)
AUTH = (401, 403)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for error statuses, each an RFC 9457 problem+json body."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_WHY.get(status) or HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }
