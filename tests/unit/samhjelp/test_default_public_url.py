"""A newcomer's default setup can add a passkey: WebAuthn refuses an IP address as relying party
("This is an invalid domain"), so the development default public URL names a host, and
``samhjelp serve --port P`` without ``SAMHJELP_PUBLIC_BASE_URL`` puts its links on that port."""

from __future__ import annotations

import ipaddress

import pytest

from samhjelp.cli import development_base_url
from samhjelp.settings import Settings
from staff.config import StaffConfig


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def test_the_default_public_url_is_a_valid_webauthn_relying_party(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAMHJELP_PUBLIC_BASE_URL", raising=False)
    base = Settings().public_base_url
    rp_id = StaffConfig(base_url=base).rp_id
    assert not _is_ip(rp_id), base
    assert rp_id == "localhost"  # a secure context over plain http, so passkeys work


def test_serve_on_another_port_links_to_that_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAMHJELP_PUBLIC_BASE_URL", raising=False)
    assert development_base_url(Settings(), 8123) == "http://localhost:8123"
    assert development_base_url(Settings(), 8000) == "http://localhost:8000"


def test_a_configured_public_url_or_production_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMHJELP_PUBLIC_BASE_URL", "https://samhjelp.example.no")
    assert development_base_url(Settings(), 8123) == "https://samhjelp.example.no"
    monkeypatch.delenv("SAMHJELP_PUBLIC_BASE_URL")
    # Production is never guessed: it must name its URL (or keeps the default, refused later).
    production = Settings.model_construct(environment="production")
    assert development_base_url(production, 8123) == production.public_base_url
