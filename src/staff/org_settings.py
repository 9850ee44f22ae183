"""An organisation's settings as the console edits them: contact, catchment, group rules,
themes offered, API keys. Each change returns the field problems a form shows next to the
field (``{field: message}``), or applies it; the handlers audit and redirect.

Group rules are stored as overrides (``organisation.rules``) of the defaults in
:class:`matching.model.Rules` and the life cycle's facilitated meetings: a field left empty
means "the default", so a later change of a default reaches every organisation that did not
choose otherwise.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups.timing import LifecycleConfig
from intake.reference import CROSS_PROBLEM, THEMES
from intake.registration import AREAS
from intake.registry import create_api_key
from intake.tables import api_key, catchment, county, interest, municipality, organisation
from matching.model import Rules

Gettext = Callable[[str], str]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RuleSpec:
    """One group rule the console shows: its key in ``organisation.rules`` and its bounds."""

    key: str
    label: str  # English msgid
    hint: str  # English msgid
    low: int
    high: int
    boolean: bool = False


def _(message: str) -> str:
    """Marks an English msgid for extraction (babel.cfg); the page translates it where shown."""
    return message


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        "min_size", _("Smallest group"), _("People; smaller groups tend to fall apart."), 2, 20
    ),
    RuleSpec("target_size", _("Size aimed for"), _("People."), 2, 20),
    RuleSpec("max_size", _("Largest group"), _("People."), 2, 20),
    RuleSpec(
        "max_age_span", _("Largest age span"), _("Years between the youngest and oldest."), 0, 60
    ),
    RuleSpec(
        "cross_problem_after_days",
        _("Offer a group across problems after"),
        _("Days of waiting, for people who welcome one."),
        0,
        365,
    ),
    RuleSpec(
        "min_size_after_days",
        _("Start with the smallest group after"),
        _("Days the longest-waiting member has waited."),
        0,
        365,
    ),
    RuleSpec(
        "below_target_after_days",
        _("Start a group below the size aimed for after"),
        _(
            "Days the longest-waiting member has waited. 0 proposes it at once: it then takes "
            "more people until shortly before its first meeting."
        ),
        0,
        365,
    ),
    RuleSpec(
        "facilitated_meetings", _("Facilitated meetings"), _("Meetings a facilitator leads."), 1, 8
    ),
    RuleSpec(
        "small_group_meets_after_days",
        _("A group of the smallest size meets no earlier than"),
        _(
            "Days after it is proposed, so that more people can join first (they are offered a "
            "place until shortly before the first meeting). 0: as soon as the facilitator can."
        ),
        0,
        60,
    ),
    RuleSpec(
        "pool_digital_across_catchments",
        _("Digital groups with people from other catchments"),
        _("Whether your people may join digital groups across catchments."),
        0,
        1,
        boolean=True,
    ),
)


def rule_defaults(
    facilitated_meetings: int, fill_wait_days: int = LifecycleConfig().fill_wait.days
) -> dict[str, Any]:
    """The default of every rule the console shows (the life cycle's for the meetings and the
    first meeting of a small group)."""
    defaults: dict[str, Any] = dataclasses.asdict(Rules())
    defaults["facilitated_meetings"] = facilitated_meetings
    defaults["small_group_meets_after_days"] = fill_wait_days
    return {spec.key: defaults[spec.key] for spec in RULES}


def parse_rules(
    form: Mapping[str, str], current: Mapping[str, Any], defaults: Mapping[str, Any], _: Gettext
) -> tuple[dict[str, Any], dict[str, str]]:
    """The new ``organisation.rules`` from the form, or the problems by field. Keys the console
    does not show (set on the command line) are kept."""
    errors: dict[str, str] = {}
    chosen: dict[str, Any] = {}
    for spec in RULES:
        raw = (form.get(spec.key) or "").strip()
        if spec.boolean:
            if raw in ("yes", "no"):
                chosen[spec.key] = raw == "yes"
            continue
        if not raw:
            continue
        if not re.fullmatch(r"\d{1,4}", raw):
            errors[spec.key] = _("Give a whole number.")
        elif not spec.low <= int(raw) <= spec.high:
            errors[spec.key] = _("Give a number from %(low)d to %(high)d.") % {
                "low": spec.low,
                "high": spec.high,
            }
        else:
            chosen[spec.key] = int(raw)
    if not errors:
        size = {k: chosen.get(k, defaults[k]) for k in ("min_size", "target_size", "max_size")}
        if size["min_size"] > size["max_size"]:
            errors["min_size"] = _(
                "The smallest group cannot be larger than the largest (%(n)d)."
            ) % {"n": size["max_size"]}
        elif not size["min_size"] <= size["target_size"] <= size["max_size"]:
            errors["target_size"] = _(
                "The size aimed for must be from the smallest (%(low)d) to the largest (%(high)d)."
            ) % {"low": size["min_size"], "high": size["max_size"]}
    kept = {k: v for k, v in current.items() if k not in {s.key for s in RULES}}
    overrides = {k: v for k, v in chosen.items() if v != defaults[k]}
    return {**kept, **overrides}, errors


def parse_contact(form: Mapping[str, str], _: Gettext) -> tuple[dict[str, Any], dict[str, str]]:
    """Contact and reply-to address, the coordinator's address, data controller, privacy
    contact. Empty means "none" (the privacy page then falls back, see registry.controller_of)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in ("contact_email", "coordinator_email", "controller_name", "privacy_contact"):
        value = (form.get(key) or "").strip()
        if len(value) > 200:
            errors[key] = _("Use at most 200 characters.")
        elif key.endswith("_email") and value and not _EMAIL.match(value):
            errors[key] = _("Give an e-mail address like name@example.no.")
        values[key] = value or None
    return values, errors


def theme_choices(lang: str) -> list[tuple[str, str]]:
    """(slug, name) of every theme an organisation may offer, the cross-problem group first."""
    name = {"nb": "nb", "nn": "nn", "en": "en"}[lang]
    return [(CROSS_PROBLEM.slug, getattr(CROSS_PROBLEM, name))] + [
        (t.slug, getattr(t, name)) for t in THEMES
    ]


def parse_themes(chosen: list[str], _: Gettext) -> tuple[list[str] | None, dict[str, str]]:
    """The themes offered: None when all are (the default, so new themes are offered too)."""
    known = [slug for slug, _name in theme_choices("en")]
    picked = [slug for slug in known if slug in chosen]
    if not picked:
        return None, {"themes": _("Choose at least one theme.")}
    return (None if len(picked) == len(known) else picked), {}


async def org_region_municipalities(db: AsyncSession, region_slug: str) -> list[tuple[str, str]]:
    """(number, name) of the municipalities of a region, for the catchment's select."""
    rows = await db.execute(
        select(municipality.c.number, municipality.c.name)
        .join(county, county.c.number == municipality.c.county_number)
        .where(county.c.region_slug == region_slug)
        .order_by(municipality.c.name)
    )
    return [(r.number, r.name) for r in rows]


async def catchment_of(db: AsyncSession, org_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await db.execute(
        select(municipality.c.number, municipality.c.name)
        .join(catchment, catchment.c.municipality_number == municipality.c.number)
        .where(catchment.c.organisation_id == org_id)
        .order_by(municipality.c.name)
    )
    return [(r.number, r.name) for r in rows]


async def add_municipality(
    db: AsyncSession, org_id: uuid.UUID, region_slug: str, number: str, _: Gettext
) -> tuple[dict[str, str], int]:
    """Add one municipality of the organisation's region to its catchment. The people already
    waiting there with no organisation (the region's unmet demand) now wait with this one:
    that is what serving a municipality means, and otherwise they would stay invisible to the
    organisation that just took it on. Returns the problems, and how many people moved."""
    allowed = dict(await org_region_municipalities(db, region_slug))
    if number not in allowed:
        return {"municipality": _("Choose a municipality of your region.")}, 0
    if number in dict(await catchment_of(db, org_id)):
        return {"municipality": _("This municipality is in the catchment already.")}, 0
    await db.execute(insert(catchment).values(organisation_id=org_id, municipality_number=number))
    AREAS.invalidate()  # this process places sign-ups by catchment: re-read it now
    moved = await db.execute(
        update(interest)
        .where(
            interest.c.organisation_id.is_(None),
            interest.c.municipality_number == number,
            interest.c.status == "waiting",
        )
        .values(organisation_id=org_id)
    )
    return {}, int(moved.rowcount)  # type: ignore[attr-defined]


async def remove_municipality(db: AsyncSession, org_id: uuid.UUID, number: str) -> bool:
    done = await db.execute(
        delete(catchment).where(
            catchment.c.organisation_id == org_id, catchment.c.municipality_number == number
        )
    )
    AREAS.invalidate()
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def update_organisation(db: AsyncSession, org_id: uuid.UUID, **values: Any) -> None:
    await db.execute(update(organisation).where(organisation.c.id == org_id).values(**values))


# --- API keys -------------------------------------------------------------------------------

KEY_ROLES = ("staff", "referrer")
#: Days a new key may live: a key is a password held by a program, so it must be renewed.
KEY_DAYS = (30, 90, 180, 365)


@dataclass(frozen=True)
class KeyRow:
    id: uuid.UUID
    label: str | None
    role: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


async def keys_of(db: AsyncSession, org_id: uuid.UUID) -> list[KeyRow]:
    rows = await db.execute(
        select(
            api_key.c.id, api_key.c.label, api_key.c.role, api_key.c.prefix,
            api_key.c.created_at, api_key.c.expires_at, api_key.c.last_used_at,
            api_key.c.revoked_at,
        )
        .where(api_key.c.organisation_id == org_id)
        .order_by(api_key.c.revoked_at.is_not(None), api_key.c.created_at.desc())
    )  # fmt: skip
    return [KeyRow(**r._mapping) for r in rows]


def parse_key(form: Mapping[str, str], _: Gettext) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    label = (form.get("label") or "").strip()
    role = form.get("role") or ""
    days = form.get("days") or ""
    if not label:
        errors["label"] = _("Say what the key is for, e.g. the program that uses it.")
    elif len(label) > 80:
        errors["label"] = _("Use at most 80 characters.")
    if role not in KEY_ROLES:
        errors["role"] = _("Choose what the key may do.")
    if not days.isdigit() or int(days) not in KEY_DAYS:
        errors["days"] = _("Choose how long the key works.")
    return {"label": label, "role": role, "days": int(days) if days.isdigit() else 0}, errors


async def create_key(
    db: AsyncSession, org_id: uuid.UUID, *, label: str, role: str, days: int, now: datetime
) -> tuple[str, uuid.UUID]:
    """A new key (its secret, shown once) and its id."""
    secret = await create_api_key(
        db, organisation_id=org_id, role=role, label=label, expires_at=now + timedelta(days=days)
    )
    key_id = await db.scalar(select(api_key.c.id).where(api_key.c.prefix == secret.split("_")[1]))
    assert key_id is not None
    return secret, key_id


async def revoke_key(db: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID, now: datetime) -> bool:
    """Revoke a key of this organisation (False: no such live key here)."""
    done = await db.execute(
        update(api_key)
        .where(
            api_key.c.id == key_id,
            api_key.c.organisation_id == org_id,
            api_key.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
