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
    pause = np.asarray(pause_after, dtype=bool)
    rest = np.asarray(rest_after, dtype=bool)
    pauses = np.concatenate([[0.0], np.cumsum(pause.astype(np.float64))])
    # Only a band of notes around the proportional diagonal is searched, and only it is stored
    # (memory and time linear in the song's length): +-20 % of the song, at most MAX_BAND notes.
    band = max(24, min(int(0.2 * max(S, N)), MAX_BAND))
    lo = np.zeros(S + 1, dtype=np.int64)
    hi = np.zeros(S + 1, dtype=np.int64)      # inclusive
    for i in range(1, S + 1):
        centre = int(i * N / S)
        lo[i], hi[i] = max(1, centre - band), min(N, centre + band)
    width = int(np.max(hi - lo)) + 1
    cost = np.full((S + 1, width), np.inf)
    back = np.zeros((S + 1, width, 2), dtype=np.int64)
    cost[0, 0] = 0.0

    def prev_cost(i: int, j: np.ndarray) -> np.ndarray:
        """cost[i, j] for note indices j (inf outside row i's band): [len(j)]."""
        inside = (j >= lo[i]) & (j <= hi[i])
        out = np.full(len(j), np.inf)
        out[inside] = cost[i, j[inside] - lo[i]]
        return out

    for i in range(1, S + 1):
        j = np.arange(lo[i], hi[i] + 1)
        if len(j) == 0:
            continue
        best = np.full(len(j), np.inf)
        arg = np.zeros((len(j), 2), dtype=np.int64)
        # the same candidates, in the same order, as a loop over r then k keeping the first best
        cands = [(1, r) for r in range(1, cfg.max_melisma + 1)] + [(k, 1) for k in range(2, cfg.max_merge + 1)]
        for k, r in cands:
            if k > i:
                continue
            ok = j - r >= 0
            prev = np.where(ok, prev_cost(i - k, np.maximum(j - r, 0)), np.inf)
            i0, i1, j0 = i - k, i, j - r
            sd = max(cs[i1] - cs[i0], 1e-3)
            nd = np.maximum(cn[j] - cn[np.maximum(j0, 0)], 1e-3)
            c = cfg.duration_weight * np.abs(np.log(nd / sd))
            c = c + (cfg.melisma_cost * (r - 1) + cfg.merge_cost * (k - 1))
            # a rest of the melody should coincide with a pause of the speech, and no pause
            # should fall inside a group
            if i1 < S:
                c = c + np.where((j < N) & (rest[np.minimum(j, N) - 1] != pause[i1 - 1]), cfg.rest_weight, 0.0)
            c = c + cfg.rest_weight * (pauses[i1 - 1] - pauses[i0])
            v = prev + c
            better = v < best
            best = np.where(better, v, best)
            arg[better] = (k, r)
        cost[i, :len(j)] = best
        back[i, :len(j)] = arg
    if not (lo[S] <= N <= hi[S]) or not np.isfinite(cost[S, N - lo[S]]):
        return _proportional(S, N)
    groups = []
    i, jn = S, N
    while i > 0 and jn > 0:
        k, r = back[i, jn - lo[i]]
        groups.append(Group(int(i - k), int(i), int(jn - r), int(jn)))
        i, jn = int(i - k), int(jn - r)
    return groups[::-1]


MAX_BAND = 150   # notes either side of the proportional diagonal (long scores)


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
