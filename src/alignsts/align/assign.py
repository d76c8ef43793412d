"""Which syllable of the speech goes on which note: a dynamic programme over both sequences.

Each step of the programme forms a group: one syllable on one note, one syllable over
several notes (melisma), or several syllables merged on one note. Groups cost their
duration mismatch plus a price for melisma and merging; pauses in the speech are
encouraged to fall on rests of the melody.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from ..validate import Range
from .syllables import Syllable


@dataclass
class AssignConfig:
    max_melisma: Annotated[int, Range(1, 32)] = 4          # notes one syllable may span
    max_merge: Annotated[int, Range(1, 32)] = 4            # syllables one note may carry (more only when nothing else fits)
    melisma_cost: Annotated[float, Range(0, 100)] = 1.0     # per extra note of a melisma
    merge_cost: Annotated[float, Range(0, 100)] = 1.5       # per extra syllable on one note
    duration_weight: Annotated[float, Range(0, 100)] = 0.3  # x |log(note time / syllable time)|
    rest_weight: Annotated[float, Range(0, 100)] = 0.5      # a rest where the speech runs on, or a pause inside a note group


@dataclass(frozen=True)
class Group:
    """Syllables [s0, s1) sung on notes [n0, n1)."""
    s0: int
    s1: int
    n0: int
    n1: int


def assign(syllable_dur: np.ndarray, pause_after: np.ndarray, note_dur: np.ndarray,
           rest_after: np.ndarray, cfg: AssignConfig | None = None) -> list[Group]:
    """Monotone grouping of syllables and notes covering both completely.

    syllable_dur [S] and note_dur [N] in seconds; pause_after [S] / rest_after [N] tell
    whether a pause follows that syllable / a rest follows that note. Returns the groups in order.
    """
    cfg = cfg or AssignConfig()
    S, N = len(syllable_dur), len(note_dur)
    if S == 0 or N == 0:
        return []
    cs = np.concatenate([[0.0], np.cumsum(syllable_dur)])
    cn = np.concatenate([[0.0], np.cumsum(note_dur)])
    cost = np.full((S + 1, N + 1), np.inf)
    back = np.zeros((S + 1, N + 1, 2), dtype=np.int64)
    cost[0, 0] = 0.0

    def group_cost(i0, i1, j0, j1):
        sd = max(cs[i1] - cs[i0], 1e-3)
        nd = max(cn[j1] - cn[j0], 1e-3)
        c = cfg.duration_weight * abs(np.log(nd / sd))
        c += cfg.melisma_cost * (j1 - j0 - 1) + cfg.merge_cost * (i1 - i0 - 1)
        # a rest of the melody should coincide with a pause of the speech, and no pause
        # should fall inside a group
        if i1 < S and j1 < N and rest_after[j1 - 1] != pause_after[i1 - 1]:
            c += cfg.rest_weight
        c += cfg.rest_weight * float(np.sum(pause_after[i0:i1 - 1]))
        return c

    band = max(24, int(0.2 * max(S, N)))   # long songs: stay near the proportional diagonal
    for i in range(1, S + 1):
        centre = i * N / S
        for j in range(max(1, int(centre) - band), min(N, int(centre) + band) + 1):
            best, arg = np.inf, (0, 0)
            for r in range(1, min(cfg.max_melisma, j) + 1):      # syllable i-1 over r notes
                prev = cost[i - 1, j - r]
                if prev < best:
                    v = prev + group_cost(i - 1, i, j - r, j)
                    if v < best:
                        best, arg = v, (1, r)
            for k in range(2, min(cfg.max_merge, i) + 1):        # k syllables on note j-1
                prev = cost[i - k, j - 1]
                if prev < best:
                    v = prev + group_cost(i - k, i, j - 1, j)
                    if v < best:
                        best, arg = v, (k, 1)
            cost[i, j] = best
            back[i, j] = arg
    if not np.isfinite(cost[S, N]):
        return _proportional(S, N)
    groups = []
    i, j = S, N
    while i > 0 and j > 0:
        k, r = back[i, j]
        groups.append(Group(i - k, i, j - r, j))
        i, j = i - k, j - r
    return groups[::-1]


def _proportional(S: int, N: int) -> list[Group]:
    """Fallback when the limits make the DP infeasible: spread one sequence over the other."""
    if S >= N:
        edges = np.round(np.linspace(0, S, N + 1)).astype(int)
        return [Group(int(edges[j]), int(edges[j + 1]), j, j + 1) for j in range(N)]
    edges = np.round(np.linspace(0, N, S + 1)).astype(int)
    return [Group(i, i + 1, int(edges[i]), int(edges[i + 1])) for i in range(S)]


def summary(groups: list[Group], n_syllables: int, n_notes: int) -> str:
    """One line such as '12 syllables, 9 notes: merged 3' (empty when it is one to one)."""
    merged = sum(g.s1 - g.s0 - 1 for g in groups)
    melisma = sum(g.n1 - g.n0 - 1 for g in groups)
    if not merged and not melisma:
        return ""
    parts = []
    if merged:
        parts.append(f"merged {merged} syllable{'s' if merged > 1 else ''} onto shared notes")
    if melisma:
        parts.append(f"stretched syllables over {melisma} extra note{'s' if melisma > 1 else ''}")
    def count(k, word):
        return f"{k} {word}{'' if k == 1 else 's'}"

    return f"{count(n_syllables, 'syllable')}, {count(n_notes, 'note')}: " + ", ".join(parts)


def syllable_durations(sylls: list[Syllable], dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Durations [S] (s) and whether a pause (>= 100 ms) follows each syllable [S]."""
    dur = np.array([(s.end - s.start) * dt for s in sylls])
    pause = np.zeros(len(sylls), dtype=bool)
    for k in range(len(sylls) - 1):
        pause[k] = (sylls[k + 1].start - sylls[k].end) * dt >= 0.1
    return dur, pause
