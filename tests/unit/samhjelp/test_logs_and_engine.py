"""The JSON formatter keeps database errors' values out of log lines; the engine hides
parameters and carries the configured timeouts."""

from __future__ import annotations

import json
import logging
import sys

import asyncpg
from sqlalchemy.exc import IntegrityError

from samhjelp.database import Timeouts, connect_args, make_engine
from samhjelp.logs import JsonFormatter
from samhjelp.settings import Settings

SECRET = "SECRET42"


def unique_violation() -> IntegrityError:
    driver = asyncpg.exceptions.UniqueViolationError.new(
        {
            "M": 'duplicate key value violates unique constraint "uq_referral_code"',
            "D": f"Key (code)=({SECRET}) already exists.",
            "C": "23505",
            "n": "uq_referral_code",
            "t": "referral",
        }
    )
    return IntegrityError("INSERT INTO referral (code) VALUES ($1)", {"code": SECRET}, driver)


def record(msg: str, *args: object, exc: BaseException | None = None, **extra: object) -> str:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    rec = logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(rec, key, value)
    return JsonFormatter().format(rec)


def test_a_logged_traceback_keeps_class_sqlstate_and_constraint_only() -> None:
    try:
        try:
            raise unique_violation().orig  # type: ignore[misc]
        except Exception as inner:
            raise unique_violation() from inner
    except IntegrityError as exc:
        line = record("insert failed", exc=exc)
    entry = json.loads(line)
    assert SECRET not in line and "Key (code)" not in line and "DETAIL" not in line
    assert "[parameters:" not in line and "INSERT INTO" not in line
    assert "IntegrityError(UniqueViolationError) sqlstate=23505" in entry["exc"]
    assert "constraint=uq_referral_code" in entry["exc"]
    assert "Traceback (most recent call last)" in entry["exc"]
    assert "direct cause" in entry["exc"]


def test_database_errors_in_message_arguments_and_extra_fields_are_reduced() -> None:
    line = record("failed: %s", unique_violation(), error=unique_violation())
    assert SECRET not in line and "sqlstate=23505" in line


def test_other_exceptions_keep_their_message() -> None:
    try:
        raise ValueError("bad slot 'tue-evening'")
    except ValueError as exc:
        line = record("oops", exc=exc)
        assert sys.exc_info()[1] is exc
    assert "bad slot" in json.loads(line)["exc"]


def test_the_engine_hides_parameters_and_carries_the_timeouts() -> None:
    settings = Settings(
        db_connect_timeout_seconds=3,
        db_statement_timeout_seconds=20,
        db_lock_timeout_seconds=4,
        db_pool_timeout_seconds=6,
    )
    engine = make_engine(
        "postgresql+asyncpg://u@127.0.0.1/x", timeouts=Timeouts.from_settings(settings)
    )
    assert engine.sync_engine.hide_parameters is True
    assert engine.pool.timeout() == 6
    args = connect_args(Timeouts.from_settings(settings))
    assert args["timeout"] == 3
    # The driver's limit is a backstop behind the server's clear statement_timeout error.
    assert args["command_timeout"] > 20
    assert args["server_settings"] == {"statement_timeout": "20000", "lock_timeout": "4000"}


def test_a_blank_metrics_token_means_no_token() -> None:
    # compose passes an unset ${SAMHJELP_METRICS_TOKEN:-} as an empty string.
    assert Settings(metrics_token="").metrics_token is None
    token = Settings(metrics_token="t" * 32).metrics_token
    assert token is not None and token.get_secret_value() == "t" * 32
