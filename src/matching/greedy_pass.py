"""The greedy's pass as machine code: Numba compiles these functions over NumPy arrays (see
:mod:`matching.greedy` for the algorithm and :class:`matching.codes.Codes` for the arrays).

The compiled code is cached on disk, so only the first run after an install (or after a change
to this file) compiles it (several seconds); every process loads it at its first call (about
0.2 s). The small steps it calls live in :mod:`matching.pass_steps` and are compiled into this
file's cache entry; Numba checks only this file's time stamp, so a change to ``pass_steps.py``
must touch this file too (or clear ``src/matching/__pycache__``) — an install writes both.
Pure like the rest of the core.
"""

from __future__ import annotations

import numpy as np

from matching.pass_steps import (
    I64,
    B,
    compact,
    digital_fac,
    first_fac,
    njit,
    size_of,
    window,
)

__all__ = ["I64", "B", "njit", "run_pass", "size_of"]


@njit
def _lanes(
    order: I64,
    local: bool,
    digital: bool,
    org: I64,
    dpool: I64,
    cross_own: B,
    theme_ptr: I64,
    theme_val: I64,
    lang_ptr: I64,
    lang_val: I64,
    slot_ptr: I64,
    slot_val: I64,
    dims: I64,
) -> tuple[I64, I64, I64, int]:
    """Everyone of the pass (by position in ``order``) in every lane they could meet in.

    A lane is (mode, pool, theme, language, slot), mode 0 local (pool: the organisation) and
    1 digital (pool: the digital pool); people are in priority order. Returns the pass's code
    of each (mode, pool) (-1: nobody of the pass), where each lane starts, the lanes one after
    the other, and the number of (mode, pool) codes.
    """
    n_themes, n_langs, n_pools = dims[0], max(dims[1], 1), dims[2]
    n_slots = max(dims[5], 1)
    m = order.size
    pool_of = np.full(2 * n_pools, -1, np.int64)
    n_used = 0
    for i in range(m):
        ci = order[i]
        if local and pool_of[org[ci]] < 0:
            pool_of[org[ci]] = n_used
            n_used += 1
        if digital and dpool[ci] >= 0 and pool_of[n_pools + dpool[ci]] < 0:
            pool_of[n_pools + dpool[ci]] = n_used
            n_used += 1
    n_keys = n_used * (n_themes + 1) * n_langs * n_slots
    start = np.zeros(n_keys + 1, np.int64)
    lanes = np.empty(0, np.int64)
    fill = start
    for rep in range(2):
        if rep:
            for key in range(n_keys):
                start[key + 1] += start[key]
            fill = start.copy()
            lanes = np.empty(start[n_keys], np.int64)
        for i in range(m):
            ci = order[i]
            for mode in range(2):
                if mode == 0:
                    if not local:
                        continue
                    p = pool_of[org[ci]]
                else:
                    if not digital or dpool[ci] < 0:
                        continue
                    p = pool_of[n_pools + dpool[ci]]
                for tj in range(theme_ptr[ci], theme_ptr[ci + 1] + 1):
                    if tj == theme_ptr[ci + 1]:
                        if not cross_own[ci]:
                            continue
                        t = n_themes
                    else:
                        t = theme_val[tj]
                    for lj in range(lang_ptr[ci], lang_ptr[ci + 1]):
                        base = ((p * (n_themes + 1) + t) * n_langs + lang_val[lj]) * n_slots
                        for sj in range(slot_ptr[ci], slot_ptr[ci + 1]):
                            key = base + slot_val[sj]
                            if rep:
                                lanes[fill[key]] = i
                                fill[key] += 1
                            else:
                                start[key + 1] += 1
    return pool_of, start, lanes, n_used


@njit
def run_pass(
    order: I64,
    seeds: I64,
    local: bool,
    digital: bool,
    left: I64,
    age: I64,
    gender: I64,
    single: B,
    org: I64,
    dpool: I64,
    rules: I64,
    welcome: B,
    cross_own: B,
    theme_ptr: I64,
    theme_val: I64,
    lang_ptr: I64,
    lang_val: I64,
    slot_ptr: I64,
    slot_val: I64,
    rule_sizes: I64,
    star: B,
    slug: I64,
    dims: I64,
    fac_ptr: I64,
    fac_val: I64,
    any_ptr: I64,
    any_val: I64,
    fac_rank: I64,
    uniform: bool,
    female: int,
    male: int,
) -> tuple[int, I64, I64, I64]:
    """One greedy pass over the people ``order`` (indexes in priority order), seeds in the
    order ``seeds`` (positions in ``order``); see :func:`matching.greedy.greedy`. Returns the
    number of groups, per group (digital, theme, language, slot, facilitator, seed), and the
    members of each (indexes, sorted).

    For each option (mode, theme, language, slot) the seed walks its lane (see :func:`_lanes`)
    and collects the first people without a single-gender wish and the first of its gender
    (up to ``max_size + 2`` each), in the age window, as the Python greedy did; then picks
    the best age window, the size, the facilitator, and keeps the best group by the rank
    (size up to target, theme preference, local first, mixed gender, size near target).
    A lane drops its placed people at its head at once, and everywhere once a quarter of a walk
    stepped over placed people: speed only, the order stays.
    """
    m = order.size
    # The cross-problem "theme" has the code n_themes.
    n_themes, n_langs, n_pools, n_slugs, n_orgs = (
        dims[0],
        max(dims[1], 1),
        dims[2],
        dims[3],
        dims[4],
    )
    n_slots = max(dims[5], 1)
    pool_of, start, lanes, _ = _lanes(
        order,
        local,
        digital,
        org,
        dpool,
        cross_own,
        theme_ptr,
        theme_val,
        lang_ptr,
        lang_val,
        slot_ptr,
        slot_val,
        dims,
    )
    head = start[:-1].copy()
    end = start[1:].copy()
    placed = np.zeros(m, np.bool_)
    # What a lane walk reads, by pass position: side by side in memory, not scattered.
    p_age = age[order]
    p_gender = gender[order]
    p_single = single[order]
    p_rules = rules[order]
    p_welcome = welcome[order]

    max_cap = int(rule_sizes[:, 2].max()) + 2
    # The two lists of one option (people as pass positions).
    mixed = np.empty(max_cap, np.int64)
    same = np.empty(max_cap, np.int64)
    ages = np.empty(max_cap, np.int64)
    sorted_ages = np.empty(max_cap, np.int64)
    cand = np.empty(max_cap + 1, np.int64)
    best_members = np.empty(max_cap + 1, np.int64)

    g_info = np.empty((m, 6), np.int64)
    g_ptr = np.zeros(m + 1, np.int64)
    g_members = np.empty(m, np.int64)
    n_groups = 0

    for si in seeds:
        if placed[si]:
            continue
        s = order[si]
        r = rules[s]
        min_size, target, max_size = rule_sizes[r, 0], rule_sizes[r, 1], rule_sizes[r, 2]
        span, old_cut, cross_cut = rule_sizes[r, 3], rule_sizes[r, 4], rule_sizes[r, 5]
        cap = max_size + 2
        g = gender[s]
        seed_single = single[s]
        a = age[s]
        # Room in each list; a list not wanted has none.
        cap_mixed = 0 if seed_single else cap
        cap_same = cap if g >= 0 else 0
        have = False
        b0 = b1 = b2 = b3 = b4 = 0  # the best rank so far
        best_n = 0
        best_mode = best_theme = best_lang = best_slot = best_fac = 0
        done = False
        placed[si] = True  # never one of the "others" while its options are scanned
        for mode in range(2):
            if done:
                break
            if mode == 0:
                if not local:
                    continue
                p = pool_of[org[s]]
            else:
                if not digital or dpool[s] < 0:
                    continue
                p = pool_of[n_pools + dpool[s]]
            where = 1 - mode
            n_own = theme_ptr[s + 1] - theme_ptr[s]
            for tpos in range(n_own + 1):
                if done:
                    break
                if tpos == n_own:
                    if not cross_own[s]:
                        continue
                    t = n_themes
                else:
                    t = theme_val[theme_ptr[s] + tpos]
                # No option of this theme can rank above (target, -pos, where, mixed, on target).
                if have and (target, -tpos, where, 1, 0) <= (b0, b1, b2, b3, b4):
                    continue
                sl = slug[t]
                for lj in range(lang_ptr[s], lang_ptr[s + 1]):
                    if done:
                        break
                    lang = lang_val[lj]
                    local_fac = -1
                    if mode == 0:
                        key = (org[s] * n_slugs + sl) * n_langs + lang
                        local_fac = first_fac(fac_val, fac_ptr[key], fac_ptr[key + 1], left)
                        if local_fac < 0:
                            continue
                    elif star[dpool[s]]:
                        key = sl * n_langs + lang
                        if first_fac(any_val, any_ptr[key], any_ptr[key + 1], left) < 0:
                            continue
                    else:
                        key = ((n_orgs + org[s]) * n_slugs + sl) * n_langs + lang
                        if first_fac(fac_val, fac_ptr[key], fac_ptr[key + 1], left) < 0:
                            continue
                    base = ((p * (n_themes + 1) + t) * n_langs + lang) * n_slots
                    for sj in range(slot_ptr[s], slot_ptr[s + 1]):
                        if done:
                            break
                        slot = slot_val[sj]
                        lane = base + slot
                        h, e_end = head[lane], end[lane]
                        # Placed people at the head are dropped for good (not the seed).
                        while h < e_end and placed[lanes[h]] and lanes[h] != si:
                            h += 1
                        head[lane] = h
                        # At most this many people (the seed included) could be in the group:
                        # often too few, or too few to beat the best group so far.
                        total = e_end - h + 1
                        if total < min_size:
                            continue
                        if have and (min(total, target), -tpos, where, 1, 0) <= (
                            b0,
                            b1,
                            b2,
                            b3,
                            b4,
                        ):
                            continue
                        # Collect the two lists from the lane, longest-waiting first.
                        nm = ns = 0
                        m_lo = m_hi = s_lo = s_hi = a
                        same_single = False
                        waste = 0
                        for q in range(h, e_end):
                            i = lanes[q]
                            if placed[i]:
                                waste += 1
                                continue
                            x = p_age[i]
                            if x < a - span or x > a + span:
                                continue
                            gi = p_gender[i]
                            wish = p_single[i]
                            if seed_single:
                                if gi != g:
                                    continue
                            elif g < 0:
                                if wish:
                                    continue
                            elif gi != g and wish:
                                continue
                            # A cross-problem group applies the seed's rules to everyone.
                            if (
                                t == n_themes
                                and not uniform
                                and p_rules[i] != r
                                and not (p_welcome[i] and order[i] < cross_cut)
                            ):
                                continue
                            if nm < cap_mixed and not wish:
                                mixed[nm] = i
                                nm += 1
                                if x < m_lo:
                                    m_lo = x
                                elif x > m_hi:
                                    m_hi = x
                            if ns < cap_same and gi == g:
                                same[ns] = i
                                ns += 1
                                if wish:
                                    same_single = True
                                if x < s_lo:
                                    s_lo = x
                                elif x > s_hi:
                                    s_hi = x
                            if nm >= cap_mixed and ns >= cap_same:
                                break
                        if waste and 4 * waste > e_end - h:
                            e_end = compact(lanes, h, e_end, placed, si)
                            end[lane] = e_end
                        # Which lists to try: a single-gender wish, or no gender, leaves one;
                        # the same-gender list only adds something with a single wish in it or
                        # more people than the mixed list.
                        if seed_single:
                            n_lists, first = 1, 1
                        elif g < 0 or (ns <= nm and not same_single):
                            n_lists, first = 1, 0
                        else:
                            n_lists, first = 2, 0
                        for li in range(first, first + n_lists):
                            if li == 1:
                                lst, cnt, lo, hi = same, ns, s_lo, s_hi
                            else:
                                lst, cnt, lo, hi = mixed, nm, m_lo, m_hi
                            # The people chosen (pass positions) in ``cand``, in order.
                            n_ch = 0
                            if hi - lo <= span:
                                for e in range(cnt):
                                    cand[e] = lst[e]
                                n_ch = cnt
                            else:
                                for e in range(cnt):
                                    ages[e] = p_age[lst[e]]
                                w_lo, w_hi = window(ages, sorted_ages, cnt, a, span)
                                for e in range(cnt):
                                    if w_lo <= ages[e] <= w_hi:
                                        cand[n_ch] = lst[e]
                                        n_ch += 1
                            n = n_ch + 1
                            if n < min_size:
                                continue
                            size = n if n <= max_size else size_of(n, min_size, target, max_size)
                            lowest = s
                            for e in range(size - 1):
                                lowest = min(lowest, order[cand[e]])
                            if size == min_size and min_size < target and lowest >= old_cut:
                                continue
                            if mode == 1:
                                fac = digital_fac(
                                    order,
                                    cand,
                                    size,
                                    org[s],
                                    org,
                                    sl,
                                    lang,
                                    dims,
                                    fac_ptr,
                                    fac_val,
                                    fac_rank,
                                    left,
                                )
                                if fac < 0:
                                    continue
                            else:
                                fac = local_fac
                            has_f = g == female
                            has_m = g == male
                            for e in range(size - 1):
                                ge = p_gender[cand[e]]
                                has_f = has_f or ge == female
                                has_m = has_m or ge == male
                            mix = 1 if has_f and has_m and female >= 0 and male >= 0 else 0
                            rank = (min(size, target), -tpos, where, mix, -abs(size - target))
                            if not have or rank > (b0, b1, b2, b3, b4):
                                have = True
                                b0, b1, b2, b3, b4 = rank
                                best_members[0] = si
                                for e in range(size - 1):
                                    best_members[e + 1] = cand[e]
                                best_n = size
                                best_mode, best_theme, best_lang = mode, t, lang
                                best_slot, best_fac = slot, fac
                            if b0 == target and b1 == 0 and b2 == 1:
                                done = True
                                break
        if not have:
            placed[si] = False
            continue
        # Positions and indexes are in the same order, so sorting either sorts both.
        chosen = np.sort(best_members[:best_n])
        at = g_ptr[n_groups]
        for e in range(best_n):
            placed[chosen[e]] = True
            g_members[at + e] = order[chosen[e]]
        g_ptr[n_groups + 1] = at + best_n
        g_info[n_groups, 0] = best_mode
        g_info[n_groups, 1] = best_theme
        g_info[n_groups, 2] = best_lang
        g_info[n_groups, 3] = best_slot
        g_info[n_groups, 4] = best_fac
        g_info[n_groups, 5] = s
        left[best_fac] -= 1
        n_groups += 1
    return n_groups, g_info, g_ptr, g_members
