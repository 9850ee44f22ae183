"""Short-lived, signed, ``HttpOnly`` cookies that carry one sign-in ceremony's state.

A passkey ceremony (its challenge) and an identity-provider round trip (state, nonce, PKCE
verifier, where to go next) each need a few values kept between two requests of the same
browser. They live in a cookie signed with a key derived from the link secret (so every replica
agrees, like the CSRF secret) instead of a table: nothing to clean up, no migration, and a
cookie from one purpose or replica configuration never verifies as another. The signature
proves only that *we* wrote the value; single use is enforced where it matters (the challenge's
digest in the audit trail, :mod:`staff.passkeys`; the provider's one-time code, :mod:`staff.oidc`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from litestar.datastructures import Cookie

#: Cookie names: one per ceremony, scoped to the console.
PASSKEY = "samhjelp_passkey"
OIDC = "samhjelp_oidc"


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), b"samhjelp staff flow " + purpose.encode(), "sha256").digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(
    secret: str, purpose: str, payload: dict[str, Any], *, now: datetime, ttl: timedelta
) -> str:
    """``payload`` plus its expiry, signed for ``purpose``."""
    body = _b64(json.dumps({**payload, "exp": int((now + ttl).timestamp())}).encode())
    mac = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unseal(secret: str, purpose: str, value: str | None, *, now: datetime) -> dict[str, Any] | None:
    """The payload, or None when missing, forged, made for another purpose, or expired."""
    if not value or "." not in value:
        return None
    body, _, mac = value.partition(".")
    expected = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or payload.get("exp", 0) <= now.timestamp():
        return None
    return payload


def cookie(name: str, value: str, *, ttl: timedelta, secure: bool) -> Cookie:
    """``SameSite=Lax``: the provider's redirect back is a top-level GET, which Lax allows."""
    return Cookie(
        key=name,
        value=value,
        path="/ansatt",
        max_age=int(ttl.total_seconds()),
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def cleared(name: str, *, secure: bool) -> Cookie:
    return Cookie(
        key=name, value="", path="/ansatt", max_age=0, httponly=True, secure=secure, samesite="lax"
    )
