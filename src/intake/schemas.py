"""Request and response bodies of the intake API (pydantic: validated at the edge).

Format rules live here so one request reports every malformed field at once; rules that need
the database (does this theme exist?) are checked in :mod:`intake.interests`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from intake.consent import CURRENT_VERSION, TEXTS
from intake.reference import LANGUAGES, THEMES

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = ("morning", "daytime", "evening")
SLOTS = tuple(f"{d}-{p}" for d in WEEKDAYS for p in PARTS_OF_DAY)
AGE_BANDS = (*(f"{a}-{a + 4}" for a in range(18, 78, 5)), "78+")
GENDERS = ("female", "male", "other", "unspecified")
THEME_SLUGS = tuple(t.slug for t in THEMES)

#: Unicode categories never valid in an address: controls (Cc), format characters (Cf: bidi
#: overrides, zero-width joiners and spaces, BOM), separators (Zl, Zp), unassigned and
#: private-use code points. A lookalike address would otherwise get a reminder to another
#: person's mailbox or hide what staff read on screen.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"})


def _enum_of(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """OpenAPI ``enum`` for a string field whose values are checked by a validator."""
    return {"enum": list(values)}


def _items_enum_of(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"items": {"type": "string", "enum": list(values)}}


def _json_bool(v: object) -> object:
    """Only a JSON ``true``/``false``. ``StrictBool`` alone is not enough: Litestar validates
    with ``strict=False``, which overrides it, and then "yes", "on" and 1 pass as true."""
    if not isinstance(v, bool):
        raise ValueError("must be true or false (a JSON boolean)")
    return v


def _plain_text(v: str) -> str:
    if v.isascii() and v.isprintable():
        return v  # printable ASCII is in none of the forbidden categories (tested)
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in v):
        raise ValueError("contains control, bidirectional or zero-width characters")
    return v


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^(?:\+47|0047)?([49]\d{7})$")


def age_band_start(label: str) -> int:
    return 78 if label == "78+" else int(label.split("-", 1)[0])


def age_band_label(start: int) -> str:
    return "78+" if start >= 78 else f"{start}-{start + 4}"


class Contact(BaseModel):
    """An optional way to be told when a group starts: one e-mail address or one mobile."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=254, examples=["kari@example.no"])
    phone: str | None = Field(
        default=None,
        max_length=20,
        description="Norwegian mobile number",
        examples=["+47 912 34 567"],
    )

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = _plain_text(v).strip()
        if not _EMAIL.match(v):
            raise ValueError("not a valid e-mail address")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        m = _PHONE.match(re.sub(r"[\s\-()]", "", _plain_text(v)))
        if not m:
            raise ValueError("not a Norwegian mobile number (8 digits starting with 4 or 9)")
        return "+47" + m.group(1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Contact:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give either an e-mail address or a mobile number")
        return self

    @property
    def kind(self) -> Literal["email", "sms"]:
        return "email" if self.email else "sms"

    @property
    def value(self) -> str:
        return self.email or self.phone or ""


class Consent(BaseModel):
    """Explicit consent (GDPR art. 9): the words are at GET /api/v1/consent."""

    model_config = ConfigDict(extra="forbid")
    #: Strictly a JSON ``true``: "yes", 1 or "true" are not an explicit act of consent.
    given: StrictBool
    text_version: str = Field(
        max_length=40,
        description="the version of the consent text shown (GET /api/v1/consent)",
        examples=[CURRENT_VERSION],
        json_schema_extra=_enum_of(list(TEXTS)),
    )

    _strict_given = field_validator("given", mode="before")(_json_bool)

    @field_validator("given")
    @classmethod
    def _given(cls, v: bool) -> bool:
        if not v:
            raise ValueError("explicit consent is needed to store an interest")
        return v


class InterestIn(BaseModel):
    """An anonymous registration of interest. No name, address or identity number exists here."""

    model_config = ConfigDict(extra="forbid")
    municipality: str = Field(description="kommunenummer, 4 digits", examples=["4601"])
    organisation: str | None = Field(
        default=None, description="id or slug; needed only when several serve the municipality"
    )
    themes: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="theme slugs in preference order (GET /api/v1/themes)",
        json_schema_extra=_items_enum_of(THEME_SLUGS),
    )
    cross_problem_welcome: bool = False
    age_band: str = Field(
        examples=["33-37"],
        description="five-year band, 18 or older",
        json_schema_extra=_enum_of(AGE_BANDS),
    )
    gender: Literal["female", "male", "other", "unspecified"] | None = None
    same_gender: bool = False
    languages: list[str] = Field(
        default_factory=lambda: ["no"],
        min_length=1,
        max_length=6,
        json_schema_extra=_items_enum_of(list(LANGUAGES)),
    )
    availability: list[str] = Field(
        min_length=1,
        max_length=21,
        examples=[["tue-evening"]],
        description="weekday-part of day",
        json_schema_extra=_items_enum_of(SLOTS),
    )
    digital_welcome: bool = False
    contact: Contact | None = None
    suggestion_messages: bool = Field(
        default=False,
        description="with a contact only: at most one message in 30 days when one small change "
        "in these choices would place the person now, with a link (valid 14 days) to accept it "
        "or to stop these messages",
    )
    suggestion_language: Literal["nb", "nn", "en"] = Field(
        default="nb", description="the language of those messages"
    )
    consent: Consent
    referral_code: str | None = Field(default=None, max_length=20)

    _strict_suggestion_messages = field_validator("suggestion_messages", mode="before")(_json_bool)

    @field_validator("municipality")
    @classmethod
    def _muni(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}", v):
            raise ValueError("a municipality number has 4 digits")
        return v

    @field_validator("age_band")
    @classmethod
    def _age(cls, v: str) -> str:
        if v not in AGE_BANDS:
            raise ValueError("must be one of " + ", ".join(AGE_BANDS) + " (18 or older)")
        return v

    @field_validator("availability")
    @classmethod
    def _slots(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in SLOTS]
        if bad:
            raise ValueError(f"unknown time {bad[0]!r}: use weekday-part, e.g. 'tue-evening'")
        return sorted(set(v), key=SLOTS.index)

    @field_validator("themes", "languages")
    @classmethod
    def _dedupe(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _wishes(self) -> InterestIn:
        if not self.themes and not self.cross_problem_welcome:
            raise ValueError("choose at least one theme or welcome a cross-problem group")
        if self.same_gender and self.gender in (None, "unspecified"):
            raise ValueError("a same-gender group needs a gender")
        if self.suggestion_messages and self.contact is None:
            raise ValueError("suggestion messages need a contact (an e-mail address or a mobile)")
        return self


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: StrictBool

    _strict_accept = field_validator("accept", mode="before")(_json_bool)


class Registered(BaseModel):
    receipt_code: str
    status: str
    organisation: str | None
    served: bool
    region: str
    message: str
    waiting_since: datetime


#: The kinds of :class:`ChoiceChangeIn` (the strings of ``intake.choices.KINDS``).
ChoiceKind = Literal["add_slot", "welcome_digital", "add_language", "welcome_cross_problem"]


class SuggestionOut(BaseModel):
    """One single change in the person's own choices that would place them."""

    kind: ChoiceKind
    value: str | None = Field(
        default=None, description="a slot (add_slot) or a language code (add_language)"
    )
    soon: bool = Field(
        default=False,
        description="false: a group could be proposed with this change at the next matching "
        "run; true: within days (the group waits for one more person, or for the person's "
        "cross-problem wait to end)",
    )
    text: str = Field(description="the change in words, in the language asked for")


class ChoiceChangeIn(BaseModel):
    """One change: add a meeting slot or a language, or welcome a digital or a cross-problem
    group. Choices only widen: nothing is taken away."""

    model_config = ConfigDict(extra="forbid")
    kind: ChoiceKind
    value: str | None = Field(
        default=None,
        max_length=20,
        description="add_slot: a slot such as tue-evening; add_language: a language code such "
        "as en; otherwise leave out",
    )


class ChoicesIn(BaseModel):
    """Changes to a waiting person's own choices, applied together (e.g. one suggestion)."""

    model_config = ConfigDict(extra="forbid")
    changes: list[ChoiceChangeIn] = Field(min_length=1, max_length=10)


class InterestStatus(BaseModel):
    receipt_code: str
    status: str
    organisation: str | None
    served: bool
    themes: list[str]
    cross_problem_welcome: bool
    waiting_since: datetime
    others_waiting_same_theme: int
    contact: str | None = Field(description="masked")
    explanation: str | None = Field(
        default=None,
        description="why no group yet, and the smallest change that would place one now",
    )
    step: str | None = Field(
        default=None,
        description="in a group: proposed|accepted|offered|invited|confirmed|running|"
        "self_running|closed",
    )
    step_text: str | None = None
    meeting_start: datetime | None = None
    meeting_place: str | None = None
    respond_by: datetime | None = None
    can_answer: bool = Field(
        default=False,
        description="true when the group waits for this person's yes or no and we cannot "
        "reach them: answer with POST /api/v1/interests/{code}/answer",
    )
    suggestions: list[SuggestionOut] = Field(
        default_factory=list,
        description="while waiting: every single change in the person's own choices that "
        "would place them, best first; accept one with POST "
        "/api/v1/interests/{code}/choices",
    )
    keep_until: datetime | None = Field(
        default=None,
        description="while waiting: when the registration is erased unless the person shows a "
        "sign of life (a change of choices, or POST /api/v1/interests/{code}/keep); a year "
        "after the last one by default. null in a group: nothing lapses then",
    )
    id: uuid.UUID | None = Field(default=None, exclude=True)


class KeepOut(BaseModel):
    """The answer to "keep me on the list": the registration's new keep-until time."""

    keep_until: datetime = Field(
        description="the registration is erased at this time unless there is a new sign of life"
    )


class ChoicesOut(BaseModel):
    """What a change did: whether anything changed, whether matching ran at once, and the
    person's status afterwards (placed in a proposed group, or the new reason and
    suggestions)."""

    changed: bool
    rechecked: bool = Field(
        description="true when matching ran at once after the change; false when nothing "
        "changed, or another matching run was busy (that run or the next one sees the change)"
    )
    status: InterestStatus


class StaffInterest(BaseModel):
    id: uuid.UUID
    status: str
    municipality: str
    themes: list[str]
    cross_problem_welcome: bool
    age_band: str
    gender: str | None
    languages: list[str]
    availability: list[str]
    digital_welcome: bool
    contact: str | None
    source: str
    waiting_since: datetime
    explanation: str | None = Field(
        default=None, description="for someone waiting: why, and what would place them now"
    )


class ReferralLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    course_kind: Literal["KID", "KIB", "Starthjelp", "other"]
    course_name: str | None = Field(default=None, max_length=200)
    ends_on: date
    target_organisation: str | None = None


class ReferralLink(BaseModel):
    id: uuid.UUID
    code: str
    url: str
    course_kind: str
    ends_on: date
    valid_until: date


class ReferralBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    course_kind: Literal["KID", "KIB", "Starthjelp", "other"]
    course_name: str | None = Field(default=None, max_length=200)
    ends_on: date | None = None
    participants: list[InterestIn] = Field(min_length=1, max_length=200)


class ConsentText(BaseModel):
    """The consent text a sign-up must show, and the version to send back with it."""

    version: str = Field(examples=[CURRENT_VERSION])
    texts: dict[Literal["nb", "nn", "en"], str]


class ProblemField(BaseModel):
    field: str = Field(description="dotted path into the request, e.g. contact.phone")
    message: str
    code: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details: every error this API answers has this body."""

    type: str = Field(examples=["about:blank"])
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemField] | None = Field(
        default=None, description="for 422: each field that is not valid"
    )


class ReferralBatch(BaseModel):
    id: uuid.UUID
    receipt_codes: list[str]


class ReferralOutcome(BaseModel):
    """How the people of one referral fared, in aggregate. A count of 1–4 is ``null`` and named
    in ``suppressed`` (with one more figure where needed, so it cannot be worked out from the
    total): the same rule as the public statistics (``intake.disclosure``)."""

    id: uuid.UUID
    course_kind: str
    total: int | None
    waiting: int | None
    in_progress: int | None
    placed: int | None
    withdrawn: int | None
    lapsed: int | None = Field(
        default=None,
        description="registrations erased after a year without a sign of life while waiting "
        "(counted apart from withdrawn); null when suppressed",
    )
    suppressed: list[str] = Field(
        default_factory=list,
        description="figures hidden because they count fewer than 5 people, or could reveal one",
    )
