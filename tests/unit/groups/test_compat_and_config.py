"""The pure rules of the life cycle: who may take a freed place, and per-organisation meetings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from groups.compat import Person, Seat, fits
from groups.config import Lifecycle, LifecycleConfig, meetings_for
from groups.links import MAC_CHARS, NONCE_CHARS, TOKEN_CHARS, Purpose, _mac

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
SEAT = Seat("sorg", "no", "tue-evening", max_age_span=15, cross_problem_after_days=21)
MEMBERS = [Person(33, "female", False), Person(43, "male", False)]


def _fits(person: Person, seat: Seat = SEAT, **kw: object) -> bool:
    args: dict[str, object] = {
        "themes": ("sorg",),
        "cross_problem_welcome": False,
        "languages": frozenset({"no"}),
        "slots": frozenset({"tue-evening"}),
        "waiting_since": NOW - timedelta(days=5),
    } | kw
    return fits(person, seat=seat, members=MEMBERS, now=NOW, **args)  # type: ignore[arg-type]


def test_a_compatible_person_fits() -> None:
    assert _fits(Person(38, "female", False))


@pytest.mark.parametrize(
    "kw",
    [
        {"themes": ("kreft",)},
        {"languages": frozenset({"es"})},
        {"slots": frozenset({"mon-morning"})},
    ],
)
def test_theme_language_and_slot_must_match(kw: dict[str, object]) -> None:
    assert not _fits(Person(38, "female", False), SEAT, **kw)


def test_age_span_is_kept() -> None:
    assert _fits(Person(48, None, False))  # 33..48 = 15
    assert not _fits(Person(53, None, False))
    assert not _fits(Person(18, None, False))


def test_same_gender_wishes_hold_both_ways() -> None:
    assert not _fits(Person(38, "female", True))  # the group has a man
    women = Seat("sorg", "no", "tue-evening", 15, 21)
    wish = [Person(33, "female", True)]
    assert not fits(
        Person(38, "male", False),
        themes=("sorg",),
        cross_problem_welcome=False,
        languages=frozenset({"no"}),
        slots=frozenset({"tue-evening"}),
        waiting_since=NOW,
        seat=women,
        members=wish,
        now=NOW,
    )


def test_cross_problem_group_needs_welcome_and_waiting_time() -> None:
    across = Seat(None, "no", "tue-evening", 15, 21)
    person = Person(38, "female", False)
    assert not _fits(person, seat=across, cross_problem_welcome=False)
    assert not _fits(person, seat=across, cross_problem_welcome=True)  # waited 5 days only
    assert _fits(
        person, seat=across, cross_problem_welcome=True, waiting_since=NOW - timedelta(days=22)
    )


def test_facilitated_meetings_per_organisation() -> None:
    cfg = LifecycleConfig()
    assert meetings_for({}, cfg) == 3
    assert meetings_for({"facilitated_meetings": 5}, cfg) == 5
    assert meetings_for({"facilitated_meetings": "x"}, cfg) == 3
    assert meetings_for({"facilitated_meetings": 40}, cfg) == 8


def test_lifecycle_refuses_an_empty_secret() -> None:
    from intake.crypto import ContactCipher

    with pytest.raises(ValueError, match="secret"):
        Lifecycle(cipher=ContactCipher(bytes(32)), link_secret="", base_url="http://x")


def test_mac_covers_every_field() -> None:
    import uuid

    a, b = uuid.uuid4(), uuid.uuid4()
    base = _mac("s", Purpose.OFFER_ACCEPT.value, a, b, NOW, "n" * NONCE_CHARS)
    assert len(base) == MAC_CHARS and NONCE_CHARS + MAC_CHARS == TOKEN_CHARS <= 30
    variants = [
        _mac("t", Purpose.OFFER_ACCEPT.value, a, b, NOW, "n" * NONCE_CHARS),
        _mac("s", Purpose.OFFER_DECLINE.value, a, b, NOW, "n" * NONCE_CHARS),
        _mac("s", Purpose.OFFER_ACCEPT.value, b, a, NOW, "n" * NONCE_CHARS),
        _mac("s", Purpose.OFFER_ACCEPT.value, a, b, NOW + timedelta(seconds=1), "n" * NONCE_CHARS),
        _mac("s", Purpose.OFFER_ACCEPT.value, a, b, NOW, "m" * NONCE_CHARS),
    ]
    assert base not in variants


def test_link_families() -> None:
    assert Purpose.OFFER_ACCEPT.family == Purpose.OFFER_DECLINE.family
    assert Purpose.INVITE_ACCEPT.family != Purpose.PLACE_ACCEPT.family
