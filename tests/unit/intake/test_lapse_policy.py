"""The keeping time of a waiting registration: the policy, the settings that feed it, the words
the pages use for it, and the lapse link's purpose-bound signature (intake.lapse)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from intake import nudges
from intake.lapse import PURPOSE, LapsePolicy
from intake.web.i18n import Translator
from intake.web.privacy import periods
from samhjelp.settings import Settings


def test_policy_defaults_and_settings() -> None:
    assert LapsePolicy() == LapsePolicy(timedelta(days=365), timedelta(days=30))
    assert LapsePolicy.of(None) == LapsePolicy()
    configured = Settings(lapse_after_days=200, lapse_notice_days=14)
    assert LapsePolicy.of(configured) == LapsePolicy(timedelta(days=200), timedelta(days=14))
    with pytest.raises(ValueError, match="shorter"):
        LapsePolicy(timedelta(days=30), timedelta(days=30))


def test_settings_refuse_a_notice_as_long_as_the_keeping_time() -> None:
    with pytest.raises(ValidationError, match="LAPSE_NOTICE_DAYS"):
        Settings(lapse_after_days=60, lapse_notice_days=60)
    with pytest.raises(ValidationError):
        Settings(lapse_after_days=7)  # a week is no waiting list


def test_the_pages_say_the_configured_times() -> None:
    assert periods(Translator("en"), LapsePolicy()) == {
        "keep_period": "a year",
        "notice_period": "a month",
    }
    nb = periods(Translator("nb"), LapsePolicy(timedelta(days=200), timedelta(days=14)))
    assert nb == {"keep_period": "200 dager", "notice_period": "14 dager"}


def test_a_lapse_link_is_not_a_suggestion_link() -> None:
    iid, sent = uuid.uuid4(), datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    nonce = nudges.new_token()
    kept = nudges.signed("s" * 32, iid, sent, nonce, purpose=PURPOSE, valid=timedelta(days=30))
    assert nudges.verified("s" * 32, kept, iid, sent, purpose=PURPOSE, valid=timedelta(days=30))
    assert not nudges.verified("s" * 32, kept, iid, sent)  # as a suggestion link
    assert not nudges.verified("t" * 32, kept, iid, sent, purpose=PURPOSE,
                               valid=timedelta(days=30))  # fmt: skip
    assert nudges.token_hash(nonce, purpose=PURPOSE) != nudges.token_hash(nonce)
