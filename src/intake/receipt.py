"""Receipt codes (kvitteringskode): the person's only key to their anonymous record.

Ten characters from a 31-letter alphabet without 0/O, 1/I/L (and U, which people misread as V),
printed as two groups of five: ``K7M4Q-XR9TB``. That is log2(31**10) ≈ 49.5 bits of randomness,
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


def new_code() -> str:
    """A fresh random code, formatted for reading aloud."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise(text: str) -> str:
    """Canonical form of what a person typed: case, spaces and dashes do not matter."""
    raw = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        raise InvalidReceiptCode(text)
    return f"{raw[:5]}-{raw[5:]}"


def code_hash(code: str) -> bytes:
    return hashlib.sha256(normalise(code).encode()).digest()
