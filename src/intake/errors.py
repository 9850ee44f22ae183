"""Domain errors of intake. The web layer maps them to RFC 9457 problem details."""

from __future__ import annotations

from dataclasses import dataclass, field


class IntakeError(Exception):
    """Base of all intake errors."""

    status = 400
    title = "Bad request"


@dataclass
class FieldProblem:
    """One bad field: a dotted path into the request ("contact.phone") and what is wrong."""

    field: str
    message: str
    code: str = "invalid"


@dataclass
class InvalidInterest(IntakeError):
    """The request names things that do not exist or breaks a rule; nothing was stored."""

    problems: list[FieldProblem] = field(default_factory=list)
    status = 422
    title = "Some fields are not valid"

    def __str__(self) -> str:
        return "; ".join(f"{p.field}: {p.message}" for p in self.problems)


class NotFound(IntakeError):
    """Unknown, or not visible to the caller (another organisation's data is 'not found')."""

    status = 404
    title = "Not found"


class Conflict(IntakeError):
    """The request contradicts stored state (e.g. an Idempotency-Key reused for another body)."""

    status = 409
    title = "Conflict"


#: RFC 9457's media type: every error the API answers is one.
PROBLEM_JSON = "application/problem+json"
