"""How many rows each group (stratum, class) gets, and which ones.

The integer maths is exact (Python ints, no floating-point rounding), so an
allocation always sums to the budget and is the same on every machine. Ties
between equal remainders go to the group with the lower index.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method).

    Each group first gets the floor of its quota ``total * w / sum(w)``; the
    rows left over go one each to the largest remainders.

    Parameters
    ----------
    total : int
        Number of rows to split, >= 0.
    weights : sequence of int
        Non-negative integer weights with a positive sum (unless ``total`` is 0).

    Returns
    -------
    list of int
        Counts summing to ``total``.
    """
    weights = [int(w) for w in weights]
    if total == 0:
        return [0] * len(weights)
    whole = sum(weights)
    if whole <= 0:
        raise ValueError(f"Cannot split {total} rows over groups whose weights sum to {whole}.")
    counts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(counts)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        counts[i] += 1
    return counts


def allocate(
    budget: int,
    weights: Sequence[int],
    capacity: Sequence[int],
    *,
    minimum: int = 0,
) -> list[int]:
    """Split ``budget`` over groups proportionally to ``weights``, within ``capacity``.

    Largest-remainder rounding of the proportional quotas, with two rules on
    top:

    * every group with capacity gets at least ``minimum`` rows when the budget
      covers that for all of them (the rest of the budget then follows the
      quotas above that floor, so quotas already >= ``minimum`` are unchanged);
    * a group whose quota exceeds its capacity is filled, and its leftover is
      split among the others by the same rule (then by weight, then evenly).

    Parameters
    ----------
    budget : int
        Rows to allocate; at most ``sum(capacity)``.
    weights : sequence of int
        Non-negative integer weights (group sizes for proportional allocation,
        ones for equal allocation).
    capacity : sequence of int
        Most rows each group can give.
    minimum : int, default=0
        Floor per non-empty group, applied only when the budget allows it.

    Returns
    -------
    list of int
        Counts with ``sum == budget`` and ``0 <= count <= capacity``.
    """
    weights = [int(w) for w in weights]
    capacity = [int(c) for c in capacity]
    if budget > sum(capacity):
        raise ValueError(f"Cannot allocate {budget} rows: the groups hold only {sum(capacity)}.")
    floor = [min(minimum, c) for c in capacity]
    counts = floor if sum(floor) <= budget else [0] * len(capacity)
    whole = sum(weights) or 1
    remaining = budget - sum(counts)
    while remaining > 0:
        spare = [c - a for c, a in zip(capacity, counts)]
        # Quota above what a group already has, scaled by `whole` to stay integer.
        target = [max(budget * w - a * whole, 0) if s > 0 else 0 for w, a, s in zip(weights, counts, spare)]
        if sum(target) == 0:
            target = [w if s > 0 else 0 for w, s in zip(weights, spare)]
        if sum(target) == 0:
            target = [1 if s > 0 else 0 for s in spare]
        share_whole = sum(target)
        full = [i for i, (t, s) in enumerate(zip(target, spare)) if s > 0 and remaining * t >= s * share_whole]
        if full:
            for i in full:
                counts[i] = capacity[i]
                remaining -= spare[i]
            continue
        for i, extra in enumerate(largest_remainder(remaining, target)):
            counts[i] += extra
        remaining = 0
    return counts


def allocate_smallest_first(budget: int, sizes: Sequence[int]) -> list[int]:
    """Coverage-centric allocation (Zheng et al., ICLR 2023, Algorithm 1).

    Visit the non-empty groups from the smallest; each takes
    ``min(size, remaining_budget // remaining_groups)``. Small groups are kept
    whole and their unused share flows to the larger ones. If rounding leaves
    rows over (it can only when the largest groups are full), the pass repeats
    over the groups with room left.

    Parameters
    ----------
    budget : int
        Rows to allocate; at most ``sum(sizes)``.
    sizes : sequence of int
        Rows in each group.

    Returns
    -------
    list of int
        Counts with ``sum == budget``.
    """
    sizes = [int(s) for s in sizes]
    if budget > sum(sizes):
        raise ValueError(f"Cannot allocate {budget} rows: the groups hold only {sum(sizes)}.")
    counts = [0] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    remaining = budget
    while remaining > 0:
        open_groups = [i for i in order if counts[i] < sizes[i]]
        for j, i in enumerate(open_groups):
            take = min(sizes[i] - counts[i], remaining // (len(open_groups) - j))
            counts[i] += take
            remaining -= take
    return counts


def group_positions(codes: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Positions of each group, ascending, for integer group ``codes`` in ``[0, n_groups)``."""
    codes = np.asarray(codes)
    if n_groups <= 256:
        codes = codes.astype(np.uint8, copy=False)
    elif n_groups <= 65536:
        codes = codes.astype(np.uint16, copy=False)
    order = np.argsort(codes, kind="stable")  # radix sort for small integer codes
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_groups))])
    return [order[bounds[g] : bounds[g + 1]] for g in range(n_groups)]


def sample_groups(groups: Sequence[np.ndarray], counts: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Draw ``counts[g]`` members of each group uniformly without replacement.

    Groups are visited in order with one generator, so the result is fixed by
    the generator's seed. Positions come back unsorted.
    """
    parts = []
    for members, count in zip(groups, counts):
        if count >= members.size:
            parts.append(members)
        elif count > 0:
            parts.append(members[rng.choice(members.size, size=count, replace=False)])
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)
