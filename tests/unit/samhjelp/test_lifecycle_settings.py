"""Life-cycle windows are configurable per deployment through settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from samhjelp.app import lifecycle_config
from samhjelp.settings import Settings


def test_defaults_follow_the_field() -> None:
    cfg = lifecycle_config(Settings())
    assert cfg.facilitator_window == timedelta(days=3)
    assert cfg.facilitator_reminder_after == timedelta(days=2)
    assert cfg.reply_window == timedelta(hours=72)
    assert cfg.facilitated_meetings == 3
    assert cfg.erase_after == timedelta(days=30)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMHJELP_ERASE_CONTACTS_AFTER_DAYS", "14")
    monkeypatch.setenv("SAMHJELP_REPLY_WINDOW_HOURS", "48")
    monkeypatch.setenv("SAMHJELP_FACILITATOR_WINDOW_DAYS", "6")
    cfg = lifecycle_config(Settings())
    assert cfg.erase_after == timedelta(days=14)
    assert cfg.reply_window == timedelta(hours=48)
    assert cfg.facilitator_reminder_after == timedelta(days=4)
    monkeypatch.setenv("SAMHJELP_FACILITATED_MEETINGS", "12")
    with pytest.raises(ValidationError, match="facilitated_meetings"):
        Settings()
