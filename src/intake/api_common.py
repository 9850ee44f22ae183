"""What every intake API module shares: the injected dependencies' types, the problem
responses each route documents in OpenAPI (RFC 9457 ``application/problem+json``), and
:class:`JsonBody`, a body validated by pydantic in one pass from the raw bytes.

Its own module so that the API's controllers can live in several modules (and the group and
statistics APIs reuse the same documentation) without importing each other.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from litestar.datastructures import URL
from litestar.dto import AbstractDTO
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Reference, Schema
from litestar.params import SkipValidation
from litestar.serialization import decode_json
from litestar.typing import FieldDefinition
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.errors import PROBLEM_JSON
from intake.progress import Progress, Suggestions
from intake.registry import ApiPrincipal
from intake.schemas import Problem

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

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


M = TypeVar("M", bound=BaseModel)


class JsonBody(AbstractDTO[M]):
    """``dto=JsonBody[Model]``: the route's ``data`` validated by pydantic in one pass from the
    raw body (``model_validate_json``), where Litestar would decode the JSON with msgspec, build
    its signature model and hand the Python objects to pydantic (issue 12: that was a third of
    the registration's CPU).

    Everything a client sees stays as it was: the OpenAPI request body is made from the same
    annotation; malformed JSON is still Litestar's 400, an empty body its 422, and an invalid
    body gets the 422 problem naming each field exactly as Litestar's pydantic plugin reports
    it. Only a valid body takes the fast path; anything else is validated again the old way
    (msgspec's decoder, then pydantic in Python mode, as Litestar does with ``strict=False``),
    so which bodies pass and the words of every error are unchanged.
    """

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:  # pragma: no cover - no backend is built
        raise NotImplementedError
        yield

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False  # pragma: no cover - no backend is built

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        """No transfer model: pydantic validates straight into the model itself."""
        if not field_definition.is_subclass_of(cls.model_type):
            raise TypeError(f"JsonBody[{cls.model_type.__name__}] on {field_definition.annotation}")

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        """The schema Litestar documents for a plain ``data: Model`` (the same component)."""
        return schema_creator.for_field_definition(field_definition)

    def decode_bytes(self, value: bytes) -> Any:
        model: type[BaseModel] = self.model_type
        try:
            return model.model_validate_json(value)
        except PydanticValidationError:
            pass
        # Not valid: the error the generic path gives, word for word (and a body that only
        # Python-mode validation accepts is accepted, as before).
        connection = self.asgi_connection
        decoded = decode_json(value, type_decoders=connection.route_handler.resolve_type_decoders())
        try:
            return model.model_validate(decoded, strict=False)
        except PydanticValidationError as exc:
            url = URL.from_components(path=connection.url.path, query=connection.url.query)
            raise ValidationException(
                detail=f"Validation failed for {connection.scope.get('method')} {url}",
                extra=[_field_error(e["loc"], e["msg"]) for e in exc.errors(include_input=False)],
            ) from exc


def _field_error(loc: tuple[int | str, ...], msg: str) -> dict[str, str]:
    """One pydantic error as Litestar's signature model words it (``key``: the dotted path; a
    key starting "data" loses "data." wherever it occurs, as Litestar does)."""
    message = {"message": msg.split(" - ", maxsplit=1)[0]}
    if loc:
        keys = [str(part) for part in loc]
        key = ".".join(keys)
        message["key"] = key.replace("data.", "") if keys[0].startswith("data") else key
    return message
