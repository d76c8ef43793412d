"""Cheap cues first: the speaker embedding is skipped only when no value of it could change what
the engine takes from the key decision (key.embedding_can_change), checked against dense grids of
embedding values on random cues and on audio fixtures through key.choose."""
import math

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.audio import world
from alignsts.errors import MelodyError
from alignsts.melody import key
from test_key import _f0, _voice

# cosines spread evenly over the embedding's score (a logistic around EMBEDDING_SAME), plus the ends
_E = np.linspace(1e-6, 1 - 1e-6, 81)
COSINES = sorted({-1.0, 1.0, *np.clip(key.EMBEDDING_SAME + key.EMBEDDING_WIDTH * np.log(_E / (1 - _E)),
                                      -1.0, 1.0).tolist()})


def _outcome(setting, speech_f0, melody_f0, cues, sing_range, identity, cosine):
    c = key.VoiceCues(cues.register_st, cues.formant_ratio, cues.envelope_match, cosine)
    try:
        d = key.decide(setting, speech_f0, melody_f0, c, sing_range)
    except MelodyError as e:     # moved out of what a voice can sing: an outcome too
        return str(e), None
    return d.transpose, (d.same_speaker if identity else None)


def _even_odds_cosines(cues, speech_hz):
    """Cosines just either side of the same-speaker score's 0.5 (where same_speaker flips)."""
    def score(c):
        return key.same_speaker_score(key.VoiceCues(cues.register_st, cues.formant_ratio, None, c), speech_hz)
    if not score(-1.0) < 0.5 <= score(1.0):
        return []
    lo, hi = -1.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if score(mid) >= 0.5 else (mid, hi)
    return [lo, hi]


def _cases(n, seed=0):
    """Random cue values over (and beyond) what real recordings give."""
    rng = np.random.default_rng(seed)
    settings = ["auto", "auto", "fit", 3.0]
    ranges = [None, None, "baritone", "A3-A5"]
    for i in range(n):
        speech_hz = float(rng.choice([95.0, 120.0, 150.0, 170.0, 210.0, 250.0]))
        above = float(rng.uniform(-14.0, 34.0))
        ratio = float(np.exp(rng.uniform(np.log(key.FORMANT_SEARCH[0]), np.log(key.FORMANT_SEARCH[1]))))
        if i % 9 == 0:
            ratio = key.FORMANT_SEARCH[i % 2]          # pinned at the search bound
        speech_f0 = _f0(speech_hz, n=60)
        melody_f0 = _f0(speech_hz * 2 ** (above / 12), n=60, glide=float(rng.uniform(0.5, 6.0)))
        cues = key.VoiceCues(key.median_semitones(melody_f0) - key.median_semitones(speech_f0), ratio, 0.9)
        yield settings[i % 4], ranges[(i // 4) % 4], speech_f0, melody_f0, cues


@pytest.mark.parametrize("identity", [False, True])
def test_a_skip_never_changes_the_outcome_for_any_embedding_value(identity):
    """Wherever embedding_can_change says no, every cosine in [-1, 1] (a dense grid, and both sides
    of the same-speaker flip) gives the decision the skip gives (the one without the embedding)."""
    skipped = 0
    for setting, sing_range, speech_f0, melody_f0, cues in _cases(160):
        if key.embedding_can_change(setting, speech_f0, melody_f0, cues, sing_range, identity):
            continue
        skipped += 1
        want = _outcome(setting, speech_f0, melody_f0, cues, sing_range, identity, None)
        hz = float(np.median(speech_f0))
        for c in COSINES + _even_odds_cosines(cues, hz):
            assert _outcome(setting, speech_f0, melody_f0, cues, sing_range, identity, c) == want, \
                (setting, sing_range, cues, c)
    if not identity:
        assert skipped >= 80    # the rule does skip: most clear cases need no embedding (149 of 160)
    # (with identity, the present weights let the embedding alone flip same_speaker for any signal
    # cues -- weight 1 of 1.7 against a 0.5 threshold -- so nothing is skipped; only soundness is
    # asserted, so that a change of the weights keeps this test meaningful)


def test_the_skip_rule_finds_cases_the_embedding_can_change():
    """Not a rule that always says 'skip': a melody whose octave hinges on who sings it."""
    speech_f0 = _f0(110.0, n=60)
    melody_f0 = _f0(110.0 * 2 ** (17.5 / 12), n=60)   # +17.5 st: kept if the user's own, else moved
    cues = key.VoiceCues(17.5, 1.10, 0.9)
    assert key.embedding_can_change("auto", speech_f0, melody_f0, cues, identity=False)
    outcomes = {_outcome("auto", speech_f0, melody_f0, cues, None, False, c)[0] for c in COSINES}
    assert outcomes == {0.0, -12.0}
    # a manual transposition does not depend on any cue
    assert not key.embedding_can_change(5.0, speech_f0, melody_f0, cues, identity=False)
    # without a formant cue the embedding is the only voice cue: never skipped
    assert key.embedding_can_change("auto", speech_f0, melody_f0, key.VoiceCues(17.5), identity=False)


@pytest.fixture(scope="module")
def voices():
    speech = _voice(115.0)
    return speech, world.analyze(speech), {
        "own, 9 st up": _voice(115.0 * 2 ** (9 / 12), seed=1),
        "own, 1 st down": _voice(115.0 * 2 ** (-1 / 12), seed=5),
        "female, 21 st up": _voice(115.0 * 2 ** (21 / 12), 1.18, seed=2),
        "female, 28 st up": _voice(115.0 * 2 ** (28 / 12), 1.18, seed=6),
    }


@pytest.mark.parametrize("identity", [False, True])
def test_choose_on_audio_skips_only_what_cannot_matter(voices, monkeypatch, identity):
    """key.choose on synthetic voices: when it skips the embedding, the decision with the
    embedding computed (forced, any value on the grid) has the same transposition (and
    same_speaker when ``identity``); when it does not skip, it computes it exactly once."""
    speech, feats, melodies = voices
    monkeypatch.setattr(key, "embedding_available", lambda: True)
    skipped = 0
    for name, melody in melodies.items():
        melody_f0 = fe.f0_praat(melody)
        for setting in ("auto", "fit"):
            calls = []
            monkeypatch.setattr(key, "embedding_cosine", lambda a, b: calls.append(1) or 0.66)
            d = key.choose(setting, speech, feats, melody_f0, melody, "auto", identity=identity)
            assert d.cues.formant_ratio is not None
            if d.cues.embedding == "skipped":
                skipped += 1
                assert calls == [] and d.cues.embedding_cosine is None and "embedding" not in d.cues.ran()
                # the embedding computed (forced) gives the same cues plus its cosine ...
                full = key.choose(setting, speech, feats, melody_f0, melody, "resemblyzer", identity=identity)
                assert full.cues.embedding == "ran" and full.cues.embedding_cosine == 0.66
                assert full.cues.formant_ratio == d.cues.formant_ratio and full.transpose == d.transpose
                # ... and whatever that cosine is, the same outcome
                want = (d.transpose, d.same_speaker if identity else None)
                for c in COSINES:
                    assert _outcome(setting, feats.f0, melody_f0, d.cues, None, identity, c) == want, (name, c)
            else:
                assert d.cues.embedding == "ran" and calls == [1] and d.cues.ran()[-1] == "embedding"
    assert skipped >= (0 if identity else 4), skipped


def test_choose_reports_why_the_embedding_did_not_run(voices, monkeypatch):
    speech, feats, melodies = voices
    melody = melodies["female, 21 st up"]
    melody_f0 = fe.f0_praat(melody)
    d = key.choose("auto", speech, feats, melody_f0, melody, "none")
    assert d.cues.embedding == "off" and d.cues.ran() == ["register", "formants"]
    monkeypatch.setattr(key, "embedding_available", lambda: False)
    assert key.choose("auto", speech, feats, melody_f0, melody, "auto").cues.embedding == "not installed"
    no_voice = key.choose("auto", speech, feats, _f0(300.0), None, "auto")
    assert no_voice.cues.embedding is None and no_voice.cues.ran() == ["register"]
    rep = d.cues.report()
    assert rep["embedding"] == "off" and rep["embedding_cosine"] is None
    assert math.isclose(rep["formant_ratio"], d.cues.formant_ratio, abs_tol=1e-4)
