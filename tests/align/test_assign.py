"""Syllable-to-note assignment (dynamic programme), its summary line, syllable durations."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.align.assign import AssignConfig, Group, assign, summary, syllable_durations
from alignsts.align.syllables import Syllable


def _run(sd, pa, nd, ra, cfg=None):
    groups = assign(np.asarray(sd, float), np.asarray(pa, bool), np.asarray(nd, float),
                    np.asarray(ra, bool), cfg)
    _check_cover(groups, len(sd), len(nd))
    return [(int(g.s0), int(g.s1), int(g.n0), int(g.n1)) for g in groups], groups


def _check_cover(groups, S, N):
    """Groups cover all syllables and all notes, in order, each one-to-many or many-to-one."""
    assert groups, "no groups"
    assert (groups[0].s0, groups[0].n0) == (0, 0)
    assert (groups[-1].s1, groups[-1].n1) == (S, N)
    for a, b in zip(groups[:-1], groups[1:]):
        assert (b.s0, b.n0) == (a.s1, a.n1)
    for g in groups:
        assert g.s1 > g.s0 and g.n1 > g.n0
        assert g.s1 - g.s0 == 1 or g.n1 - g.n0 == 1


def _no(n):
    return [False] * n


def _at(n, k):
    out = [False] * n
    out[k] = True
    return out


def test_equal_counts_are_one_to_one():
    groups, raw = _run([0.2, 0.3, 0.25, 0.4, 0.2, 0.5], _no(6), [0.4, 0.4, 0.4, 0.8, 0.4, 0.8], _no(6))
    assert groups == [(k, k + 1, k, k + 1) for k in range(6)]
    assert summary(raw, 6, 6) == ""


def test_more_syllables_than_notes_merges():
    groups, raw = _run([0.2] * 12, _no(12), [0.4] * 9, _no(9))
    assert len(groups) == 9
    assert sum(s1 - s0 - 1 for s0, s1, _, _ in groups) == 3
    assert all(n1 - n0 == 1 for _, _, n0, n1 in groups)        # no melisma where merging is needed
    assert summary(raw, 12, 9).startswith("12 syllables, 9 notes: merged 3 syllables")


def test_merges_go_where_the_durations_fit():
    # short syllables share a note; the long syllable keeps the long note
    groups, _ = _run([0.2, 0.2, 0.6, 0.2, 0.2], _no(5), [0.4, 0.6, 0.2, 0.2], _no(4))
    assert (2, 3, 1, 2) in groups
    groups, _ = _run([0.25] * 6 + [0.12, 0.12], _no(8), [0.3] * 7, _no(7))
    assert groups[-1] == (6, 8, 6, 7)


def test_more_notes_than_syllables_is_melisma():
    groups, raw = _run([0.3] * 4, _no(4), [0.2] * 7, _no(7))
    assert len(groups) == 4
    assert all(s1 - s0 == 1 for s0, s1, _, _ in groups)
    assert sum(n1 - n0 - 1 for *_, n0, n1 in groups) == 3
    assert summary(raw, 4, 7) == "4 syllables, 7 notes: stretched syllables over 3 extra notes"


def test_summary_wording():
    assert summary([Group(0, 2, 0, 1), Group(2, 3, 1, 2)], 3, 2) == \
        "3 syllables, 2 notes: merged 1 syllable onto shared notes"
    assert summary([Group(0, 1, 0, 2), Group(1, 2, 2, 3)], 2, 3) == \
        "2 syllables, 3 notes: stretched syllables over 1 extra note"
    both = summary([Group(0, 2, 0, 1), Group(2, 3, 1, 3)], 3, 3)
    assert "merged 1 syllable" in both and "over 1 extra note" in both
    assert summary([Group(0, 1, 0, 1)], 1, 1) == ""


def test_rest_lines_up_with_a_pause_when_merging():
    sd, nd = [0.25] * 6 + [0.12, 0.12], [0.3] * 7
    pause, rest = _at(8, 2), _at(7, 1)                  # pause after syllable 2, rest after note 1
    groups, _ = _run(sd, pause, nd, rest)
    assert any(s1 == 3 and n1 == 2 for _, s1, _, n1 in groups), groups
    # without the rest term the merge goes to the short syllables at the end instead
    groups, _ = _run(sd, pause, nd, rest, AssignConfig(rest_weight=0.0))
    assert not any(s1 == 3 and n1 == 2 for _, s1, _, n1 in groups)


def test_rest_lines_up_with_a_pause_in_a_melisma():
    sd, nd = [0.3] * 5, [0.2] * 7
    pause, rest = _at(5, 1), _at(7, 3)                  # pause after syllable 1, rest after note 3
    groups, _ = _run(sd, pause, nd, rest)
    assert any(s1 == 2 and n1 == 4 for _, s1, _, n1 in groups), groups
    # no group carries the pause inside it
    for s0, s1, _, _ in groups:
        assert not any(pause[s0:s1 - 1])


def test_rest_and_pause_with_equal_counts():
    groups, _ = _run([0.3] * 8, _at(8, 3), [0.3] * 8, _at(8, 3))
    assert groups == [(k, k + 1, k, k + 1) for k in range(8)]


@pytest.mark.parametrize("seed", range(12))
def test_groups_always_cover_everything(seed):
    rng = np.random.default_rng(seed)
    S, N = rng.integers(1, 40, size=2)
    sd = rng.uniform(0.08, 0.6, S)
    nd = rng.uniform(0.1, 1.2, N)
    pa = rng.random(S) < 0.15
    ra = rng.random(N) < 0.15
    _run(sd, pa, nd, ra)


@pytest.mark.parametrize("S,N", [(20, 2), (1, 10), (3, 40), (17, 1), (1, 1), (60, 45)])
def test_extreme_ratios_still_cover(S, N):
    """Beyond max_merge / max_melisma the DP is infeasible; the proportional fallback covers."""
    groups, _ = _run([0.2] * S, _no(S), [0.3] * N, _no(N))
    if S >= N:
        assert len(groups) == N
    else:
        assert len(groups) == S


def test_empty_inputs():
    assert assign(np.zeros(0), np.zeros(0, bool), np.ones(3), np.zeros(3, bool)) == []
    assert assign(np.ones(3), np.zeros(3, bool), np.zeros(0), np.zeros(0, bool)) == []


def test_syllable_durations_and_pauses():
    dt = 0.01
    sylls = [Syllable(start=0, vowel_start=5, vowel_end=20, end=25, peak=10),
             Syllable(start=25, vowel_start=27, vowel_end=40, end=45, peak=30),   # legato
             Syllable(start=60, vowel_start=62, vowel_end=80, end=90, peak=70),   # after a 150 ms pause
             Syllable(start=95, vowel_start=96, vowel_end=110, end=120, peak=100)]
    dur, pause = syllable_durations(sylls, dt)
    np.testing.assert_allclose(dur, [0.25, 0.2, 0.3, 0.25])
    assert pause.tolist() == [False, True, False, False]    # 50 ms is not a pause; the last has none


@pytest.mark.slow
def test_long_score_is_assigned_in_a_band_of_bounded_memory():
    """2000 syllables on 2000 notes: one to one, and only a band of the programme is stored
    (a full table would take 2001 x 2001 x 24 bytes = 96 MB)."""
    import tracemalloc

    rng = np.random.default_rng(3)
    n = 2000
    dur = rng.uniform(0.2, 0.5, n)
    rest = np.zeros(n, bool)
    rest[::10] = True
    tracemalloc.start()
    groups = assign(dur, rest, dur * 1.1, rest)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    _check_cover(groups, n, n)
    assert all(g.s1 - g.s0 == 1 and g.n1 - g.n0 == 1 for g in groups)
    assert peak < 30e6
