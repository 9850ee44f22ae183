"""Domain rules of intake that need no database."""

from __future__ import annotations

import math

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from intake import receipt
from intake.crypto import ContactCipher, parse_key
from intake.interests import mask_contact
from intake.reference import fold, search_key
from intake.schemas import Contact, InterestIn, age_band_label, age_band_start
from samhjelp.settings import Settings


def test_receipt_code_is_unambiguous_and_has_40_bits() -> None:
    assert not set("0O1IL") & set(receipt.ALPHABET)
    assert receipt.BITS >= 40
    assert math.isclose(receipt.BITS, 10 * math.log2(len(receipt.ALPHABET)))
    codes = {receipt.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert len(code) == 11 and code[5] == "-"
        assert set(code.replace("-", "")) <= set(receipt.ALPHABET)


def test_receipt_code_letters_are_equally_likely(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every byte value below the cut maps to a letter exactly as often as any other; the bytes
    # above it (which would favour the first letters) are drawn again, never used.
    cut = receipt._UNBIASED
    per_letter = {ch: sum(1 for b in range(cut) if receipt.ALPHABET[b % 30] == ch) for ch in "2Z"}
    assert cut % len(receipt.ALPHABET) == 0 and set(per_letter.values()) == {cut // 30}
    draws = iter([bytes([255, 250, 240] * 5 + [0]), bytes(range(1, 17))])
    monkeypatch.setattr(receipt, "_bytes", lambda n: next(draws))
    # Only byte 0 of the first draw is below the cut; the second draw fills the other nine.
    assert receipt.new_code() == "23456-789AB"


def test_receipt_code_normalises_what_people_type() -> None:
    code = receipt.new_code()
    assert receipt.normalise(code.lower().replace("-", " ")) == code
    assert receipt.code_hash(code.lower()) == receipt.code_hash(code)
    with pytest.raises(receipt.InvalidReceiptCode):
        receipt.normalise("OOOOO-IIIII")
    with pytest.raises(receipt.InvalidReceiptCode):
        receipt.normalise(code[:-1])


def test_cipher_round_trip_and_tamper_detection() -> None:
    cipher = ContactCipher(bytes(32))
    token = cipher.encrypt("kari@example.no", context=b"a")
    assert b"kari" not in token
    assert cipher.decrypt(token, context=b"a") == "kari@example.no"
    assert cipher.encrypt("x") != cipher.encrypt("x")  # random nonce
    with pytest.raises(InvalidTag):
        cipher.decrypt(token, context=b"b")
    with pytest.raises(InvalidTag):
        cipher.decrypt(token[:-1] + bytes([token[-1] ^ 1]), context=b"a")
    with pytest.raises(ValueError, match="32 bytes"):
        ContactCipher(b"short")
    with pytest.raises(ValueError):
        parse_key("not-a-key")


def test_masked_contact_reveals_little() -> None:
    assert mask_contact("email", "kari.nordmann@example.no") == "k***@e***.no"
    assert mask_contact("sms", "+4791234567") == "+47 *** ** 567"


def test_phone_is_normalised_and_foreign_numbers_refused() -> None:
    assert Contact(phone="912 34 567").phone == "+4791234567"
    assert Contact(phone="+47 412-34-567").phone == "+4741234567"
    for bad in ("12345678", "+46701234567", "9123456"):
        with pytest.raises(ValidationError):
            Contact(phone=bad)
    with pytest.raises(ValidationError):
        Contact(email="not-an-address")
    with pytest.raises(ValidationError):
        Contact(email="a@b.no", phone="91234567")


def test_age_bands_are_five_years_from_18() -> None:
    assert age_band_start("18-22") == 18
    assert age_band_start("78+") == 78
    assert age_band_label(23) == "23-27"
    base = {
        "municipality": "0301",
        "themes": ["sorg"],
        "availability": ["mon-evening"],
        "consent": {"given": True, "text_version": "v"},
    }
    with pytest.raises(ValidationError, match="age_band"):
        InterestIn.model_validate(base | {"age_band": "15-19"})
    with pytest.raises(ValidationError, match="theme"):
        InterestIn.model_validate(base | {"age_band": "18-22", "themes": []})
    ok = InterestIn.model_validate(
        base | {"age_band": "18-22", "themes": [], "cross_problem_welcome": True}
    )
    assert ok.cross_problem_welcome


def test_search_key_folds_norwegian_and_sami_letters() -> None:
    assert fold("Tromsø") == "tromso"
    assert fold("Ålesund") == "alesund"
    assert search_key("Guovdageaidnu - Kautokeino") == "guovdageaidnu kautokeino"
    assert search_key("Porsanger - Porsáŋgu - Porsanki") == "porsanger porsangu porsanki"


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="SAMHJELP_CONTACT_KEY"):
        Settings(environment="production", DATABASE_URL="postgresql://db/x", link_secret="x" * 40)
    with pytest.raises(ValidationError, match="SAMHJELP_LINK_SECRET"):
        Settings(
            environment="production",
            DATABASE_URL="postgresql://db/x",
            contact_key="changeme",
            link_secret="changeme",
        )
    ok = Settings(DATABASE_URL="postgres://u@h/db")
    assert ok.database_url == "postgresql+asyncpg://u@h/db"
