"""Reference engine: end to end on the bundled example and on real pairs, plus its helpers."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts import api
from alignsts.audio import frontend as fe
from alignsts.audio import io
from alignsts.engines import reference as eng
from alignsts.errors import AlignSTSError, MelodyError
from alignsts.melody import key
from alignsts.eval import metrics

SR = fe.SAMPLE_RATE


def _f0(wav):
    return fe.f0_praat(wav, official_shift=False)


def _follow(out, ref_f0_target):
    """(median |cents| over frames voiced in both, fraction of target-voiced frames voiced in both)."""
    f_out = _f0(out)
    n = min(len(f_out), len(ref_f0_target))
    f_out, f_ref = f_out[:n], ref_f0_target[:n]
    both = (f_out > 0) & (f_ref > 0)
    cents = 1200 * np.log2(f_out[both] / f_ref[both])
    return float(np.median(np.abs(cents))), both.sum() / max((f_ref > 0).sum(), 1)


def spoken_coverage(source, speech_active, tol=3):
    """Fraction of the active (spoken) speech frames that the output uses (within +-tol frames)."""
    used = np.zeros(len(speech_active), bool)
    for d in range(-tol, tol + 1):
        used[np.clip(source + d, 0, len(used) - 1)] = True
    return used[speech_active].mean()


# ---------------------------------------------------------------- bundled example
def test_demo_output_length_and_finite(demo_conversion):
    result, speech, ref = demo_conversion
    assert result.sr == SR
    assert abs(len(result.wav) - len(ref)) <= fe.HOP
    assert result.wav.dtype == np.float32 and np.all(np.isfinite(result.wav))
    assert 0.01 < np.max(np.abs(result.wav)) <= 1.5


def test_demo_follows_reference_pitch(demo_conversion):
    result, _, ref = demo_conversion
    ref_f0 = _f0(ref)
    med, overlap = _follow(result.wav, ref_f0)
    assert med < 50.0
    assert overlap > 0.85
    assert metrics.rca(ref_f0, _f0(result.wav)) >= 0.9


def test_demo_analysis_is_consistent(demo_conversion):
    result, speech, ref = demo_conversion
    a = result.analysis
    n, m = fe.n_frames(len(speech)), fe.n_frames(len(ref))
    assert len(a.speech_f0) == len(a.speech_active) == n
    assert len(a.reference_f0) == len(a.target_f0) == len(a.source) == len(a.reference_active) == m
    assert np.all(np.diff(a.source) >= 0) and a.source.min() >= 0 and a.source.max() < n
    assert a.transpose == 0.0          # same-range voices: no octave shift
    v = a.target_f0 > 0
    assert np.all(a.reference_f0[a.reference_f0 > 0] > 0)
    both = v & (a.reference_f0 > 0)
    np.testing.assert_allclose(a.target_f0[both], a.reference_f0[both])   # transpose 0: the melody itself


def test_demo_uses_all_the_words(demo_conversion):
    result, _, _ = demo_conversion
    a = result.analysis
    assert spoken_coverage(a.source, a.speech_active) >= 0.9


def test_demo_transposed_down_an_octave(demo_paths):
    speech, sing = demo_paths
    result = api.convert(speech, reference=sing, transpose=-12)
    a = result.analysis
    assert a.transpose == -12
    v = a.reference_f0 > 0
    # target = reference melody an octave lower (bridged gaps aside)
    both = v & (a.target_f0 > 0)
    np.testing.assert_allclose(a.target_f0[both], a.reference_f0[both] / 2, rtol=1e-6)
    med, overlap = _follow(result.wav, _f0(io.load(sing)) / 2)
    assert med < 50.0 and overlap > 0.6


@pytest.mark.parametrize("variant", [
    dict(reference_f0="harvest"),
    dict(reference_f0="dio"),
    dict(consonant_rate=False),
    dict(bridge_gap_ms=0.0, min_voiced_ms=0.0),
])
def test_demo_config_variants(demo_paths, variant):
    speech, sing = demo_paths
    ref = io.load(sing)
    result = api.convert(speech, reference=sing, config=eng.ReferenceConfig(**variant))
    assert abs(len(result.wav) - len(ref)) <= fe.HOP and np.all(np.isfinite(result.wav))
    med, _ = _follow(result.wav, _f0(ref))
    assert med < 50.0
    assert metrics.rca(_f0(ref), _f0(result.wav)) >= 0.8


def test_follow_loudness_matches_reference_rhythm(demo_paths, demo_conversion):
    result, _, ref = demo_conversion
    speech, sing = demo_paths
    flat = api.convert(speech, reference=sing, config=eng.ReferenceConfig(follow_loudness=False))
    assert metrics.rrd(ref, result.wav) < 0.5 * metrics.rrd(ref, flat.wav)


def test_spectral_balance_moves_spectrum_toward_reference(demo_paths, demo_conversion):
    result, _, ref = demo_conversion
    speech, sing = demo_paths
    plain = api.convert(speech, reference=sing, config=eng.ReferenceConfig(balance_strength=0.0))
    # 3.72 -> 3.46 on the demo: per frame only the coarse shape (order 4) moves (issue 19)
    assert metrics.lsd(ref, result.wav) < metrics.lsd(ref, plain.wav) - 0.2


def test_own_singing_balance_follows_tilt_in_full_but_not_moving_formant_scale_shape():
    """Defaults for your own singing (issue 19): the reference's tilt as it changes over time
    is taken in full; formant-scale shape (cepstral order 6) that changes from frame to frame
    (the reference's vowel at that instant, which the alignment places a few frames off) is
    taken only as its time-invariant mean."""
    from scipy.fft import dct, idct

    cfg = eng.ReferenceConfig()
    n, k = 80, 257
    rng = np.random.default_rng(5)
    sp = np.exp(0.3 * rng.standard_normal((n, k)))
    blocks = np.repeat(np.arange(n // 20), 20)
    tilt = np.array([0.0, 2.0, -1.0, 1.0])[blocks]                    # effort changes per block
    shape = np.array([1.5, -1.5, 1.5, -1.5])[blocks]                  # mean 0
    basis = lambda order: idct(np.eye(k)[order], type=2, norm="ortho")
    ref = sp * np.exp(tilt[:, None] * basis(1)[None, :] + shape[:, None] * basis(6)[None, :])
    out = sp.copy()
    eng.apply_spectral_balance(out, lambda a, b: ref[a:b], np.ones(n, bool), cfg.balance_frame_order,
                               cfg.balance_global_order, eng.SAME_SPEAKER_BALANCE, 3)
    moved = dct(np.log(out / sp), type=2, norm="ortho", axis=1)
    mid = np.array([10, 30, 50, 70])
    np.testing.assert_allclose(moved[mid, 1], tilt[mid], atol=0.05)     # tilt: all of it, frame by frame
    assert np.abs(moved[mid, 6]).max() < 0.05 * np.abs(shape).max()   # moving formant-scale shape: none


def test_progress_reports_stages_in_order(demo_paths):
    speech, sing = demo_paths
    seen = []
    api.convert((io.load(speech)[: 2 * SR], SR), reference=(io.load(sing)[: 3 * SR], SR),
                progress=lambda stage, frac: seen.append((stage, frac)))
    stages = [s for s, _ in seen]
    order = ["melody", "analysis", "alignment", "key", "synthesis", "done"]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == order
    assert all(0.0 <= f <= 1.0 for _, f in seen)
    assert seen[-1] == ("done", 1.0)


# ---------------------------------------------------------------- inputs with nothing to follow
def test_noise_reference_has_no_melody(demo_paths):
    rng = np.random.default_rng(0)
    noise = (0.3 * rng.standard_normal(2 * SR)).astype(np.float32)
    with pytest.raises(MelodyError, match="no voiced"):
        eng.convert(io.load(demo_paths[0]), noise)


def test_unvoiced_speech_still_converts(demo_paths):
    rng = np.random.default_rng(1)
    whisper = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    ref = io.load(demo_paths[1])
    y, a = eng.convert(whisper, ref)
    assert len(y) == len(ref) and np.all(np.isfinite(y))
    assert a.transpose == 0.0


def test_transpose_settings_are_validated_and_range_checked():
    speech, melody = np.full(10, 100.0), np.full(10, 400.0)   # melody 24 st up, no voice: octaves
    assert key.decide("auto", speech, melody).transpose == -12.0
    assert key.decide("AUTO", speech, melody).transpose == -12.0
    assert key.decide(None, speech, melody).transpose == -12.0
    assert key.decide(3, speech, melody).transpose == 3.0
    assert key.decide("-5", speech, melody).transpose == -5.0
    assert key.decide("fit", speech, melody).mode == "fit"
    for bad in ("up", 1000, float("nan"), float("inf")):
        with pytest.raises(AlignSTSError, match="transpose must be 'auto' or 'fit' or semitones from -36 to 36"):
            key.decide(bad, speech, melody)
    with pytest.raises(MelodyError, match="outside the 20-2100 Hz a voice can sing"):
        key.decide(36, speech, melody)     # 400 Hz * 8 = 3200 Hz


# ---------------------------------------------------------------- helpers
def test_keep_consonant_rate_plays_cluster_once_at_the_end():
    consonant = np.zeros(20, bool)
    consonant[5:7] = True                       # a 2-frame consonant cluster
    source = np.array([3, 4, 5, 5, 5, 5, 5, 6, 6, 6, 7, 8])
    out = eng.keep_consonant_rate(source, consonant, max_len=10)
    # the run of 8 output frames showing frames 5..6 becomes: hold 4, then 5, 6 once
    np.testing.assert_array_equal(out, [3, 4, 4, 4, 4, 4, 4, 4, 5, 6, 7, 8])
    assert np.all(np.diff(out) >= 0)


def test_keep_consonant_rate_leaves_long_clusters_and_vowels():
    consonant = np.zeros(30, bool)
    consonant[2:20] = True                      # longer than max_len: left alone
    source = np.repeat(np.arange(25), 2)
    np.testing.assert_array_equal(eng.keep_consonant_rate(source, consonant, max_len=5), source)
    np.testing.assert_array_equal(eng.keep_consonant_rate(source, np.zeros(30, bool), max_len=5), source)


def test_skip_silent_sources_holds_last_spoken_frame():
    speech_active = np.array([1, 1, 1, 0, 0, 1, 1], bool)
    source = np.array([0, 1, 2, 3, 4, 4, 5, 6])
    ref_active = np.array([1, 1, 1, 1, 1, 0, 1, 1], bool)
    out = eng.skip_silent_sources(source, speech_active, ref_active)
    np.testing.assert_array_equal(out, [0, 1, 2, 2, 2, 4, 5, 6])


def test_skip_silent_sources_leading():
    speech_active = np.array([0, 0, 1, 1], bool)
    out = eng.skip_silent_sources(np.array([0, 1, 2, 3]), speech_active, np.ones(4, bool))
    np.testing.assert_array_equal(out, [2, 2, 2, 3])


def test_skip_silent_sources_first_note_after_an_intro():
    """A song: an intro the reference does not sing (mapped to the speech's leading silence),
    then its first note, still mapped to that silence: the note takes the first spoken frame
    (with the intro's unsung frames taken for 'spoken' it held the silence)."""
    speech_active = np.array([0, 0, 0, 1, 1, 1], bool)
    source = np.array([0, 0, 1, 1, 2, 2, 3, 4, 5])
    ref_active = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1], bool)
    out = eng.skip_silent_sources(source, speech_active, ref_active)
    np.testing.assert_array_equal(out, [0, 0, 1, 3, 3, 3, 3, 4, 5])


def test_consonant_frames():
    f0 = np.array([0, 100, 0, 0, 120])
    active = np.array([1, 1, 1, 0, 1], bool)
    np.testing.assert_array_equal(eng.consonant_frames(f0, active), [True, False, True, False, False])


def test_loudness_gain_and_frame_gain():
    t = np.arange(SR) / SR
    quiet = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    loud = 4.0 * quiet
    gain = eng.loudness_gain(fe.log_mel(quiet), fe.log_mel(loud), max_db=40.0)
    mid = slice(10, -10)
    np.testing.assert_allclose(gain[mid], 4.0, rtol=0.05)           # amplitude ratio recovered
    capped = eng.loudness_gain(fe.log_mel(quiet), fe.log_mel(loud), max_db=6.0)
    assert capped.max() <= 10 ** (6 / 20) + 1e-9
    y = eng.apply_frame_gain(quiet, gain)
    assert len(y) == len(quiet)
    np.testing.assert_allclose(np.abs(y[SR // 4: 3 * SR // 4]).max(), 0.2, rtol=0.05)


def _balanced(sp, ref, active, strength=1.0, smooth=3, frame_order=8, global_order=64):
    out = sp.copy()
    eng.apply_spectral_balance(out, lambda a, b: ref[a:b], active, frame_order, global_order, strength, smooth)
    return out


def test_spectral_balance_identity_strength_and_flat_gain():
    rng = np.random.default_rng(0)
    sp = np.exp(rng.standard_normal((40, 513)))
    active = np.ones(40, bool)
    np.testing.assert_allclose(_balanced(sp, sp, active), sp, rtol=1e-9)         # same envelope: no change
    np.testing.assert_allclose(_balanced(sp, 2 * sp, active, strength=0.0), sp)  # strength 0: no change
    np.testing.assert_allclose(_balanced(sp, 2 * sp, active), 2 * sp, rtol=1e-6)  # a flat 2x is taken over


def test_spectral_balance_takes_coarse_shape_only():
    rng = np.random.default_rng(1)
    k = 513
    sp = np.exp(rng.standard_normal((30, k)))
    tilt = np.exp(np.linspace(0, -3, k))[None, :]                     # smooth spectral tilt
    out = _balanced(sp, sp * tilt, np.ones(30, bool))
    np.testing.assert_allclose(np.log(out / sp), np.log(tilt).repeat(30, 0), atol=0.15)
    fine = np.exp(0.5 * np.sign(np.sin(np.arange(k) * 2.0)))[None, :]  # fine (harmonic-like) detail
    out2 = _balanced(sp, sp * fine, np.ones(30, bool), global_order=8)
    assert np.std(np.log(out2 / sp)) < 0.2 * np.std(np.log(fine))


def test_spectral_balance_chunking_is_invisible(monkeypatch):
    rng = np.random.default_rng(2)
    n, k = 70, 65
    sp = np.exp(rng.standard_normal((n, k)))
    ref = np.exp(rng.standard_normal((n, k)))
    active = rng.random(n) > 0.3
    whole = _balanced(sp, ref, active, smooth=5, frame_order=4, global_order=20)
    monkeypatch.setattr(eng, "BALANCE_CHUNK", 9)
    chunked = _balanced(sp, ref, active, smooth=5, frame_order=4, global_order=20)
    np.testing.assert_allclose(chunked, whole, rtol=1e-9)


@pytest.mark.parametrize("chunk", [4096, 9])
def test_spectral_balance_analyses_the_reference_once_per_window(monkeypatch, chunk):
    """No second analysis: the global mean and the per-block pass read the reference envelope's
    windows through one kept block, so a short input (one block) asks for its envelope once and a
    long one asks for block 0 once; the result equals that of an envelope read afresh each time."""
    rng = np.random.default_rng(3)
    n, k = 70, 65
    sp = np.exp(rng.standard_normal((n, k)))
    ref = np.exp(rng.standard_normal((n, k)))
    active = rng.random(n) > 0.3
    monkeypatch.setattr(eng, "BALANCE_CHUNK", chunk)
    calls = []

    def envelope(a, b):
        calls.append((a, b))
        return ref[a:b].copy()
    out = sp.copy()
    eng.apply_spectral_balance(out, envelope, active, 4, 20, 1.0, 5)
    blocks = -(-n // chunk)
    assert len(calls) == 2 * blocks - 1 and len(set(calls)) == blocks, calls
    np.testing.assert_allclose(out, _balanced(sp, ref, active, smooth=5, frame_order=4, global_order=20), rtol=1e-12)


def test_spectral_balance_of_another_voice_ignores_its_colour():
    rng = np.random.default_rng(3)
    n, k = 60, 257
    sp = np.exp(rng.standard_normal((n, k)))
    colour = np.exp(np.linspace(0, -3, k))[None, :]                    # their time-invariant colour
    out = sp.copy()
    eng.apply_spectral_balance(out, lambda a, b: (sp * colour)[a:b], np.ones(n, bool), 8, 64, 1.0, 3,
                               keep_colour=False)
    np.testing.assert_allclose(out, sp, rtol=1e-6)                     # nothing of the colour is taken
    swell = np.exp(np.linspace(-1, 1, n))[:, None] * np.exp(np.linspace(0, -1, k))[None, :]
    out = sp.copy()                                                    # a tilt that changes over time
    eng.apply_spectral_balance(out, lambda a, b: (sp * colour * swell)[a:b], np.ones(n, bool), 8, 64, 1.0, 1,
                               keep_colour=False)
    moved = np.log(out / sp)
    want = np.log(swell) - np.log(swell).mean(axis=0)                  # how it moves, around its mean
    np.testing.assert_allclose(moved[5:-5], want[5:-5], atol=0.1)


@pytest.mark.parametrize("keep_colour", [True, False])
def test_spectral_balance_mean_given_for_a_piece_equals_the_mean_taken(keep_colour):
    """A piece of a long conversion gets the whole song's mean (global_ceps): given that same
    mean, the result equals the one-piece computation, with or without the reference's colour."""
    rng = np.random.default_rng(4)
    n, k = 50, 129
    sp = np.exp(rng.standard_normal((n, k)))
    ref = np.exp(rng.standard_normal((n, k)))
    active = rng.random(n) > 0.2
    taken = sp.copy()
    eng.apply_spectral_balance(taken, lambda a, b: ref[a:b], active, 4, 20, 0.7, 3, keep_colour=keep_colour)
    mean = eng._log_diff_ceps(sp[active], ref[active], 20).mean(axis=0)
    given = sp.copy()
    eng.apply_spectral_balance(given, lambda a, b: ref[a:b], active, 4, 20, 0.7, 3, global_ceps=mean,
                               keep_colour=keep_colour)
    np.testing.assert_allclose(given, taken, rtol=1e-9)
    assert not np.allclose(taken, sp)


def _decision(same):
    from alignsts.melody import key

    return key.KeyDecision(transpose=0.0, mode="auto", reason="", same_speaker_score=0.9 if same else 0.1,
                           same_speaker=same, register_octaves=0, speech_median_hz=120.0,
                           melody_median_hz=200.0, sung_range_hz=(120.0, 300.0))


def test_balance_for_follows_the_speaker_decision_unless_set():
    assert eng.balance_for(None, _decision(True)) == (eng.SAME_SPEAKER_BALANCE, "same")
    assert eng.balance_for(None, _decision(False)) == (eng.OTHER_SPEAKER_BALANCE, "other")
    assert eng.balance_for(0.2, _decision(False)) == (0.2, "set")
    assert eng.balance_for(0.0, _decision(True)) == (0.0, "set")


def test_analysis_says_what_key_and_balance_were_chosen(demo_conversion):
    a = demo_conversion[0].analysis
    assert a.key is not None and a.key.transpose == a.transpose and a.key.mode == "auto"
    assert a.key.same_speaker_score is not None and a.key.reason
    assert a.balance[1] in ("same", "other") and a.balance[0] > 0


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("balance", [None, 0.5])
def test_the_embedding_runs_exactly_when_it_could_change_the_key_or_the_balance(demo_conversion, monkeypatch,
                                                                                 balance, threads):
    """Cheap cues first: the reference engine computes the embedding iff key.embedding_can_change
    says some value of it could change the transposition or, with the balance decided by who sings
    (balance_strength None), same_speaker. With a second thread it is computed beside the analysis
    from the start (once), and used exactly when it could matter."""
    from alignsts.audio import chunks
    from alignsts.melody import key

    _, speech, sing = demo_conversion
    calls = []
    monkeypatch.setattr(key, "embedding_available", lambda: True)
    monkeypatch.setattr(key, "embedding_cosine", lambda a, b: calls.append(1) or 0.9)
    _, a = eng.convert(speech, sing, eng.ReferenceConfig(balance_strength=balance,
                                                         pieces=chunks.PieceConfig(threads=threads)))
    c = a.key.cues
    signal = key.VoiceCues(c.register_st, c.formant_ratio, c.envelope_match)
    matters = key.embedding_can_change("auto", a.speech_f0, a.reference_f0, signal, identity=balance is None)
    assert c.embedding == ("ran" if matters else "skipped")
    assert c.embedding_cosine == (0.9 if matters else None)
    assert len(calls) == (1 if matters or threads > 1 else 0)


def test_fit_and_formant_through_the_api(demo_paths, centroid):
    speech, sing = demo_paths
    s, r = io.load(speech)[: 2 * SR], io.load(sing)[: 3 * SR]
    fit = api.convert((s, SR), reference=(r, SR), transpose="fit", config=eng.ReferenceConfig(speaker_embedding="none"))
    assert fit.analysis.key.mode == "fit" and fit.analysis.transpose == int(fit.analysis.transpose)
    plain = api.convert((s, SR), reference=(r, SR), transpose=0, config=eng.ReferenceConfig(speaker_embedding="none"))
    bright = api.convert((s, SR), reference=(r, SR), transpose=0, formant=1.2,
                         config=eng.ReferenceConfig(speaker_embedding="none"))
    assert len(bright.wav) == len(plain.wav) and np.all(np.isfinite(bright.wav))
    # the pitch stays, the spectrum moves up: higher spectral centroid
    np.testing.assert_allclose(bright.analysis.target_f0, plain.analysis.target_f0)


    assert centroid(bright.wav) > 1.05 * centroid(plain.wav)
    with pytest.raises(AlignSTSError, match="formant"):
        api.convert((s, SR), reference=(r, SR), formant=2.0)
    with pytest.raises(AlignSTSError, match="transpose"):
        api.convert((s, SR), reference=(r, SR), transpose="up")


# ---------------------------------------------------------------- real pairs
@pytest.mark.realdata
@pytest.mark.parametrize("pair", ["en-nhss-2", "zh-svpt-5"])
def test_real_pair_rca(sts_pair, pair):
    speech, sing = sts_pair(pair)
    result = api.convert(speech, reference=sing)
    ref = io.load(sing)
    assert abs(len(result.wav) - len(ref)) <= fe.HOP and np.all(np.isfinite(result.wav))
    scores = metrics.score(ref, result.wav, with_mcd=False)
    assert scores.rca >= 0.9
    assert scores.f0_rmse_cents < 50


@pytest.mark.realdata
def test_real_pair_sings_all_the_words(sts_pair):
    speech, sing = sts_pair("en-nhss-2")
    a = api.convert(speech, reference=sing).analysis
    assert spoken_coverage(a.source, a.speech_active) >= 0.7


# ---------------------------------------------------------------- long inputs in pieces
def test_conversion_in_pieces_approximates_the_whole(demo_paths, demo_conversion):
    """Small pieces (about 1.5 s) and analysis windows (1 s) on the demo: same alignment and
    melody, the same sound up to WORLD's noise, and no clicks at the joins."""
    from alignsts.audio import chunks

    whole, speech, ref = demo_conversion
    cfg = eng.ReferenceConfig(pieces=chunks.PieceConfig(piece_s=1.5, analysis_s=1.0, analysis_margin_s=0.5))
    y, a = eng.convert(speech, ref, cfg)
    assert len(y) == len(whole.wav) and y.dtype == np.float32
    assert np.mean(np.abs(a.reference_f0 - whole.analysis.reference_f0) < 1.0) > 0.97
    assert np.mean(np.abs(a.source - whole.analysis.source) <= 2) > 0.95
    assert np.corrcoef(y, whole.wav)[0, 1] > 0.85     # 0.90: WORLD noise differs per piece
    assert metrics.lsd(whole.wav, y) < 1.8
    assert abs(metrics.lsd(ref, y) - metrics.lsd(ref, whole.wav)) < 0.3
    assert metrics.rca(_f0(ref), _f0(y)) >= metrics.rca(_f0(ref), _f0(whole.wav)) - 0.02
    # no clicks: the largest sample-to-sample step is no larger than in the one-piece output
    assert np.max(np.abs(np.diff(y))) < 1.2 * np.max(np.abs(np.diff(whole.wav)))


# ---------------------------------------------------------------- unrelated inputs
def _alignment(cost, spoken, sung):
    from alignsts.align.speech_to_sung import Alignment

    act_s = np.zeros(1000, bool)
    act_s[:spoken] = True
    act_r = np.zeros(1000, bool)
    act_r[:sung] = True
    return Alignment(path=np.zeros((1, 2), int), source=np.zeros(1000, int), speech_active=act_s,
                     reference_active=act_r, cost_ratio=cost)


def test_unrelated_warnings_on_cost_and_length():
    assert eng.unrelated_warnings(_alignment(0.6, 300, 400)) == []
    assert eng.unrelated_warnings(_alignment(0.6, 300, 890)) == []            # 2.97x: still a pair
    (msg,) = eng.unrelated_warnings(_alignment(0.6, 200, 700))
    assert "3x" in msg and "same words" in msg
    (msg,) = eng.unrelated_warnings(_alignment(eng.ALIGN_COST_WARN + 0.05, 300, 400))
    assert "align poorly" in msg
    assert len(eng.unrelated_warnings(_alignment(0.9, 900, 100))) == 2


def test_length_mismatch_warns_but_converts(demo_paths, caplog):
    speech, sing = demo_paths
    s, r = io.load(speech), io.load(sing)
    with caplog.at_level("WARNING", logger="alignsts"):
        y, _ = eng.convert(s, np.tile(r, 2))
    assert len(y) == 2 * len(r)
    assert any("3x" in rec.getMessage() for rec in caplog.records)


def test_real_pair_does_not_warn_and_mismatched_pair_does(sts_pair, caplog):
    from alignsts.align.speech_to_sung import align_stats
    from alignsts.audio import chunks

    en_speech, en_sing = sts_pair("en-nhss-10")
    _, zh_sing = sts_pair("zh-svpt-5")
    stats = {p: chunks.spectral_stats(io.load(p)) for p in (en_speech, en_sing, zh_sing)}
    same = align_stats(*stats[en_speech], *stats[en_sing])
    other = align_stats(*stats[en_speech], *stats[zh_sing])
    assert eng.unrelated_warnings(same) == []
    assert same.cost_ratio < eng.ALIGN_COST_WARN - 0.1
    assert any("align poorly" in w for w in eng.unrelated_warnings(other))


# ---------------------------------------------------------------- output level
@pytest.mark.parametrize("gain_db", [0.0, -12.0])
def test_default_level_is_the_references(demo_paths, demo_conversion, gain_db):
    """By default the output's integrated loudness is the reference's (within 0.5 LU), whatever
    level the reference has; the peak stays at most -1 dBFS."""
    from alignsts.audio import level

    result, _, ref = demo_conversion
    speech, _ = demo_paths
    if gain_db:
        ref = (ref * level.db_to_gain(gain_db)).astype(np.float32)
        result = api.convert(speech, reference=(ref, SR))
    ref_lufs = level.integrated_loudness(ref, SR)
    assert level.integrated_loudness(result.wav, SR) == pytest.approx(ref_lufs, abs=0.5)
    assert level.peak_dbfs(result.wav) <= level.PEAK_DBFS + 1e-3


def test_loudness_option_still_sets_or_keeps_the_level(demo_paths):
    from alignsts.audio import level

    speech, sing = demo_paths
    ref = io.load(sing) * level.db_to_gain(-10.0)
    fixed = api.convert(speech, reference=(ref, SR), loudness=-30.0)
    assert level.integrated_loudness(fixed.wav, SR) == pytest.approx(-30.0, abs=0.2)
    kept = api.convert(speech, reference=(ref, SR), loudness="off")
    followed = api.convert(speech, reference=(ref, SR))
    # 'off' is the engine's level: the same audio as the default up to one gain
    g = float(np.dot(followed.wav, kept.wav) / np.dot(kept.wav, kept.wav))
    assert np.allclose(followed.wav, g * kept.wav, atol=1e-4)
    with pytest.raises(AlignSTSError, match="loudness"):
        api.convert(speech, reference=sing, loudness="loud")
