"""Receipt codes (kvitteringskode): the person's only key to their anonymous record.

Ten characters from a 30-letter alphabet without 0/O, 1/I/L (and U, which people misread as V),
printed as two groups of five: ``K7M4Q-XR9TB``. That is log2(30**10) ≈ 49.1 bits of randomness,
short enough to read over the phone. Only a SHA-256 of the code is stored.
"""

from __future__ import annotations

import hashlib
import math
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10
BITS = LENGTH * math.log2(len(ALPHABET))


class InvalidReceiptCode(ValueError):
    """The text cannot be a receipt code (wrong length or letters)."""


#: Bytes below this map onto the alphabet without bias (240 = 8 × 30); the rest are drawn again.
_UNBIASED = 256 - 256 % len(ALPHABET)


def new_code() -> str:
    """A fresh random code, formatted for reading aloud.

    One ``os.urandom`` call per code, not one per letter (``secrets.choice`` draws each letter
    separately, ~5 % of a registration's CPU): bytes are mapped onto the alphabet by rejection
    sampling, so every letter stays equally likely.
    """
    letters: list[str] = []
    while len(letters) < LENGTH:
        letters.extend(ALPHABET[b % len(ALPHABET)] for b in _bytes(LENGTH + 6) if b < _UNBIASED)
    raw = "".join(letters[:LENGTH])
    return f"{raw[:5]}-{raw[5:]}"


def _bytes(n: int) -> bytes:
    return secrets.token_bytes(n)


def normalise(text: str) -> str:
    """Canonical form of what a person typed: case, spaces and dashes do not matter."""
    raw = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        raise InvalidReceiptCode(text)
    return f"{raw[:5]}-{raw[5:]}"


def code_hash(code: str) -> bytes:
    return hashlib.sha256(normalise(code).encode()).digest()
