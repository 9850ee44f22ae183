"""The signed ceremony cookies: what we sealed comes back; anything else — tampered, made for
another purpose or with another secret, expired — is None."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from staff.flow_cookie import seal, unseal

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SECRET = "s" * 40


def test_a_sealed_value_opens_only_as_made() -> None:
    value = seal(SECRET, "oidc", {"s": "state", "n": "nonce"}, now=NOW, ttl=timedelta(minutes=10))
    opened = unseal(SECRET, "oidc", value, now=NOW + timedelta(minutes=9))
    assert opened is not None and opened["s"] == "state" and opened["n"] == "nonce"

    assert unseal(SECRET, "register", value, now=NOW) is None  # another purpose
    assert unseal("t" * 40, "oidc", value, now=NOW) is None  # another secret
    assert unseal(SECRET, "oidc", value, now=NOW + timedelta(minutes=10)) is None  # expired
    body, _, mac = value.partition(".")
    forged = seal(SECRET, "oidc", {"s": "mine"}, now=NOW, ttl=timedelta(minutes=10)).split(".")[0]
    assert unseal(SECRET, "oidc", f"{forged}.{mac}", now=NOW) is None  # body swapped
    for junk in (None, "", "no-dot", f"{body}.", f"{body}.!!!", "x.y"):
        assert unseal(SECRET, "oidc", junk, now=NOW) is None
