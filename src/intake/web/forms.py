"""The sign-up form: from posted fields to :class:`InterestIn`, and problems back to fields.

The form speaks the person's language, the API speaks English to programs: so every problem the
schema or the service reports is mapped here to a *form field* and a translated, plain message
that says what to do. Values are echoed back exactly as typed, so nothing is lost on an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from pydantic import ValidationError

from intake.consent import CURRENT_VERSION
from intake.errors import FieldProblem
from intake.reference import CROSS_PROBLEM
from intake.schemas import InterestIn
from intake.web.i18n import Translator

#: Form field → id of the first control, where the error summary's link puts the focus.
ANCHORS = {
    "municipality": "municipality",
    "organisation": "organisation-1",
    "themes": "theme-" + CROSS_PROBLEM.slug,
    "age_band": "age_band",
    "gender": "gender-female",
    "languages": "lang-no",
    "availability": "slot-mon-morning",
    "email": "email",
    "phone": "phone",
    "suggestion_messages": "suggestion_messages",
    "consent": "consent",
    "code": "code",
}

#: The order of fields on the page: the error summary lists problems in this order.
ORDER = tuple(ANCHORS)


def described(errors: dict[str, str], name: str, extra: str = "") -> Markup:
    """``aria-describedby``/``aria-invalid`` for a control: its hint plus its error, if any."""
    ids = [i for i in (extra, f"{name}-error" if errors.get(name) else "") if i]
    out = f' aria-describedby="{" ".join(ids)}"' if ids else ""
    if errors.get(name):
        out += ' aria-invalid="true"'
    return Markup(out)  # noqa: S704 - ids are our own field names, never user input


def anchor(name: str) -> str:
    """The id of a field's first control (the error summary links there)."""
    return ANCHORS.get(name, name)


@dataclass
class SignupForm:
    """What the person posted, kept as typed (strings and lists) for re-display."""

    municipality: str = ""
    organisation: str = ""
    themes: list[str] = field(default_factory=list)
    age_band: str = ""
    gender: str = ""
    same_gender: bool = False
    languages: list[str] = field(default_factory=lambda: ["no"])
    availability: list[str] = field(default_factory=list)
    digital_welcome: bool = False
    email: str = ""
    phone: str = ""
    suggestion_messages: bool = False
    #: The page's language: the language of suggestion messages, if the person opts in.
    message_language: str = "nb"
    consent: bool = False
    consent_version: str = CURRENT_VERSION
    ref: str = ""
    honeypot: str = ""

    @classmethod
    def parse(cls, single: dict[str, str], multi: dict[str, list[str]]) -> SignupForm:
        """Build from a form body (``single``: first value per name; ``multi``: all values)."""

        def text(name: str, limit: int = 254) -> str:
            return single.get(name, "").strip()[:limit]

        return cls(
            municipality=text("municipality", 4),
            organisation=text("organisation", 80),
            themes=multi.get("themes", [])[:25],
            age_band=text("age_band", 10),
            gender=text("gender", 20),
            same_gender=single.get("same_gender") == "yes",
            languages=multi.get("languages", [])[:25],
            availability=multi.get("availability", [])[:25],
            digital_welcome=single.get("digital_welcome") == "yes",
            email=text("email"),
            phone=text("phone", 30),
            suggestion_messages=single.get("suggestion_messages") == "yes",
            consent=single.get("consent") == "yes",
            consent_version=text("consent_version", 40) or CURRENT_VERSION,
            ref=text("ref", 20),
            honeypot=single.get("website", ""),
        )

    def payload(self) -> dict[str, Any]:
        """The API body this form stands for (validated by :class:`InterestIn`)."""
        contact: dict[str, str] | None = None
        if self.email or self.phone:
            contact = {}
            if self.email:
                contact["email"] = self.email
            if self.phone:
                contact["phone"] = self.phone
        return {
            "municipality": self.municipality,
            "organisation": self.organisation or None,
            "themes": [t for t in self.themes if t != CROSS_PROBLEM.slug][:5],
            "cross_problem_welcome": CROSS_PROBLEM.slug in self.themes,
            "age_band": self.age_band,
            "gender": self.gender or None,
            "same_gender": self.same_gender,
            "languages": self.languages,
            "availability": self.availability,
            "digital_welcome": self.digital_welcome,
            "contact": contact,
            "suggestion_messages": self.suggestion_messages,
            "suggestion_language": (
                self.message_language if self.message_language in ("nb", "nn", "en") else "nb"
            ),
            "consent": {"given": self.consent, "text_version": self.consent_version},
            "referral_code": self.ref or None,
        }


class Messages:
    """Plain, translated messages per form field; each says what to do, not what is wrong."""

    def __init__(self, t: Translator) -> None:
        _ = t.gettext
        self.by_field = {
            "municipality": _("Choose the municipality you live in."),
            "organisation": _("Several places start groups in your municipality. Choose one."),
            "themes": _("Choose at least one theme, or a group across problems."),
            "age_band": _("Choose your age. Groups are for people aged 18 or over."),
            "gender": _("To ask for a group of the same gender, choose your gender."),
            "languages": _("Choose at least one language you can talk in."),
            "availability": _("Choose at least one time when you can meet."),
            "email": _("Write the e-mail address like name@example.no."),
            "phone": _("Write a Norwegian mobile number with 8 digits, like 912 34 567."),
            "consent": _("To sign up, tick the box to agree that we store what you entered."),
            "suggestion_messages": _(
                "To get these messages, give an e-mail address or a mobile number above, or "
                "untick the box."
            ),
        }
        self.both_contacts = _("Give either an e-mail address or a mobile number, not both.")
        self.not_serving = _("This place does not start groups in your municipality. Choose one.")


def _field_of(loc: tuple[int | str, ...], message: str) -> str:
    """The form field a pydantic error location points at."""
    head = str(loc[0]) if loc else ""
    if head == "contact":
        return str(loc[1]) if len(loc) > 1 and loc[1] in ("email", "phone") else "email"
    if head == "consent":
        return "consent"
    if head == "cross_problem_welcome":
        return "themes"
    if head == "same_gender":
        return "gender"
    if head in ANCHORS:
        return head
    # Model-level rules carry no location; their English message names the subject.
    if "same-gender" in message:
        return "gender"
    if "suggestion messages" in message:
        return "suggestion_messages"
    return "themes"


def schema_errors(exc: ValidationError, messages: Messages) -> dict[str, str]:
    """Map a pydantic validation error to one translated message per form field."""
    errors: dict[str, str] = {}
    for item in exc.errors():
        name = _field_of(tuple(item["loc"]), str(item.get("msg", "")))
        if name == "email" and "either" in str(item.get("msg", "")):
            errors.setdefault("email", messages.both_contacts)
        errors.setdefault(name, messages.by_field.get(name, messages.by_field["themes"]))
    return ordered(errors)


def service_errors(problems: Iterable[FieldProblem], messages: Messages) -> dict[str, str]:
    """Map the service's field problems (unknown municipality, choose an organisation …)."""
    errors: dict[str, str] = {}
    for p in problems:
        name = p.field.split("[", 1)[0].split(".", 1)[0]
        if name == "organisation" and p.code == "not_serving":
            errors.setdefault(name, messages.not_serving)
        elif name in messages.by_field:
            errors.setdefault(name, messages.by_field[name])
        elif name == "consent":
            errors.setdefault("consent", messages.by_field["consent"])
    return ordered(errors)


def ordered(errors: dict[str, str]) -> dict[str, str]:
    """Errors in page order, so the summary reads top to bottom like the form."""
    return {k: errors[k] for k in sorted(errors, key=lambda k: ORDER.index(k))}


def validate(form: SignupForm, messages: Messages) -> tuple[InterestIn | None, dict[str, str]]:
    """The schema check alone (no database): a valid :class:`InterestIn` or errors."""
    try:
        data = InterestIn.model_validate(form.payload())
    except ValidationError as exc:
        errors = schema_errors(exc, messages)
        # pydantic runs the model-level rules (a theme or cross-problem; a gender for a
        # same-gender group) only once every field is valid: check them here too, so the first
        # round names every missing field instead of revealing the theme in a second round.
        if not form.themes:
            errors.setdefault("themes", messages.by_field["themes"])
        if form.same_gender and form.gender in ("", "unspecified"):
            errors.setdefault("gender", messages.by_field["gender"])
        if form.email and form.phone:
            errors["email"] = messages.both_contacts
        if form.suggestion_messages and not (form.email or form.phone):
            errors.setdefault("suggestion_messages", messages.by_field["suggestion_messages"])
        return None, ordered(errors)
    return data, {}
