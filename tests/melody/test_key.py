"""Key selection: octave and semitone choice from the speech and the melody's voice."""
import math

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.audio import world
from alignsts.errors import AlignSTSError, MelodyError
from alignsts.melody import key


def _f0(hz: float, n: int = 400, glide: float = 2.0) -> np.ndarray:
    """A voiced contour around ``hz`` moving +-``glide`` semitones: [n] Hz."""
    return hz * 2.0 ** (glide * np.sin(np.linspace(0, 6, n)) / 12.0)


def _st(a_hz: float, b_hz: float) -> float:
    return 12.0 * math.log2(b_hz / a_hz)


def _wobbly(median_hz, n=400, seed=0, unvoiced_every=7):
    """A wobbly voiced contour around ``median_hz`` with some unvoiced frames."""
    rng = np.random.default_rng(seed)
    f0 = median_hz * 2 ** (rng.uniform(-3, 3, n) / 12)
    f0 = f0 * median_hz / np.median(f0)
    f0[::unvoiced_every] = 0.0
    return f0


def test_median_semitones():
    assert key.median_semitones(np.array([0, 440.0, 440.0, 0])) == pytest.approx(0.0)
    assert key.median_semitones(np.array([220.0, 0, 220.0])) == pytest.approx(-12.0)
    assert np.isnan(key.median_semitones(np.zeros(5)))


@pytest.mark.parametrize("speech_hz,above,expected", [
    (120.0, 8.0, 0),       # the melody sits 8 st above the speaking voice
    (120.0, 24.0, -12),    # melody two octaves above
    (200.0, -12.0, 12),    # melody an octave below the speaking voice
    (120.0, 0.0, 0),
    (120.0, 15.8, 0),      # the top of the measured same-speaker range
    (120.0, -0.4, 0),      # the bottom of it
    (220.0, 36.0, -24),
    (200.0, -26.0, 24),
])
def test_auto_for_a_melody_without_a_voice(speech_hz, above, expected):
    speech = _wobbly(speech_hz, seed=1)
    melody = _wobbly(speech_hz * 2 ** (above / 12), seed=2, unvoiced_every=3)
    assert key.decide("auto", speech, melody).transpose == expected
    low, high = key.SCORE_WINDOW
    assert low <= above + expected < high


# --- decisions from cues ------------------------------------------------------------------

def test_male_speaker_with_female_register_reference_moves_down_an_octave():
    speech, melody = _f0(110.0), _f0(110.0 * 2 ** (20 / 12))   # melody 20 st above the speaking median
    cues = key.VoiceCues(register_st=_st(110.0, 110.0 * 2 ** (20 / 12)), formant_ratio=1.18)
    d = key.decide("auto", speech, melody, cues)
    assert d.transpose == -12.0 and d.register_octaves == 1 and d.same_speaker is False
    assert "another voice" in d.reason and "down" in d.reason


def test_female_register_reference_near_the_top_of_a_male_range_still_moves_with_its_formants():
    # +13 st lies inside the sung range: the F0 alone would keep it; the formants say female
    speech, melody = _f0(110.0), _f0(110.0 * 2 ** (13 / 12))
    cues = key.VoiceCues(register_st=13.0, formant_ratio=1.2)
    assert key.decide("auto", speech, melody, cues).transpose == -12.0
    same_tract = key.VoiceCues(register_st=13.0, formant_ratio=1.0)
    assert key.decide("auto", speech, melody, same_tract).transpose == 0.0


def test_a_formant_ratio_at_the_search_bound_does_not_count_as_registers():
    # a high speaker (229 Hz) and a tenor singing 5 st above her speaking voice: the envelopes
    # match at no warp (ratio pinned at the bound); the F0 alone decides: inside her sung range
    lo, hi = key.FORMANT_SEARCH
    speech, melody = _f0(229.0), _f0(229.0 * 2 ** (5 / 12))
    pinned = key.VoiceCues(register_st=5.0, formant_ratio=lo)
    assert key.formant_at_bound(lo) and key.formant_at_bound(hi) and not key.formant_at_bound(0.85)
    assert key.register_estimate(pinned, 229.0) is None
    d = key.decide("auto", speech, melody, pinned)
    assert d.transpose == 0.0 and d.same_speaker is False          # still another voice, melody kept
    measured = key.VoiceCues(register_st=5.0, formant_ratio=0.76)   # a real ratio inside the search
    assert key.register_estimate(measured, 229.0) == -1.0           # (clipped to one register)
    assert key.decide("auto", speech, melody, measured).transpose == 12.0


def test_same_register_reference_stays():
    speech, melody = _f0(110.0), _f0(110.0 * 2 ** (8 / 12))
    cues = key.VoiceCues(register_st=8.0, formant_ratio=1.01)
    d = key.decide("auto", speech, melody, cues)
    assert d.transpose == 0.0 and d.register_octaves == 0 and d.same_speaker is True
    assert "melody kept" in d.reason and d.summary().startswith("transpose +0 st")   # never "-0"


def test_female_speaker_with_male_reference_moves_up_an_octave():
    speech, melody = _f0(220.0), _f0(220.0 * 2 ** (-3 / 12))
    cues = key.VoiceCues(register_st=-3.0, formant_ratio=0.84)
    d = key.decide("auto", speech, melody, cues)
    assert d.transpose == 12.0 and d.register_octaves == -1


def test_a_low_speaker_never_meets_a_lower_register_and_a_high_one_never_a_higher():
    # formant ratio says "lower voice" but the speaker is already in the low register
    assert key.decide("auto", _f0(110.0), _f0(115.0), key.VoiceCues(register_st=0.8, formant_ratio=0.82)).transpose == 0
    # a soprano's own high singing reads as raised formants: a high speaker is not moved down
    assert key.decide("auto", _f0(220.0), _f0(440.0), key.VoiceCues(register_st=12.0, formant_ratio=1.25)).transpose == 0


def test_the_embedding_vetoes_a_move_when_it_says_same_person():
    cues = key.VoiceCues(register_st=14.0, formant_ratio=1.12, embedding_cosine=0.85)
    d = key.decide("auto", _f0(110.0), _f0(110.0 * 2 ** (14 / 12)), cues)
    assert d.same_speaker and d.transpose == 0
    cues.embedding_cosine = 0.5
    assert key.decide("auto", _f0(110.0), _f0(110.0 * 2 ** (14 / 12)), cues).transpose == -12


def test_melody_without_a_voice_moves_only_outside_the_score_window():
    speech = _f0(110.0)
    assert key.decide("auto", speech, _f0(110.0 * 2 ** (10 / 12))).transpose == 0      # a score in range stays
    assert key.decide("auto", speech, _f0(110.0 * 2 ** (25 / 12))).transpose == -12
    assert key.decide("auto", speech, _f0(110.0 * 2 ** (-20 / 12))).transpose == 24
    d = key.decide("auto", speech, _f0(300.0))
    assert d.same_speaker is None and d.same_speaker_score is None and "without a voice" in d.reason


def test_unvoiced_inputs_keep_the_melody():
    assert key.decide("auto", np.zeros(50), _f0(200.0)).transpose == 0
    assert key.decide("fit", _f0(200.0), np.zeros(50)).transpose == 0


@pytest.mark.parametrize("offset", [-20.0, -7.0, 3.0, 21.0, 30.0])
def test_fit_puts_the_melody_inside_the_sung_range(offset):
    speech = _f0(120.0)
    melody = _f0(120.0 * 2 ** (offset / 12), glide=3.0)
    d = key.decide("fit", speech, melody)
    assert d.mode == "fit" and d.transpose == int(d.transpose)
    shifted = key.median_semitones(melody) + d.transpose - key.median_semitones(speech)
    lo, hi = key.SUNG_ABOVE_SPOKEN
    assert lo <= shifted <= hi
    p = 12 * np.log2(melody * 2 ** (d.transpose / 12) / 440.0)
    s = key.median_semitones(speech)
    assert np.mean((p >= s + lo - 1e-9) & (p <= s + hi + 1e-9)) >= 0.8   # the 10th-90th percentile core


def test_fit_keeps_a_melody_that_already_fits():
    speech, melody = _f0(120.0), _f0(120.0 * 2 ** (7 / 12))
    assert key.decide("fit", speech, melody).transpose == 0


def test_fit_centres_a_melody_wider_than_the_range():
    speech = _f0(120.0)
    melody = _f0(120.0 * 2 ** (30 / 12), glide=14.0)   # spans 28 st
    d = key.decide("fit", speech, melody)
    mid = np.median(12 * np.log2(melody / 440.0) + d.transpose)
    s = key.median_semitones(speech)
    assert abs(mid - (s + sum(key.SUNG_ABOVE_SPOKEN) / 2)) <= 0.5


def test_manual_setting_is_kept_and_explained():
    d = key.decide(-5, _f0(110.0), _f0(300.0), key.VoiceCues(register_st=17.0, formant_ratio=1.2))
    assert d.transpose == -5 and d.mode == "manual" and "set by hand" in d.reason


@pytest.mark.parametrize("bad", ["loud", "nan", float("inf"), [1], 99])
def test_parse_setting_rejects_nonsense(bad):
    with pytest.raises(AlignSTSError):
        key.parse_setting(bad)


def test_parse_setting():
    assert key.parse_setting(None) == "auto"
    assert key.parse_setting("AUTO") == "auto"
    assert key.parse_setting("Fit") == "fit"
    assert key.parse_setting("-12") == -12.0
    assert key.parse_setting(3) == 3.0


def test_sung_range_follows_the_speaking_median():
    lo, hi = key.sung_range(np.full(100, 220.0))
    assert lo == pytest.approx(key.median_semitones(np.full(1, 220.0)) + key.SUNG_ABOVE_SPOKEN[0])
    assert hi - lo == pytest.approx(key.SUNG_ABOVE_SPOKEN[1] - key.SUNG_ABOVE_SPOKEN[0])


# --- cues from audio ----------------------------------------------------------------------

FORMANTS = ((650.0, 90.0), (1100.0, 110.0), (2500.0, 160.0), (3500.0, 220.0))


def _envelope(k: int, formant_scale: float = 1.0) -> np.ndarray:
    """A power envelope [k] over 0..12 kHz with four formant peaks and a falling tilt."""
    f = np.arange(k) * 12000.0 / (k - 1)
    log_sp = -f / 2500.0
    for centre, bw in FORMANTS:
        log_sp = log_sp + 3.0 * np.exp(-0.5 * ((f - centre * formant_scale) / (bw * formant_scale)) ** 2)
    return np.exp(2 * log_sp) * 1e-3


def _voice(f0_hz: float, formant_scale: float = 1.0, seconds: float = 1.6, seed: int = 0) -> np.ndarray:
    """A WORLD-synthesised vowel-like voice with gliding pitch: [N] at 24 kHz."""
    n = fe.n_frames(int(seconds * fe.SAMPLE_RATE))
    k = world.fft_size() // 2 + 1
    f0 = _f0(f0_hz, n, glide=2.0)
    rng = np.random.default_rng(seed)
    sp = np.tile(_envelope(k, formant_scale), (n, 1)) * np.exp(rng.normal(0, 0.05, (n, 1)))
    ap = np.full((n, k), 0.05)
    return world.synthesize(world.WorldFeatures(f0, sp, ap), n_samples=int(seconds * fe.SAMPLE_RATE))


def test_formant_ratio_finds_a_known_warp():
    k = world.fft_size() // 2 + 1
    base = np.log(_envelope(k))
    for scale in (0.85, 1.0, 1.18):
        ratio, match = key.formant_ratio(base, np.log(_envelope(k, scale)))
        assert ratio == pytest.approx(scale, rel=0.03)
        assert match > 0.9


def _band_limited(log_env: np.ndarray, top_hz: float) -> np.ndarray:
    """A log power envelope [K] (0..12 kHz) of a recording that holds nothing above ``top_hz``
    (as an 8 kHz recording resampled to 24 kHz): far below everything else there."""
    f = np.arange(len(log_env)) * 12000.0 / (len(log_env) - 1)
    return np.where(f > top_hz, log_env.min() - 20.0, log_env)


def test_band_top_finds_where_a_band_limited_recording_ends():
    k = world.fft_size() // 2 + 1
    f = np.arange(k) * 12000.0 / (k - 1)
    full = np.log(_envelope(k))
    assert key.band_top(full, f) == math.inf   # natural tilt: never 45 dB down
    assert 3000.0 <= key.band_top(_band_limited(full, 4000.0), f) <= 4000.0
    assert 6500.0 <= key.band_top(_band_limited(full, 8000.0), f) <= 8000.0


@pytest.mark.parametrize("scale", [0.85, 1.0, 1.18])
def test_formant_ratio_compares_only_what_both_recordings_contain(scale):
    """Speech recorded at 8 kHz (nothing above 4 kHz) against full-band singing: the warp is
    still found, because the comparison stops where the speech ends."""
    k = world.fft_size() // 2 + 1
    speech = _band_limited(np.log(_envelope(k)), 4000.0)
    ratio, match = key.formant_ratio(speech, np.log(_envelope(k, scale)))
    assert ratio == pytest.approx(scale, rel=0.03)
    assert match > 0.9


@pytest.fixture(scope="module")
def male_speech():
    wav = _voice(115.0)
    return wav, world.analyze(wav)


def test_voice_cues_tell_the_same_voice_from_another_register(male_speech):
    speech, feats = male_speech
    same = _voice(115.0 * 2 ** (9 / 12), seed=1)        # the same vocal tract singing 9 st higher
    other = _voice(115.0 * 2 ** (21 / 12), 1.18, seed=2)  # a female-register voice
    for ref, moved in ((same, 0.0), (other, -12.0)):
        ref_f0 = fe.f0_praat(ref)
        cues = key.voice_cues(speech, feats, ref_f0, melody_voice=ref, embedding="none")
        assert cues.embedding_cosine is None and cues.formant_ratio is not None
        d = key.decide("auto", feats.f0, ref_f0, cues)
        assert d.transpose == moved, d.reason
    same_cues = key.voice_cues(speech, feats, fe.f0_praat(same), melody_voice=same, embedding="none")
    other_cues = key.voice_cues(speech, feats, fe.f0_praat(other), melody_voice=other, embedding="none")
    assert same_cues.formant_ratio == pytest.approx(1.0, abs=0.06)
    assert other_cues.formant_ratio == pytest.approx(1.18, abs=0.07)
    assert key.same_speaker_score(same_cues) > 0.5 > key.same_speaker_score(other_cues)


def test_voice_cues_without_a_voice_have_only_the_register(male_speech):
    speech, feats = male_speech
    cues = key.voice_cues(speech, feats, _f0(300.0))
    assert not cues.has_voice and cues.formant_ratio is None and cues.embedding_cosine is None
    with pytest.raises(MelodyError):
        key.voice_cues(speech, feats, _f0(300.0), melody_voice=speech, embedding="xvector")


@pytest.mark.skipif(not key.embedding_available(), reason="resemblyzer (neural extra) not installed")
def test_embedding_cue_is_higher_for_the_same_voice(male_speech):
    speech, feats = male_speech
    same = _voice(115.0 * 2 ** (4 / 12), seed=3)
    other = _voice(115.0 * 2 ** (16 / 12), 1.2, seed=4)
    assert key.embedding_cosine(speech, same) > key.embedding_cosine(speech, other)


# --- real voices (../shared/data/sts-pairs) -----------------------------------------------

REAL_PAIRS = ("en-nhss-10", "en-nhss-2", "en-nhss-8", "zh-svpt-4", "zh-svpt-5", "zh-svpt-6", "zh-svpt-7")


def _real_cues(sts_pair, speech_of: str, singing_of: str) -> tuple[key.VoiceCues, float]:
    """The base install's cues (no embedding) of one real person's speech against another's (or
    their own) singing, and the speaking median in Hz."""
    from alignsts.audio import io

    speech = io.load(sts_pair(speech_of)[0], fe.SAMPLE_RATE)
    sing = io.load(sts_pair(singing_of)[1], fe.SAMPLE_RATE)
    frames = world.analyze(speech)
    cues = key.voice_cues(speech, frames, fe.f0_praat(sing), melody_voice=sing, embedding="none")
    return cues, key._hz(key.median_semitones(frames.f0))


@pytest.mark.realdata
@pytest.mark.parametrize("pair", REAL_PAIRS)
def test_real_persons_own_singing_reads_as_their_own_formants_and_is_kept(sts_pair, pair):
    """Read from the melody's pitch up to 8 kHz, a person's own singing has the formants of their
    speech (x0.93-1.08 on the seven; read from 200 Hz to 5 kHz it was x0.94-1.22), and the base
    install keeps it as their own voice."""
    cues, speech_hz = _real_cues(sts_pair, pair, pair)
    assert 0.9 < cues.formant_ratio < 1.1
    d = key.decide("auto", np.array([speech_hz]), np.array([speech_hz * 2 ** (cues.register_st / 12)]), cues)
    assert d.same_speaker and d.transpose == 0.0


@pytest.mark.realdata
@pytest.mark.parametrize("speech_of, singing_of, registers", [
    ("en-nhss-8", "zh-svpt-4", 1), ("zh-svpt-6", "zh-svpt-5", 1),   # male speech, female singing
    ("zh-svpt-4", "en-nhss-2", -1), ("zh-svpt-5", "zh-svpt-6", -1),  # female speech, male singing
    ("en-nhss-2", "en-nhss-8", 0), ("zh-svpt-4", "zh-svpt-7", 0)])   # one register
def test_real_persons_formants_tell_the_register(sts_pair, speech_of, singing_of, registers):
    """Another real person's singing reads a register away exactly when it is of the other sex."""
    cues, _ = _real_cues(sts_pair, speech_of, singing_of)
    rho = math.log(cues.formant_ratio) / math.log(key.REGISTER_FORMANT_RATIO)
    assert abs(rho - registers) < 0.6
