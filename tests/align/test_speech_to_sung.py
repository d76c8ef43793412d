"""Speech-to-singing alignment: known WORLD re-timings of real speech, silence padding, a real pair."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.audio import io, world
from alignsts.align import features
from alignsts.align.speech_to_sung import AlignConfig, _core, align, source_per_frame

HOP = fe.HOP

# Speech rate -> "sung" rate per section: stretched 2.5-3x, compressed to 0.5-0.6x.
RATES = [1.0, 2.5, 0.5, 3.0, 0.6, 1.5]
KNOTS = [0, 0.2, 0.35, 0.55, 0.7, 0.85, 1.0]

def warp_map(n: int, rates=RATES, knots=KNOTS) -> np.ndarray:
    """g [M]: the (fractional) speech frame shown at each frame of the re-timed signal."""
    knots_s = np.asarray(knots) * (n - 1)
    knots_o = np.concatenate([[0.0], np.cumsum(np.diff(knots_s) * np.asarray(rates))])
    m = int(knots_o[-1]) + 1
    return np.interp(np.arange(m), knots_o, knots_s)


def retime(wav: np.ndarray, g: np.ndarray, semitones: float = 0.0) -> np.ndarray:
    """Re-time (and optionally transpose) speech with WORLD so that output frame j shows frame g[j]."""
    f = world.analyze(wav)
    idx = np.clip(np.round(g).astype(int), 0, len(f) - 1)
    y = world.synthesize(world.WorldFeatures(f.f0[idx] * 2 ** (semitones / 12), f.sp[idx], f.ap[idx]),
                         n_samples=len(g) * HOP - HOP // 2)
    assert fe.n_frames(len(y)) == len(g)
    return y


def room_tone(n_frames: int, seed: int, level: float = 2e-4) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(n_frames * HOP)).astype(np.float32)


def alignment_error(speech, sung, g, config=None, pad_speech=(0, 0), pad_sung=(0, 0)):
    """|source - truth| in frames on the active frames of the (re-timed) sung signal, plus the Alignment."""
    s = np.concatenate([room_tone(pad_speech[0], 1), speech, room_tone(pad_speech[1], 2)])
    r = np.concatenate([room_tone(pad_sung[0], 3), sung, room_tone(pad_sung[1], 4)])
    # pad only by whole hops so that the truth is an exact frame shift
    ali = align(fe.stft_magnitude(s), fe.stft_magnitude(r), config)
    m = len(g)
    src = ali.source[pad_sung[0]: pad_sung[0] + m] - pad_speech[0]
    act = ali.reference_active[pad_sung[0]: pad_sung[0] + m]
    return np.abs(src - g)[act], ali


def _check_alignment_object(ali, n, m):
    assert ali.source.shape == (m,) and ali.reference_active.shape == (m,) and ali.speech_active.shape == (n,)
    assert np.all(np.diff(ali.source) >= 0)
    assert ali.source.min() >= 0 and ali.source.max() <= n - 1
    steps = {tuple(s) for s in np.diff(ali.path, axis=0)}
    assert steps <= {(1, 1), (1, 0), (0, 1)}
    assert 0 <= ali.path[0, 0] and ali.path[-1, 0] <= n - 1 and ali.path[-1, 1] <= m - 1


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def demo_speech(demo_paths):
    return io.load(demo_paths[0])


@pytest.fixture(scope="module")
def demo_retimed(demo_speech):
    g = warp_map(fe.n_frames(len(demo_speech)))
    return demo_speech, retime(demo_speech, g, semitones=4.0), g


@pytest.fixture(scope="module")
def nhss2_retimed(sts_pair):
    speech = io.load(sts_pair("en-nhss-2")[0])
    g = warp_map(fe.n_frames(len(speech)))
    return speech, retime(speech, g, semitones=4.0), g


# ---------------------------------------------------------------- known re-timing
FAIR = AlignConfig(silence_weight=1.0, max_full_cells=20_000)   # small max_full_cells: multi-level path


def _assert_accurate(err):
    assert np.median(err) <= 1.5, np.median(err)
    assert np.percentile(err, 95) <= 5.0, np.percentile(err, 95)
    assert np.mean(err <= 5) >= 0.95, np.mean(err <= 5)


def test_known_retiming_demo_speech(demo_retimed):
    speech, sung, g = demo_retimed
    err, ali = alignment_error(speech, sung, g, FAIR)
    _check_alignment_object(ali, fe.n_frames(len(speech)), len(g))
    _assert_accurate(err)


def test_known_retiming_demo_speech_default_config(demo_retimed):
    speech, sung, g = demo_retimed
    err, _ = alignment_error(speech, sung, g, AlignConfig(max_full_cells=20_000))
    _assert_accurate(err)


@pytest.mark.realdata
def test_known_retiming_real_speech(nhss2_retimed):
    speech, sung, g = nhss2_retimed
    err, ali = alignment_error(speech, sung, g, FAIR)
    _check_alignment_object(ali, fe.n_frames(len(speech)), len(g))
    _assert_accurate(err)


@pytest.mark.realdata
def test_known_retiming_real_speech_default_config(nhss2_retimed):
    speech, sung, g = nhss2_retimed
    err, _ = alignment_error(speech, sung, g)
    _assert_accurate(err)


# ---------------------------------------------------------------- silence at the ends
PADS = {
    "sung-lead": dict(pad_sung=(90, 0)),
    "sung-trail": dict(pad_sung=(0, 120)),
    "sung-both": dict(pad_sung=(60, 100)),
    "speech-lead": dict(pad_speech=(80, 0)),
    "speech-both": dict(pad_speech=(70, 90)),
}


@pytest.mark.parametrize("pad", list(PADS), ids=list(PADS))
def test_silence_padding_keeps_accuracy(demo_retimed, pad):
    speech, sung, g = demo_retimed
    err, ali = alignment_error(speech, sung, g, FAIR, **PADS[pad])
    _assert_accurate(err)
    kw = PADS[pad]
    n = fe.n_frames(len(speech)) + sum(kw.get("pad_speech", (0, 0)))
    m = len(g) + sum(kw.get("pad_sung", (0, 0)))
    _check_alignment_object(ali, n, m)
    # the padding itself is silence
    lead, trail = kw.get("pad_sung", (0, 0))
    assert not ali.reference_active[:max(lead - 2, 0)].any()
    assert not ali.reference_active[m - max(trail - 2, 0):].any()


@pytest.mark.parametrize("pad", list(PADS), ids=list(PADS))
def test_silence_padding_does_not_change_default_alignment(demo_retimed, pad):
    """With the default config, added silence must leave the map of the active frames where it was."""
    speech, sung, g = demo_retimed
    kw = PADS[pad]
    err0, ali0 = alignment_error(speech, sung, g)
    err1, ali1 = alignment_error(speech, sung, g, **kw)
    lead_s, lead_r = kw.get("pad_speech", (0, 0))[0], kw.get("pad_sung", (0, 0))[0]
    m = len(g)
    src0 = ali0.source[:m]
    src1 = ali1.source[lead_r: lead_r + m] - lead_s
    act = ali0.reference_active[:m] & ali1.reference_active[lead_r: lead_r + m]
    assert act.mean() > 0.6
    assert np.mean(np.abs(src1 - src0)[act] <= 2) >= 0.98


def test_leading_reference_silence_maps_before_the_words(demo_retimed):
    speech, sung, g = demo_retimed
    _, ali = alignment_error(speech, sung, g, FAIR, pad_sung=(90, 0))
    s0, _ = _core(ali.speech_active)
    r0, _ = _core(ali.reference_active)
    assert r0 >= 88
    assert np.all(ali.source[:r0] < s0)
    assert ali.source[r0] >= s0


# ---------------------------------------------------------------- a real pair
@pytest.fixture(scope="module")
def nhss2_pair(sts_pair):
    speech, sing = sts_pair("en-nhss-2")
    s, r = io.load(speech), io.load(sing)
    return s, r, fe.f0_praat(s, official_shift=False), fe.f0_praat(r, official_shift=False)


def _voicing_agreement(nhss2_pair, config):
    s, r, fs, fr = nhss2_pair
    ali = align(fe.stft_magnitude(s), fe.stft_magnitude(r), config)
    _check_alignment_object(ali, len(fs), len(fr))
    sung_voiced = fr > 0
    to_voiced = np.mean(fs[ali.source][sung_voiced] > 0)
    to_silence = np.mean(~ali.speech_active[ali.source][sung_voiced])
    return to_voiced, to_silence


@pytest.mark.realdata
def test_real_pair_sung_vowels_map_to_spoken_voice(nhss2_pair):
    to_voiced, to_silence = _voicing_agreement(nhss2_pair, AlignConfig(silence_weight=1.0))
    assert to_voiced >= 0.65       # chance level (speech voiced fraction) is about 0.57
    assert to_silence <= 0.1


@pytest.mark.realdata
def test_real_pair_default_config_does_not_sing_over_pauses(nhss2_pair):
    to_voiced, to_silence = _voicing_agreement(nhss2_pair, None)
    assert to_silence <= 0.2
    assert to_voiced >= 0.5


# ---------------------------------------------------------------- helpers
def test_source_per_frame_takes_median_row():
    path = np.array([[0, 0], [1, 0], [2, 0], [3, 1], [3, 2], [4, 3], [5, 3]])
    np.testing.assert_array_equal(source_per_frame(path, 4), [1, 3, 3, 4])


def test_core_of_activity():
    assert _core(np.array([0, 0, 1, 1, 0, 1, 0], bool)) == (2, 6)
    assert _core(np.zeros(5, bool)) == (0, 5)


def test_active_frames_threshold():
    e = np.concatenate([np.full(50, -60.0), np.full(50, 20.0), np.full(20, -30.0)])
    act = features.active_frames(e)
    assert not act[:50].any() and act[50:100].all() and not act[100:].any()


def test_deltas_of_a_ramp():
    x = np.arange(20.0)[:, None] * np.array([[1.0, -2.0]])
    d = features.deltas(x)
    np.testing.assert_allclose(d[2:-2], np.tile([1.0, -2.0], (16, 1)))


def test_alignment_features_normalised_on_active_frames(demo_speech):
    mag = fe.stft_magnitude(demo_speech)
    act = features.active_frames(fe.frame_energy_db(mag))
    f = features.alignment_features(mag, act)
    assert f.shape == (len(mag), 2 * fe.ALIGN_N_CEPS) and np.all(np.isfinite(f))
    np.testing.assert_allclose(f[act, : fe.ALIGN_N_CEPS].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(f[act, : fe.ALIGN_N_CEPS].std(axis=0), 1, atol=1e-3)


def test_alignment_features_ignore_level_and_pitch(demo_speech):
    """Same words, 12 dB quieter and 4 semitones higher: features stay close frame by frame."""
    n = fe.n_frames(len(demo_speech))
    g = np.arange(n, dtype=float)
    other = 0.25 * retime(demo_speech, g, semitones=4.0)
    same = retime(demo_speech, g)
    fa, fb, fc = (features.alignment_features(m, features.active_frames(fe.frame_energy_db(m)))
                  for m in map(fe.stft_magnitude, (same, other, np.roll(same, 40 * HOP))))
    act = features.active_frames(fe.frame_energy_db(fe.stft_magnitude(same)))
    d_same = np.linalg.norm(fa - fb, axis=1)[act].mean()
    d_shifted = np.linalg.norm(fa - fc, axis=1)[act].mean()
    assert d_same < 0.5 * d_shifted
