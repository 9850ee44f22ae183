"""Passkeys (WebAuthn) of staff users: the two ceremonies and the stored credentials.

Registration and authentication follow the ``webauthn`` package: the server makes a random
challenge, the browser's authenticator signs it for our relying party (the public host name)
and origin, and we verify the answer. User verification (a PIN or biometric on the device) is
required: the passkey alone is then two factors, which is what health data needs.

The challenge travels in a signed cookie (:mod:`staff.flow_cookie`); that it is used once is
kept in the audit trail: each successful ceremony is recorded with the challenge's digest as its
record id, and a second answer to the same challenge is refused (under an advisory lock, so two
concurrent answers cannot both pass the check).

A sign count that does not grow (for an authenticator that counts) means the credential may
have been cloned: refused, and logged as a warning without personal data.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from intake.web.views import OSLO
from staff.config import StaffConfig
from staff.tables import staff_audit, staff_passkey, staff_user

log = logging.getLogger("samhjelp.staff.passkeys")

RP_NAME = "Samhjelp"
#: The audit trail's record kind for a used challenge.
CHALLENGE_KIND = "webauthn"


class PasskeyRefused(Exception):
    """The browser's answer does not verify; ``reason`` is a short English code for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Passkey:
    credential_id: bytes
    label: str | None
    created_at: datetime
    last_used_at: datetime | None

    @property
    def added(self) -> str:
        """The day it was added, Oslo time, in the numeric form all three languages read."""
        return self.created_at.astimezone(OSLO).strftime("%d.%m.%Y")

    @property
    def last_used(self) -> str | None:
        if self.last_used_at is None:
            return None
        return self.last_used_at.astimezone(OSLO).strftime("%d.%m.%Y %H:%M")

    @property
    def key(self) -> str:
        """The credential id as it appears in URLs and forms."""
        return bytes_to_base64url(self.credential_id)


def challenge_digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


async def passkeys_of(db: AsyncSession, user_id: uuid.UUID) -> list[Passkey]:
    rows = await db.execute(
        select(
            staff_passkey.c.credential_id,
            staff_passkey.c.label,
            staff_passkey.c.created_at,
            staff_passkey.c.last_used_at,
        )
        .where(staff_passkey.c.user_id == user_id)
        .order_by(staff_passkey.c.created_at)
    )
    return [Passkey(*row) for row in rows]


async def count_of(db: AsyncSession, user_id: uuid.UUID) -> int:
    query = (
        select(func.count()).select_from(staff_passkey).where(staff_passkey.c.user_id == user_id)
    )
    return int(await db.scalar(query) or 0)


async def has_identity_link(db: AsyncSession, user_id: uuid.UUID) -> bool:
    query = select(staff_user.c.oidc_subject).where(staff_user.c.id == user_id)
    return (await db.scalar(query)) is not None


def registration_options(
    config: StaffConfig,
    *,
    user_id: uuid.UUID,
    email: str,
    name: str,
    existing: list[Passkey],
) -> tuple[str, bytes]:
    """(options JSON for ``navigator.credentials.create``, the challenge).

    A discoverable credential (resident key), so the same passkey later signs in without an
    e-mail address; the user's existing passkeys are excluded so one device is not added twice.
    """
    options = generate_registration_options(
        rp_id=config.rp_id,
        rp_name=RP_NAME,
        user_id=user_id.bytes,
        user_name=email,
        user_display_name=name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
    )
    return options_to_json(options), options.challenge


def authentication_options(
    config: StaffConfig, *, allowed: list[Passkey] | None = None
) -> tuple[str, bytes]:
    """(options JSON for ``navigator.credentials.get``, the challenge). Without ``allowed`` the
    browser offers any passkey it holds for us (sign-in without an address)."""
    options = generate_authentication_options(
        rp_id=config.rp_id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=p.credential_id) for p in allowed or []
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


async def claim_challenge(db: AsyncSession, challenge: bytes) -> None:
    """Refuse a challenge already answered; the caller records it in the same transaction."""
    digest = challenge_digest(challenge)
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:d))"), {"d": digest})
    used = await db.scalar(
        select(staff_audit.c.id)
        .where(staff_audit.c.record_kind == CHALLENGE_KIND, staff_audit.c.record_id == digest)
        .limit(1)
    )
    if used is not None:
        raise PasskeyRefused("challenge already used")


async def register(
    db: AsyncSession,
    config: StaffConfig,
    *,
    user_id: uuid.UUID,
    credential: dict[str, Any],
    challenge: bytes,
    label: str | None,
    now: datetime,
) -> bytes:
    """Verify a new passkey's attestation and store it; returns its credential id."""
    await claim_challenge(db, challenge)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.rp_id,
            expected_origin=config.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused(f"registration: {exc}") from exc
    taken = await db.scalar(
        select(staff_passkey.c.user_id).where(
            staff_passkey.c.credential_id == verified.credential_id
        )
    )
    if taken is not None:
        raise PasskeyRefused("credential already registered")
    await db.execute(
        staff_passkey.insert().values(
            credential_id=verified.credential_id,
            user_id=user_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            label=(label or "").strip()[:80] or None,
            created_at=now,
        )
    )
    return verified.credential_id


async def authenticate(
    db: AsyncSession,
    config: StaffConfig,
    *,
    credential: dict[str, Any],
    challenge: bytes,
    only_user: uuid.UUID | None,
    now: datetime,
) -> tuple[uuid.UUID, bytes]:
    """Verify an assertion; returns (the user's id, the credential id).

    ``only_user`` (a signed-in session asking for its second factor) must own the passkey; the
    user must not be disabled. The stored sign count and last use are updated.
    """
    await claim_challenge(db, challenge)
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused(f"malformed assertion: {exc}") from exc
    row = (
        await db.execute(
            select(
                staff_passkey.c.user_id,
                staff_passkey.c.public_key,
                staff_passkey.c.sign_count,
                staff_user.c.disabled_at,
            )
            .join(staff_user, staff_user.c.id == staff_passkey.c.user_id)
            .where(staff_passkey.c.credential_id == parsed.raw_id)
            .with_for_update(of=staff_passkey)
        )
    ).one_or_none()
    if row is None:
        raise PasskeyRefused("unknown credential")
    if row.disabled_at is not None or (only_user is not None and row.user_id != only_user):
        raise PasskeyRefused("credential of another or a disabled user")
    handle = parsed.response.user_handle
    if handle and handle != row.user_id.bytes:
        raise PasskeyRefused("user handle does not match")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=config.rp_id,
            expected_origin=config.origin,
            credential_public_key=row.public_key,
            credential_current_sign_count=row.sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as exc:
        if "sign count" in str(exc):
            # Why a warning: a counter that goes back is how a cloned authenticator shows.
            log.warning("passkey sign count did not grow: possibly a cloned authenticator")
        raise PasskeyRefused(f"assertion: {exc}") from exc
    await db.execute(
        update(staff_passkey)
        .where(staff_passkey.c.credential_id == parsed.raw_id)
        .values(sign_count=verified.new_sign_count, last_used_at=now)
    )
    return row.user_id, parsed.raw_id


async def remove(db: AsyncSession, user_id: uuid.UUID, credential_id: bytes) -> bool:
    """Delete one of the user's own passkeys; False when it is not theirs (or unknown)."""
    result = await db.execute(
        delete(staff_passkey).where(
            staff_passkey.c.credential_id == credential_id, staff_passkey.c.user_id == user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
