"""Structured JSON logs, one object per line. Messages never carry personal data.

Nothing in samhjelp logs request bodies, and handlers log ids and counts only. Database errors
are the one place where values would slip in by themselves: SQLAlchemy appends the statement's
parameters to its message, and PostgreSQL's own message and DETAIL quote values ("Failing row
contains (…)", "Key (x)=(…) already exists", "invalid input syntax for type integer: …"). So the
formatter rewrites every database exception — in a logged traceback, in the message arguments
and in ``extra`` fields — to its class, SQLSTATE and the constraint or table it names, and
drops the message, the statement, the parameters and the detail.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

#: Modules whose exceptions may quote SQL parameters or row values in their text.
_DATABASE_MODULES = ("sqlalchemy", "asyncpg", "psycopg", "alembic")


def is_database_error(exc: BaseException) -> bool:
    """True for exceptions raised by the database stack (their text may quote values)."""
    return any(
        (cls.__module__ or "").split(".")[0] in _DATABASE_MODULES for cls in type(exc).__mro__
    )


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind SQLAlchemy's wrapper (it carries the SQLSTATE)."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        cause = orig.__cause__ or getattr(orig, "__cause__", None)
        return cause if isinstance(cause, BaseException) else orig
    return exc


def describe_database_error(exc: BaseException) -> str:
    """``IntegrityError(CheckViolationError) sqlstate=23514 constraint=ck_x table=interest``.

    Only names from the schema and the error code, never a message or a value.
    """
    driver = _driver_error(exc)
    name = type(exc).__name__
    if driver is not exc:
        name += f"({type(driver).__name__})"
    parts = [name]
    sqlstate = getattr(driver, "sqlstate", None) or getattr(exc, "pgcode", None)
    if sqlstate:
        parts.append(f"sqlstate={sqlstate}")
    for attr in ("constraint_name", "table_name", "column_name"):
        value = getattr(driver, attr, None)
        if isinstance(value, str) and value:
            parts.append(f"{attr.removesuffix('_name')}={value}")
    parts.append("(message, statement and parameters withheld)")
    return " ".join(parts)


def _safe(value: Any) -> Any:
    if isinstance(value, BaseException) and is_database_error(value):
        return describe_database_error(value)
    return value


def format_exception_safely(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> str:
    """A traceback like ``logging`` prints, with database exceptions reduced to their names.

    The frames (file, line, source) are kept: they name code, never data.
    """
    if exc is None:
        return ""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            link = "The above exception was the direct cause of the following exception:"
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link = "During handling of the above exception, another exception occurred:"
            current = current.__context__
        else:
            current = None
    out: list[str] = []
    # Printed oldest first, as Python does; each link sentence belongs before its successor.
    for index, (item, _) in enumerate(reversed(chain)):
        if index:
            out.append("\n" + (chain[len(chain) - index][1] or "") + "\n\n")
        item_tb = tb if item is exc else item.__traceback__
        if item_tb is not None:
            out.append("Traceback (most recent call last):\n")
            out.extend(traceback.format_tb(item_tb))
        if is_database_error(item):
            out.append(f"{type(item).__module__}.{describe_database_error(item)}\n")
        else:
            out.extend(traceback.format_exception_only(type(item), item))
    return "".join(out).rstrip("\n")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple):
            args = tuple(_safe(a) for a in args)
        elif isinstance(args, dict):
            args = {k: _safe(v) for k, v in args.items()}
        message = _safe(record.msg)
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": (str(message) % args) if args else str(message),
        }
        entry.update({k: _safe(v) for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = format_exception_safely(*record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "apscheduler.executors.default", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
