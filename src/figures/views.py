"""What the statistics page shows for one area, in the page's language: key figures, charts and
their tables. Built from :class:`figures.read.AreaFigures` only (protected cells), so the staff
console can render the same partial (``_area_figures.html``) from the same function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from markupsafe import Markup

from figures.catalogue import TABLES
from figures.charts import Bar, bar_chart
from figures.read import AreaFigures, Value
from intake.reference import CROSS_PROBLEM, THEMES
from intake.web.i18n import Translator
from matching.explain import Locale, language_name


@dataclass(frozen=True, slots=True)
class KeyFigure:
    label: str
    value: Value


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    caption: str
    column: str  # heading of the label column of the table
    unit: str  # heading of the value column
    rows: list[Bar]


@dataclass(frozen=True, slots=True)
class OutcomeTable:
    """What became of a month's sign-ups, by one breakdown: a row per category (sign-ups,
    placed, withdrawn, lapsed), every figure protected like any other cell."""

    table_id: str  # 'outcomes-by-source', the section's id
    caption: str
    column: str  # heading of the category column
    rows: list[tuple[str, list[Value]]]


#: The figures of an outcome table's row, in its columns' order.
OUTCOME_COLUMNS = ("signups", "placed", "withdrawn", "lapsed")


@dataclass
class AreaView:
    title: str
    month: str | None
    hidden: str  # the word shown for a suppressed figure
    key_figures: list[KeyFigure] = field(default_factory=list)
    snapshot: list[KeyFigure] = field(default_factory=list)
    groups: list[KeyFigure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    outcomes: list[OutcomeTable] = field(default_factory=list)
    #: The outcome tables' column headings (sign-ups, placed, withdrawn, lapsed).
    outcome_columns: list[str] = field(default_factory=list)


def _theme_names(lang: str) -> dict[str, str]:
    names = {f"theme:{t.slug}": getattr(t, lang) for t in (*THEMES, CROSS_PROBLEM)}
    return names


def _chart(
    chart_id: str, title: str, desc: str, column: str, unit: str, bars: list[Bar], hidden: str
) -> Chart:
    return Chart(bar_chart(chart_id, title, desc, bars, hidden), title, column, unit, bars)


def _ranked(bars: list[Bar]) -> list[Bar]:
    """Largest first; hidden figures after the shown ones (their order would tell their size,
    so they are listed by name)."""
    shown = sorted((b for b in bars if not b.suppressed), key=lambda b: (-(b.value or 0), b.label))
    return shown + sorted((b for b in bars if b.suppressed), key=lambda b: b.label)


def _source_names(t: Translator) -> dict[str, str]:
    return {
        "source:self": t.gettext("Signed up themselves"),
        "source:staff": t.gettext("Added by staff"),
        "source:referral:other": t.gettext("Referred (other course)"),
    }


def _source_label(category: str, names: dict[str, str], t: Translator) -> str:
    if category in names:
        return names[category]
    kind = category.removeprefix("source:referral:")
    if kind != category:  # a course kind: KID, KIB, Starthjelp …
        return t.gettext("Referred after a course (%(kind)s)", kind=kind)
    return category.split(":", 1)[-1]


def _outcomes(
    figures: AreaFigures, dimension: str, caption: str, column: str, label: Callable[[str], str]
) -> OutcomeTable | None:
    """The area's sign-ups of the month by ``dimension`` and what became of them, a row per
    category with sign-ups (shown or hidden), in the categories' order (a fixed order says
    nothing about hidden figures)."""
    tables = [f"{m}-by-{dimension}" for m in OUTCOME_COLUMNS]
    if not all(t in TABLES and figures.kind in TABLES[t].levels for t in tables):
        return None
    f = figures.figures
    cats = sorted(f.get(tables[0], {}))
    if not cats:
        return None
    rows = [(label(c), [f.get(t, {}).get(c, Value(0)) for t in tables]) for c in cats]
    return OutcomeTable(f"outcomes-by-{dimension}", caption, column, rows)


def _locale(lang: str) -> Locale:
    return "nn" if lang == "nn" else "en" if lang == "en" else "nb"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _age_order(category: str) -> int:
    """'age:18-22' → 18, 'age:78+' → 78 (unknown forms last)."""
    digits = category.split(":", 1)[-1].split("-")[0].rstrip("+")
    return int(digits) if digits.isdigit() else 999


def area_view(
    figures: AreaFigures, *, name: str, part_names: dict[str, str], t: Translator
) -> AreaView:
    """The page's model of one area: every number comes from ``figures``."""
    hidden = t.gettext("hidden")
    view = AreaView(title=name, month=figures.month, hidden=hidden)
    f = figures.figures

    def _has(table: str) -> bool:
        return figures.kind in TABLES[table].levels

    def cell(table: str) -> Value | None:
        """The area's figure, zero if not stored; None where the table has no such area."""
        return f.get(table, {}).get("all", Value(0)) if _has(table) else None

    for table, label in (
        ("signups", t.gettext("Sign-ups")),
        ("placed", t.gettext("Of these, placed in a group")),
        ("withdrawn", t.gettext("Of these, withdrawn")),
        ("lapsed", t.gettext("Of these, lapsed (their registration ran out)")),
        ("unmet", t.gettext("Unmet demand: sign-ups where no organisation serves")),
    ):
        v = cell(table)
        if v is not None:
            view.key_figures.append(KeyFigure(label, v))
    for cat, label in (
        ("median", t.gettext("Weeks to placement, median")),
        ("p75", t.gettext("Weeks within which 75 % were placed")),
        ("p90", t.gettext("Weeks within which 90 % were placed")),
    ):
        if _has("time-to-placement"):
            got = f.get("time-to-placement", {}).get(cat)
            # No placed person behind it: nothing to say (not a hidden figure).
            if got is not None:
                view.key_figures.append(KeyFigure(label, got))
    for table, label in (
        ("waiting", t.gettext("Waiting now")),
        ("no-facilitator", t.gettext("Waiting now with no facilitator for their theme")),
    ):
        v = cell(table)
        if v is not None:
            view.snapshot.append(KeyFigure(label, v))
    if _has("groups"):
        for state, label in (
            ("proposed", t.gettext("Groups proposed")),
            ("started", t.gettext("Of these, started")),
            ("self_running", t.gettext("Of these, running on their own")),
            ("lapsed", t.gettext("Of these, lapsed before they started")),
        ):
            view.groups.append(KeyFigure(label, f.get("groups", {}).get(state, Value(0))))
    if figures.series and _has("signups"):
        bars = [Bar(p, v.value, v.suppressed) for p, v in figures.series]
        view.charts.append(
            _chart(
                "chart-months",
                t.gettext("Sign-ups by month in %(area)s", area=name),
                t.gettext(
                    "Bar chart of sign-ups in each of the last %(n)s months, oldest first. "
                    "The same figures are in the table below.",
                    n=len(bars),
                ),
                t.gettext("Month of sign-up"),
                t.gettext("People"),
                bars,
                hidden,
            )
        )
    themes = {k: v for k, v in f.get("waiting-by-theme", {}).items()}
    if themes:
        names = _theme_names(t.lang)
        bars = _ranked(
            [
                Bar(names.get(k, k.split(":", 1)[-1]), v.value, v.suppressed)
                for k, v in themes.items()
            ]
        )
        view.charts.append(
            _chart(
                "chart-themes",
                t.gettext("Waiting now in %(area)s, by theme", area=name),
                t.gettext(
                    "Ranked bar chart: the themes people wait for, most waiting first. A "
                    "person may choose several themes. The same figures are in the table "
                    "below."
                ),
                t.gettext("Theme"),
                t.gettext("People"),
                bars,
                hidden,
            )
        )
    ages = f.get("waiting-by-age", {})
    if ages:
        # In the bands' own order, youngest first: a fixed order tells nothing about hidden
        # figures (a ranking would).
        bars = [
            Bar(k.split(":", 1)[-1].replace("-", "–"), v.value, v.suppressed)
            for k, v in sorted(ages.items(), key=lambda kv: _age_order(kv[0]))
        ]
        view.charts.append(
            _chart(
                "chart-ages",
                t.gettext("Waiting now in %(area)s, by age band", area=name),
                t.gettext(
                    "Bar chart of the people waiting now in each age band, youngest first. "
                    "The same figures are in the table below."
                ),
                t.gettext("Age band"),
                t.gettext("People"),
                bars,
                hidden,
            )
        )
    view.outcome_columns = [
        t.gettext("Signed up"),  # words that wrap at a space on a phone
        t.gettext("Placed"),
        t.gettext("Withdrawn"),
        t.gettext("Lapsed"),
    ]
    sources = _source_names(t)
    themes_named = _theme_names(t.lang)
    for outcome in (
        _outcomes(
            figures,
            "source",
            t.gettext("What became of them in %(area)s, by way of sign-up", area=name),
            t.gettext("Way of sign-up"),
            lambda c: _source_label(c, sources, t),
        ),
        _outcomes(
            figures,
            "theme",
            t.gettext(
                "What became of them in %(area)s, by theme (a person may choose several)",
                area=name,
            ),
            t.gettext("Theme"),
            lambda c: themes_named.get(c, c.split(":", 1)[-1]),
        ),
        _outcomes(
            figures,
            "language",
            t.gettext(
                "What became of them in %(area)s, by language (a person may choose several)",
                area=name,
            ),
            t.gettext("Language"),
            lambda c: _capital(language_name(c.split(":", 1)[-1], _locale(t.lang))),
        ),
    ):
        if outcome is not None:
            view.outcomes.append(outcome)
    if figures.parts:
        bars = _ranked(
            [
                Bar(
                    part_names.get(code, code),
                    v.get("waiting", Value(0)).value,
                    v.get("waiting", Value(0)).suppressed,
                )
                for code, v in figures.parts.items()
            ]
        )
        view.charts.append(
            _chart(
                "chart-parts",
                t.gettext("Where people wait in %(area)s", area=name),
                t.gettext(
                    "Ranked bar chart of the people waiting now in each part of the area, "
                    "most waiting first. The same figures are in the table below."
                ),
                t.gettext("Area"),
                t.gettext("Waiting now"),
                bars,
                hidden,
            )
        )
    return view
