"""Everyone's choices as NumPy arrays: what the compiled greedy (:mod:`matching.greedy_pass`)
works on, built once per run from what :class:`matching.context.Context` read.

Split from :mod:`matching.context` (which builds it on first use, :attr:`Context.codes`).
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from matching.context import sorted_slots
from matching.model import ACROSS, Rules

if TYPE_CHECKING:
    from matching.context import Context

_by_digital = attrgetter("digital_welcome")
_by_themes = attrgetter("themes")
_by_slots = attrgetter("slots")


class Codes:
    """Everyone's choices as NumPy arrays: what the compiled greedy (:mod:`matching.greedy`)
    works on.

    Rows follow the priority order of :attr:`Context.cands`. A choice with one value (age band,
    gender, organisation, digital pool, rules) is a number per person (``gender``, ``org``,
    ``dpool``, ``rules``) that indexes a list of the values (``genders``, ``orgs``,
    ``dpools``, ``rules_of``); ``gender`` is -1 for no gender and ``dpool`` -1 for people who
    do not welcome a digital group. A choice with several values is a list per person, stored
    flat: person ``ci``'s themes are ``theme_val[theme_ptr[ci]:theme_ptr[ci + 1]]`` in
    preference order, languages (``lang_*``) in the order of ``langs`` (sorted), slots
    (``slot_*``) in the order of ``slots`` (week order). The cross-problem "theme" has the
    code ``len(themes)``; ``dims`` holds the numbers of themes, languages, pools (organisations
    or digital pools, whichever are more), theme slugs, organisations and slots.

    Facilitators: ``fac_val[fac_ptr[k]:fac_ptr[k + 1]]`` are :attr:`Context.fac_index` of key
    ``k = ((digital * len(orgs) + org) * n_slugs + slug[theme]) * len(langs) + lang`` and
    ``any_val[any_ptr[k]:any_ptr[k + 1]]`` :attr:`Context.digital_facs` of ``k = slug[theme] *
    len(langs) + lang``, in preference order; ``fac_rank`` is each facilitator's place in that
    order. ``rule_sizes`` holds per rules (min, target, max size, age span, and the two
    :meth:`Context.cutoffs`).
    """

    __slots__ = (
        "age",
        "any_ptr",
        "any_val",
        "cross_own",
        "dims",
        "dpool",
        "dpools",
        "fac_ptr",
        "fac_rank",
        "fac_val",
        "female",
        "gender",
        "genders",
        "lang_ptr",
        "lang_val",
        "langs",
        "male",
        "org",
        "orgs",
        "rule_sizes",
        "rules",
        "rules_of",
        "single",
        "slot_ptr",
        "slot_val",
        "slots",
        "slug",
        "star",
        "theme_ptr",
        "theme_val",
        "themes",
        "uniform",
        "welcome",
    )

    def __init__(self, ctx: Context) -> None:
        raw = ctx._raw
        given, perm = ctx._given, raw.perm
        n = len(given)
        self.age = raw.age
        self.single = raw.single
        self.cross_own = raw.cross_own
        self.welcome = raw.welcome
        # Choices with several values, read as one flat list of values (hashing 100,000
        # tuples or sets to number the distinct ones cost more).
        theme_sets = list(map(_by_themes, given))
        flat = list(chain.from_iterable(theme_sets))
        self.themes = sorted(set(flat))
        col = {v: j for j, v in enumerate(self.themes)}
        self.theme_ptr, self.theme_val = _lists(
            np.fromiter(map(len, theme_sets), np.int64, n),
            np.fromiter(map(col.__getitem__, flat), np.int64, len(flat)),
            perm,
        )
        self.langs = sorted({v for s in raw.lang_sets for v in s})
        col = {v: j for j, v in enumerate(self.langs)}
        self.lang_ptr, self.lang_val = _expand(
            [sorted(col[v] for v in s) for s in raw.lang_sets], raw.lang
        )
        slot_sets = list(map(_by_slots, given))
        flat = list(chain.from_iterable(slot_sets))
        self.slots = sorted_slots(set(flat))
        col = {v: j for j, v in enumerate(self.slots)}
        counts = np.fromiter(map(len, slot_sets), np.int64, n)
        codes = np.fromiter(map(col.__getitem__, flat), np.int64, len(flat))
        if len(self.slots) <= 62:
            # Each person's slots in week order (the order of ``slots``): as bits of one
            # number per person, read back lowest bit first.
            starts = np.zeros(n, dtype=np.int64)
            np.cumsum(counts[:-1], out=starts[1:])
            masks = np.zeros(n, dtype=np.int64)
            some = counts > 0
            if codes.size:
                masks[some] = np.bitwise_or.reduceat(np.left_shift(1, codes), starts[some])
            bits = np.arange(len(self.slots), dtype=np.int64)
            rows, cols = np.nonzero((masks[perm][:, None] >> bits) & 1)
            self.slot_ptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=self.slot_ptr[1:])
            self.slot_val = cols.astype(np.int64)
        else:
            self.slot_ptr, self.slot_val = _lists(counts, codes, perm)
            rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.slot_ptr))
            self.slot_val = self.slot_val[np.lexsort((self.slot_val, rows))]
        self.genders: list[str] = [g for g in raw.genders if g is not None]
        number = {g: j for j, g in enumerate(self.genders)}
        self.gender = np.array(
            [number.get(g, -1) if g is not None else -1 for g in raw.genders] or [-1],
            dtype=np.int64,
        )[raw.gender]
        self.female = number.get("female", -1)
        self.male = number.get("male", -1)
        self.orgs: list[str] = raw.orgs
        self.org = raw.org
        # Digital pool and rules depend on the organisation only (see Context.dpool).
        self.dpools: list[str] = []
        self.rules_of: list[Rules] = []
        dpool_of_org, rules_of_org = [], []
        for org, r in zip(raw.orgs, raw.org_rules, strict=True):
            dp = "digital:*" if r.pool_digital_across_catchments else "digital:" + org
            if dp not in self.dpools:
                self.dpools.append(dp)
            dpool_of_org.append(self.dpools.index(dp))
            k = next((i for i, x in enumerate(self.rules_of) if x is r), None)
            if k is None:
                k = len(self.rules_of)
                self.rules_of.append(r)
            rules_of_org.append(k)
        self.star = np.array([dp == "digital:*" for dp in self.dpools] or [False], dtype=bool)
        digital = np.fromiter(map(_by_digital, given), bool, n)[perm]
        self.dpool = np.where(digital, np.array(dpool_of_org or [0], dtype=np.int64)[self.org], -1)
        self.rules = np.array(rules_of_org or [0], dtype=np.int64)[self.org]
        self.uniform = ctx.uniform_rules
        self.rule_sizes = np.array(
            [
                (r.min_size, r.target_size, r.max_size, r.max_age_span, *ctx.cutoffs(r))
                for r in self.rules_of
            ]
            or [(0, 0, 0, 0, 0, 0)],
            dtype=np.int64,
        )
        self._facilitators(ctx)

    def _facilitators(self, ctx: Context) -> None:
        n_themes, n_langs, n_orgs = len(self.themes), len(self.langs), len(self.orgs)
        slug_of = {t: j for j, t in enumerate(self.themes)}
        n_slugs = n_themes + (ACROSS not in slug_of)
        slug_of.setdefault(ACROSS, n_themes)
        self.slug = np.array([*range(n_themes), slug_of[ACROSS]], dtype=np.int64)
        lang_of = {v: j for j, v in enumerate(self.langs)}
        org_of = {o: j for j, o in enumerate(self.orgs)}
        n_pools = max(n_orgs, len(self.dpools))
        self.dims = np.array([n_themes, n_langs, n_pools, n_slugs, n_orgs, len(self.slots)])
        lists: dict[int, list[int]] = {}
        for (dig, org, theme, lang), facs in ctx.fac_index.items():
            if org in org_of and theme in slug_of and lang in lang_of and facs:
                key = ((int(dig) * n_orgs + org_of[org]) * n_slugs + slug_of[theme]) * n_langs
                lists[key + lang_of[lang]] = facs
        self.fac_ptr, self.fac_val = _csr(lists, 2 * n_orgs * n_slugs * n_langs)
        lists = {}
        for (theme, lang), facs in ctx.digital_facs.items():
            if theme in slug_of and lang in lang_of and facs:
                lists[slug_of[theme] * n_langs + lang_of[lang]] = facs
        self.any_ptr, self.any_val = _csr(lists, n_slugs * n_langs)
        order = sorted(
            range(len(ctx.facs)),
            key=lambda i: (len(ctx.facs[i].themes) * len(ctx.facs[i].languages), ctx.facs[i].id),
        )
        self.fac_rank = np.zeros(max(len(order), 1), dtype=np.int64)
        self.fac_rank[order] = np.arange(len(order))


def _csr(
    lists: dict[int, list[int]], size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``lists`` (key -> values, keys below ``size``) as offsets and flat values."""
    counts = np.zeros(size + 1, dtype=np.int64)
    for k, v in lists.items():
        counts[k + 1] = len(v)
    ptr = np.cumsum(counts)
    val = np.zeros(max(int(ptr[-1]), 1), dtype=np.int64)
    for k, v in lists.items():
        val[ptr[k] : ptr[k + 1]] = v
    return ptr, val


def _lists(
    counts: npt.NDArray[np.int64], flat: npt.NDArray[np.int64], perm: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Lists given one after the other (``counts[i]`` values of ``flat`` for person ``i``) as
    offsets and flat values, the people taken in the order ``perm``."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    taken = counts[perm]
    ptr = np.zeros(len(perm) + 1, dtype=np.int64)
    np.cumsum(taken, out=ptr[1:])
    at = np.repeat(starts[perm] - ptr[:-1], taken) + np.arange(ptr[-1], dtype=np.int64)
    return ptr, flat[at]


def _expand(
    rows: list[list[int]], codes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Offsets and flat values of the lists ``rows[k]`` for each ``k`` of ``codes``."""
    lens = np.array([len(r) for r in rows] or [0], dtype=np.int64)
    flat = np.array([v for r in rows for v in r] or [0], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64)
    counts = lens[codes]
    ptr = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    at = np.repeat(starts[codes] - ptr[:-1], counts) + np.arange(ptr[-1], dtype=np.int64)
    return ptr, flat[at]
