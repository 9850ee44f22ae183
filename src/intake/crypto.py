"""Encryption of contact data at rest.

A person's e-mail address or phone number is the only thing that makes an interest record
personal data beyond a pseudonymous code, so it never touches disk in clear text. AES-256-GCM
with a random 96-bit nonce per value; the nonce travels in front of the ciphertext. A one-byte
version prefix leaves room to rotate keys without a data migration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12
#: Derives the lookup key from the contact key, so the digest key is never the AES key itself.
_LOOKUP_LABEL = b"samhjelp/contact-lookup/v1"


def normalise_contact(kind: str, value: str) -> str:
    """The form of an address that is digested: e-mail case-folded, phone as ``+47`` digits."""
    return value.strip().lower() if kind == "email" else value.strip()


class ContactCipher:
    """Encrypts and decrypts contact data (e-mail, phone) with one AES-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("contact encryption key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self._lookup_key = hmac.new(key, _LOOKUP_LABEL, hashlib.sha256).digest()

    def lookup_digest(self, kind: str, value: str) -> bytes:
        """A keyed digest of an address: equal addresses give equal digests, so a registration
        can be found by the address a person types, yet the column reveals nothing without the
        key (a plain hash of an e-mail address or an 8-digit number is easily reversed)."""
        message = f"{kind}:{normalise_contact(kind, value)}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).digest()

    def encrypt(self, plaintext: str, *, context: bytes = b"contact") -> bytes:
        """Encrypt one value; ``context`` is bound as associated data so a value cannot be
        moved to another column unnoticed."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), context)

    def decrypt(self, token: bytes, *, context: bytes = b"contact") -> str:
        """Decrypt a value made by :meth:`encrypt`."""
        if not token.startswith(_VERSION):
            raise ValueError("unknown contact ciphertext version")
        nonce = token[1 : 1 + _NONCE_BYTES]
        return self._aead.decrypt(nonce, token[1 + _NONCE_BYTES :], context).decode("utf-8")


def parse_key(text: str) -> bytes:
    """Decode a key given as URL-safe base64 (44 characters) or 64 hex digits."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.urlsafe_b64decode(text)
    except ValueError as exc:
        raise ValueError("contact key must be 32 bytes as base64 or hex") from exc
    if len(raw) != 32:
        raise ValueError("contact key must be 32 bytes as base64 or hex")
    return raw


def load_or_create_key_file(path: Path) -> bytes:
    """Return the key in ``path``, creating it (mode 0600) on first use.

    Only the embedded development default uses this: production passes the key explicitly.
    """
    if path.exists():
        return parse_key(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.urlsafe_b64encode(key).decode())
    return key
