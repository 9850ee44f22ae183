"""Fixtures shared by the integration tests of several packages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notify.testing import RecordingSmtpServer


@pytest.fixture
def smtp_server() -> Iterator[RecordingSmtpServer]:
    """A real SMTP server (aiosmtpd, in-process) that records what it receives."""
    server = RecordingSmtpServer()
    server.start()
    yield server
    server.stop()
