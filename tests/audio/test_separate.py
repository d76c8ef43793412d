"""The classic (training-free) separator on synthetic songs with a known vocal and band."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import separate as sep

SR = 24000


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    a = float(np.dot(est, ref) / np.dot(ref, ref))
    e = a * ref
    return float(10 * np.log10(np.sum(e ** 2) / np.sum((est - e) ** 2)))


def harmonic(f0: np.ndarray, n_harm: int = 12, tilt: float = 0.7, phase: float = 0.0) -> np.ndarray:
    """A harmonic sound following the per-sample F0 [N] (0 = silent): -> [N]."""
    ph = 2 * np.pi * np.cumsum(f0) / SR + phase
    out = np.zeros(len(f0))
    for h in range(1, n_harm + 1):
        ok = h * f0 < SR / 2 - 500
        out += np.where(ok, tilt ** (h - 1) * np.sin(h * ph), 0.0)
    return out * (f0 > 0)


def synthetic_song(seconds: float = 12.0, intro: float = 1.5, seed: int = 0):
    """(song [N], vocal [N], band [N], vocal F0 [N]): a sung-like line (notes with glides and
    vibrato, formant-ish tilt, gaps) starting after ``intro`` over a repeating band (a bass note,
    three-note chords on the beat with stable pitch, noise hits), the vocal 3 dB louder."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    # band: I-V-vi-IV (A major) every 2 s, chords as decaying stable harmonic tones, bass, noise hits
    roots = [220.0, 329.63, 369.99, 293.66]
    band = np.zeros(n)
    for k, start in enumerate(np.arange(0, seconds, 0.5)):
        a = int(start * SR)
        root = roots[int(start // 2) % 4]
        seg = np.arange(n - a) / SR
        env = np.exp(-seg * 4.0)
        for ratio in (1.0, 1.26, 1.5):
            band[a:] += 0.25 * env * harmonic(np.full(n - a, root * ratio), 8, 0.6)
        band[a:a + 2400] += 0.4 * rng.standard_normal(2400) * np.exp(-np.arange(2400) / 400)
        if k % 2 == 0:
            band[a:] += 0.3 * np.exp(-seg * 1.5) * harmonic(np.full(n - a, root / 4), 6, 0.5)
    # vocal: notes of 0.3-0.7 s in A major around 280-560 Hz with 40 ms glides, 5.5 Hz vibrato, gaps
    scale = 440.0 * 2 ** (np.array([-12, -10, -8, -7, -5, -3, -1, 0]) / 12)
    f0 = np.zeros(n)
    pos = intro
    while pos < seconds - 1.0:
        dur = rng.uniform(0.3, 0.7)
        a, b = int(pos * SR), int(min(pos + dur, seconds - 1.0) * SR)
        f0[a:b] = rng.choice(scale)
        pos += dur + (rng.uniform(0.15, 0.3) if rng.random() < 0.3 else 0.0)
    from scipy.ndimage import uniform_filter1d

    voiced = f0 > 0
    smooth = uniform_filter1d(np.where(voiced, f0, 0.0), 960) / np.maximum(uniform_filter1d(voiced * 1.0, 960), 1e-9)
    f0 = np.where(voiced, smooth * 2 ** (0.4 / 12 * np.sin(2 * np.pi * 5.5 * t)), 0.0)
    env = uniform_filter1d(voiced * 1.0, 480)
    vocal = harmonic(f0, 30, 0.82) * env
    vocal *= np.sqrt(2.0) * np.sqrt(np.mean(band ** 2) / np.mean(vocal[voiced] ** 2) * voiced.mean())
    song = vocal + band
    peak = np.max(np.abs(song)) / 0.9
    return (song / peak).astype(np.float32), (vocal / peak).astype(np.float32), (band / peak).astype(np.float32), f0


@pytest.fixture(scope="module")
def song():
    return synthetic_song()


@pytest.fixture(scope="module")
def stems(song):
    return sep.separate(song[0], SR)


def test_stft_round_trip():
    x = np.random.default_rng(1).standard_normal(24011).astype(np.float32)
    spec = sep.stft(x, 2048, 256)
    assert spec.shape == (24011 // 256 + 1, 1025)
    np.testing.assert_allclose(sep.istft(spec, 2048, 256, len(x)), x, atol=1e-4)


def test_stems_sum_to_the_song(song, stems):
    mix = song[0]
    assert stems.vocals.shape == stems.instrumental.shape == (len(mix), 1)
    np.testing.assert_allclose(stems.vocals[:, 0] + stems.instrumental[:, 0], mix, atol=1e-5)


def test_separation_improves_both_stems(song, stems):
    mix, vocal, band, _ = song
    inst_before, inst_after = si_sdr(mix, band), si_sdr(stems.instrumental[:, 0], band)
    voc_before, voc_after = si_sdr(mix, vocal), si_sdr(stems.vocals[:, 0], vocal)
    assert inst_before < 0 < voc_before
    assert inst_after >= inst_before + 6.0, (inst_before, inst_after)
    assert voc_after >= voc_before + 3.0, (voc_before, voc_after)


def test_vocal_f0_found_and_intro_left_to_the_band(song, stems):
    _, _, _, f0_true = song
    hop = stems.hop
    truth = f0_true[::hop][: len(stems.f0)]
    est = stems.f0[: len(truth)]
    sung = truth > 0
    both = sung & (est > 0)
    cents = 1200 * np.abs(np.log2(est[both] / truth[both]))
    assert np.sum(cents < 50) / np.sum(sung) >= 0.7
    intro = np.arange(len(est)) * hop / SR < 1.3
    assert np.mean(est[intro] > 0) <= 0.35    # the band alone is mostly not taken for a voice (all: 1.0)


def test_stereo_channels_kept_and_blocks_join(song):
    mix, vocal, band, _ = song
    stereo = np.stack([mix, 0.8 * mix], axis=1)
    cfg = sep.SeparatorConfig(block_s=4.0, context_s=1.0)
    st = sep.separate(stereo, SR, cfg)
    assert st.vocals.shape == stereo.shape
    np.testing.assert_allclose(st.vocals + st.instrumental, stereo, atol=1e-5)
    assert st.hop == cfg.hop // 2 and abs(len(st.f0) - len(mix) / st.hop) <= 2
    assert si_sdr(st.instrumental[:, 0], band) >= si_sdr(mix, band) + 5.0


def test_silence_and_short_input():
    st = sep.separate(np.zeros(SR, np.float32), SR)
    assert np.all(st.vocals == 0) and np.all(st.f0 == 0)
    short = sep.separate(np.random.default_rng(0).standard_normal(3000).astype(np.float32) * 0.1, SR)
    assert short.vocals.shape == (3000, 1)


@pytest.mark.parametrize("seconds", [9.02, 10.9])   # a short last block joins the one before; a long one stays
def test_block_joins_any_length(seconds):
    x = np.random.default_rng(3).standard_normal(int(seconds * SR)).astype(np.float32) * 0.1
    cfg = sep.SeparatorConfig(block_s=3.0, context_s=1.0)
    st = sep.separate(x, SR, cfg)
    assert st.vocals.shape == (len(x), 1)
    np.testing.assert_allclose(st.vocals[:, 0] + st.instrumental[:, 0], x, atol=1e-5)
    assert abs(len(st.f0) - len(x) / st.hop) <= 2


def test_a_moving_voice_wins_over_a_louder_steady_band():
    """A vibrato voice (200-300 Hz) over held band notes of exact pitch (root and fifth, 20 partials),
    the band 1.4x the voice: without damping steady partials the tracker follows the band on most
    frames; with the magnitude steadiness alone (each partial read within one bin, salience_cents
    0: the wider reach also gathers the band's dense partials) the voice on about half or more,
    and with the default (both cues, partials read within salience_cents) on nearly all."""
    rng = np.random.default_rng(0)
    n = 6 * SR
    t = np.arange(n) / SR
    f0 = np.zeros(n)
    pos = 0
    while pos < n:
        d = int(rng.uniform(0.4, 0.6) * SR)
        f0[pos:pos + d] = 200 * 2 ** (rng.integers(-2, 5) / 12)
        pos += d
    f0 *= 2 ** (0.4 / 12 * np.sin(2 * np.pi * 5.5 * t))
    voice = harmonic(f0, 30, 0.82)
    band = np.zeros(n)
    for k, root in enumerate([110.0, 98.0, 130.81]):
        a, b = k * 2 * SR, (k + 1) * 2 * SR
        band[a:b] = harmonic(np.full(b - a, root), 20, 0.85) + harmonic(np.full(b - a, 1.5 * root), 20, 0.85)
    mix = (voice / np.std(voice) + 1.4 * band / np.std(band)).astype(np.float32)
    mag = np.abs(sep.stft(mix, 2048, 256))

    spec = sep.stft(mix, 2048, 256)

    def on_voice(cfg, ifs=None):
        _, est = sep.vocal_mask(mag, np.ones(len(mag)), SR, cfg, ifs=ifs)
        truth = f0[::256][: len(est)]
        return float(np.mean((est > 0) & (np.abs(1200 * np.log2(np.maximum(est, 1.0) / truth)) < 50)))

    one_bin = sep.SeparatorConfig(salience_cents=0.0)
    plain, damped = on_voice(sep.SeparatorConfig(steady_weight=0.0, salience_cents=0.0)), on_voice(one_bin)
    assert sep.SeparatorConfig().steady_weight > 0
    assert plain < 0.35 and damped >= 0.45 and damped >= plain + 0.2, (plain, damped)
    cfg = sep.SeparatorConfig()
    assert on_voice(cfg, sep.if_steadiness(spec, SR, cfg)) > 0.9


def _low_voice_over_held_notes():
    """(mix [N], voice F0 [N]): a low voice with no vibrato (notes 131-196 Hz with 15 cents of slow
    drift and 4 cents of jitter, as a plain held sung note) over held band notes of exact pitch in
    the same register (98-123 Hz, 20 partials), the band 1.4x the voice. The voice's drift moves
    its partials a fraction of an 11.7 Hz bin, so the magnitudes look as steady as the band's."""
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(1)
    n = 6 * SR
    f0 = np.zeros(n)
    pos = 0
    while pos < n:
        d = int(rng.uniform(0.4, 0.7) * SR)
        f0[pos:pos + d] = 130.81 * 2 ** (rng.choice([0, 2, 4, 5, 7]) / 12)
        pos += d
    drift = uniform_filter1d(rng.standard_normal(n), 2400)
    jitter = uniform_filter1d(rng.standard_normal(n), 120)
    cents = 15 * drift / np.std(drift) + 4 * jitter / np.std(jitter)
    f0 = uniform_filter1d(f0, 480) * 2 ** (cents / 1200)
    band = np.zeros(n)
    for k, root in enumerate([110.0, 123.47, 98.0]):
        a, b = k * 2 * SR, (k + 1) * 2 * SR
        band[a:b] = harmonic(np.full(b - a, root), 20, 0.85)
    voice = harmonic(f0, 30, 0.82)
    return (voice / np.std(voice) + 1.4 * band / np.std(band)).astype(np.float32), f0


def test_exact_frequencies_tell_a_low_voice_from_held_notes_in_its_register():
    """The instantaneous-frequency cue: the band's partials hold their frequency (exactness near 1),
    the voice's do not (near 0), though both look steady in magnitude; with it the tracker follows
    the voice on most frames, with the magnitude steadiness alone it follows the band."""
    mix, f0 = _low_voice_over_held_notes()
    spec = sep.stft(mix, 2048, 256)
    mag = np.abs(spec)
    cfg = sep.SeparatorConfig()
    assert cfg.if_weight > 0
    exact = sep.if_steadiness(spec, SR, cfg)
    assert exact.shape == mag.shape and exact.min() >= 0 and exact.max() <= 1
    freqs = sep.bin_freqs(mag.shape[1], SR, cfg)
    frames = np.arange(5, len(mag) - 5)
    band_f0 = np.repeat([110.0, 123.47, 98.0], 2 * SR // 256 + 1)[frames]
    voice_f0 = f0[frames * 256]
    at = lambda hz: exact[frames, np.argmin(np.abs(freqs[None, :] - 2 * hz[:, None]), axis=1)]   # 2nd partials
    assert np.median(at(band_f0)) > 0.7 and np.median(at(voice_f0)) < 0.3

    def on_voice(ifs):
        _, est = sep.vocal_mask(mag, np.ones(len(mag)), SR, cfg, ifs=ifs)
        truth = f0[::256][: len(est)]
        return float(np.mean((est > 0) & (np.abs(1200 * np.log2(np.maximum(est, 1.0) / truth)) < 50)))

    without, with_if = on_voice(None), on_voice(exact)
    assert without < 0.5 and with_if > 0.8, (without, with_if)


def _band_above_3k(seconds: float = 6.0):
    """(mix [N], voice [N], pad [N]): a vibrato voice (220 Hz, 30 partials with a gentle tilt, so
    it has partials at 3-6 kHz; after a 1.5 s intro, with a gap) over a held pad tone at 4.5 kHz
    of exact pitch, 6 dB over the voice's own power in that region."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = 220.0 * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 5.5 * t))
    f0[(t < 1.5) | ((t > 3.5) & (t < 4.0))] = 0.0
    voice = harmonic(f0, 30, 0.93)
    pad = np.sin(2 * np.pi * 4512.0 * t)

    def above(x):
        s = np.abs(sep.stft(x.astype(np.float32), 2048, 256)) ** 2
        return float(s[:, int(3000 / (SR / 2048)):].sum())

    pad *= np.sqrt(4.0 * above(voice) / above(pad))
    return (voice + pad).astype(np.float32), voice, pad


def test_the_bands_held_partials_above_3k_leave_the_vocal():
    """Above held_above_hz the comb passes everything near a partial; a held band tone there is
    taken out of the vocal (>= 10 dB less of it than with the step off), the voice's own moving
    partials there stay (within 3 dB), and the vocals + instrumental still sum to the song."""
    mix, voice, pad = _band_above_3k()
    hi = int(3000 / (SR / 2048))

    def stem_parts(cfg):
        st = sep.separate(mix, SR, cfg)
        v = st.vocals[:, 0]
        # the stem's power in the pad tone's bins, and at 3+ kHz away from them
        spec = np.abs(sep.stft(v, 2048, 256)) ** 2
        tone_bin = int(round(4512.0 / (SR / 2048)))
        near = spec[:, tone_bin - 2: tone_bin + 3].sum()
        rest = spec[:, hi:].sum() - near
        assert np.allclose(st.vocals + st.instrumental, mix[:, None], atol=1e-4)
        return near, rest

    off_near, off_rest = stem_parts(sep.SeparatorConfig(held_above_hz=0.0, refine_f0=False))
    on_near, on_rest = stem_parts(sep.SeparatorConfig(refine_f0=False))
    assert sep.SeparatorConfig().held_above_hz > 0
    assert 10 * np.log10(off_near / on_near) >= 10.0, (off_near, on_near)
    assert abs(10 * np.log10(off_rest / on_rest)) <= 3.0, (off_rest, on_rest)


def test_held_gain_is_one_below_the_cut_and_within_0_1():
    rng = np.random.default_rng(1)
    mag = rng.random((50, 1025)).astype(np.float32)
    held = rng.random((50, 1025)).astype(np.float32)
    cfg = sep.SeparatorConfig()
    g = sep.held_gain(mag, held, SR, cfg)
    freqs = np.arange(1025) * SR / cfg.n_fft
    assert g.shape == mag.shape and g.dtype == np.float32
    assert np.all(g[:, freqs < cfg.held_above_hz] == 1.0)
    assert np.all((g >= 0) & (g <= 1))
    hi = freqs >= cfg.held_above_hz
    assert np.all(g[:, hi][held[:, hi] >= mag[:, hi]] == 0)          # all of it held: nothing of the voice


def _jittered(f0_hz: float, n: int, cents: float, seed: int) -> np.ndarray:
    """A per-sample F0 [n] around ``f0_hz`` wandering by about ``cents`` (a voice: drift and jitter)."""
    from scipy.ndimage import uniform_filter1d

    walk = uniform_filter1d(np.random.default_rng(seed).standard_normal(n), 240)
    return f0_hz * 2 ** (cents * walk / np.std(walk) / 1200)


def _soft_voice_over_chords(rel: float = 0.5) -> tuple[np.ndarray, int]:
    """(x [N], frames per third): a held chord of exact pitch (root, third, fifth: a pad or
    strings) alone, then with a voice on top at ``rel`` of its amplitude (a plain held note,
    20 cents of drift, no vibrato), then alone again; 3 s each."""
    seg = 3 * SR
    band = sum(harmonic(np.full(seg, 196.0 * r), 15, 0.8) for r in (1.0, 1.26, 1.5))
    voice = harmonic(_jittered(262.0, seg, 20.0, 5), 20, 0.8)
    voice *= rel * np.std(band) / np.std(voice)
    x = (np.concatenate([band, band + voice, band]) * 0.05).astype(np.float32)
    return x, (x.size // 256 + 1) // 3


def test_unsteady_energy_hears_a_soft_voice_over_held_chords():
    """A voice at half the band's amplitude (-6 dB) adds under 1.5 dB to the plain 300-4000 Hz
    energy but at least 5 dB to the energy of partials whose frequency moves (the chord's hold
    theirs and mostly drop out); chunked, it equals the whole song's STFT."""
    x, third = _soft_voice_over_chords()
    cfg = sep.SeparatorConfig()
    excess = lambda e: float(np.median(e[third + 20: 2 * third - 20]) - np.median(e[20: third - 20]))
    plain, moving = excess(sep.frame_energy_db(x, SR, cfg)), excess(sep.unsteady_energy_db(x, SR, cfg))
    assert plain < 1.5 and moving > 5.0, (plain, moving)
    spec = sep.stft(x, cfg.n_fft, cfg.hop)          # the same from the whole song's STFT at once
    band = (sep.bin_freqs(spec.shape[1], SR, cfg) >= 300) & (sep.bin_freqs(spec.shape[1], SR, cfg) <= 4000)
    whole = 10 * np.log10((np.abs(spec[:, band]) ** 2 * (1 - sep.if_steadiness(spec, SR, cfg)[:, band])).sum(1) + 1e-10)
    for chunk in (37, 512, 4096):
        np.testing.assert_allclose(sep.unsteady_energy_db(x, SR, cfg, chunk=chunk), whole, atol=1e-3)


def test_the_presence_gate_opens_for_a_soft_voice_only_with_the_unsteady_energy():
    """The gate (sung_frames of vocal_presence) on chords, chords + a voice at -6 dB, chords: by
    plain energy it never opens (the voice is not 3 dB over the band), by the default unsteady
    energy it opens for the voice and stays shut for the chords alone."""
    x, third = _soft_voice_over_chords()

    def gated(presence_from):
        cfg = sep.SeparatorConfig(presence_from=presence_from)
        g = sep.sung_frames(sep.vocal_presence(x, SR, cfg), cfg)
        return [float(g[k * third + 30:(k + 1) * third - 30].mean()) for k in range(3)]

    assert max(gated("energy")) < 0.1
    unsteady = gated("unsteady")
    assert unsteady[0] < 0.1 and unsteady[1] > 0.9 and unsteady[2] < 0.1, unsteady
    with pytest.raises(ValueError, match="presence_from"):
        sep.vocal_presence(x, SR, sep.SeparatorConfig(presence_from="loudness"))


def test_salience_reads_a_gliding_voices_upper_partials_within_its_reach():
    """In a glide the upper partials move h times as many Hz as the fundamental and land up to a few
    bins off h·F0 in an 85 ms frame (here 20 cents: up to 2.6 bins): with salience_cents they still count, read
    within one bin they do not (a held series is read the same either way)."""
    cfg = sep.SeparatorConfig()
    n_bins = cfg.n_fft // 2 + 1
    freqs = sep.bin_freqs(n_bins, SR, cfg)
    f0 = 220.0

    def spectrum(off_cents: float) -> np.ndarray:
        s = np.zeros((1, n_bins), np.float32)
        for h in range(1, 13):
            hz = h * f0 * (2 ** (off_cents / 1200) if h > 2 else 1.0)
            s[0, int(round(hz / freqs[1]))] = 1.0
        return s

    def at_f0(spec, cents):
        sal, cands = sep.salience(spec, freqs, sep.SeparatorConfig(salience_cents=cents))
        return float(sal[0, np.argmin(np.abs(cands - f0))])

    assert at_f0(spectrum(0.0), 50.0) == pytest.approx(at_f0(spectrum(0.0), 0.0))
    assert at_f0(spectrum(20.0), 50.0) == pytest.approx(at_f0(spectrum(0.0), 50.0), rel=0.05)
    assert at_f0(spectrum(20.0), 0.0) < 0.75 * at_f0(spectrum(0.0), 0.0)


def test_f0_kept_at_praats_rate_follows_a_moving_voice_closer(song, stems):
    """The F0 comes at half the STFT's hop (Praat's own frames): between two STFT frames it is
    read, not repeated, so on a voice in vibrato and glides it lies nearer the truth than the
    same track held for a whole STFT hop."""
    f0_true = song[3]
    assert stems.hop * 2 == sep.SeparatorConfig().hop
    truth = f0_true[::stems.hop][: len(stems.f0)]
    est = stems.f0[: len(truth)]
    held = np.repeat(est[::2], 2)[: len(est)]            # the track at the STFT's hop
    both = (truth > 0) & (est > 0) & (held > 0)
    moving = both & (np.abs(np.gradient(np.log2(np.maximum(truth, 1.0)))) * 1200 > 3)   # cents per frame
    err = lambda f: np.median(np.abs(1200 * np.log2(f[moving] / truth[moving])))
    assert moving.sum() > 200
    assert err(est) < err(held) - 1.0, (err(est), err(held))


def test_half_frames_interpolate_between_voiced_frames_only():
    f0 = np.array([0.0, 200.0, 800.0, 0.0, 300.0])
    out = sep.half_frames(f0, 2)
    np.testing.assert_allclose(out, [0, 0, 200, 400, 800, 800, 0, 0, 300, 300])
    np.testing.assert_array_equal(sep.half_frames(f0, 1), f0)


def test_direction_match_measures_how_much_a_bin_lies_where_the_voice_is():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6))
    centre, left = (1.0, 1.0), (np.sqrt(2.0), 0.0)
    np.testing.assert_allclose(sep.direction_match(s, s, centre), 1.0, atol=1e-6)          # in both alike
    np.testing.assert_allclose(sep.direction_match(s, 0 * s, centre), 0.5, atol=1e-6)      # one side only
    np.testing.assert_allclose(sep.direction_match(s, -s, centre), 0.0, atol=1e-6)         # opposite phase
    np.testing.assert_allclose(sep.direction_match(s, 0 * s, left), 1.0, atol=1e-6)        # where it points
    np.testing.assert_allclose(sep.direction_match(s, s, left), 0.5, atol=1e-6)


def _stereo_mixes(song):
    """The synthetic song three ways: (a) the voice in the centre over a band whose sides differ
    (a 0.3 ms right-channel delay and a second, quieter chord pattern on the right alone), (b) the
    voice hard left over a centred band, (c) mono (both channels the same)."""
    mix, vocal, band, _ = song
    other = np.roll(band, SR // 3) * 0.6
    wide = np.stack([band, np.roll(band, 7) + other], axis=1)
    centred = wide + vocal[:, None]
    left = np.stack([np.sqrt(2.0) * vocal + band, band], axis=1)
    mono = np.stack([mix, mix], axis=1)
    return {"centre": (centred, wide), "left": (left, np.stack([band, band], axis=1)), "mono": (mono, None)}


@pytest.mark.parametrize("where", ["centre", "left"])
def test_the_voices_place_between_the_channels_helps_the_separation(song, where):
    """The stereo cue follows the voice wherever it is mixed: its direction is found from the moving
    partials (near (1, 1) in the centre, near (1.41, 0) hard left), and the band's parts elsewhere leave the
    vocal: the instrumental (both channels) gains at least 0.5 dB over the same separation without the cue."""
    x, band = _stereo_mixes(song)[where]
    x = (x / np.abs(x).max() * 0.9).astype(np.float32)
    band = band * (0.9 / np.abs(np.stack(_stereo_mixes(song)[where][0])).max())
    cfg = sep.SeparatorConfig()
    spec = [sep.stft(x[:, c], cfg.n_fft, cfg.hop) for c in range(2)]
    mono = (spec[0] + spec[1]) / 2
    presence = sep.vocal_presence(x.mean(axis=1), SR, cfg)
    ifs = sep.if_steadiness(mono, SR, cfg)
    a, b = sep.voice_direction(spec[0], spec[1], np.abs(mono), ifs, presence, SR, cfg)
    angle = np.degrees(np.arctan2(b, a))      # 45: the centre, 0: all left
    assert (40 <= angle <= 50) if where == "centre" else angle <= 20, (a, b)   # (the band's own moving bits pull)
    with_cue = sep.separate(x, SR, cfg)
    without = sep.separate(x, SR, sep.SeparatorConfig(stereo_weight=0.0, stereo_mask=0.0))
    # both channels as one signal (a hard-left voice leaves the right channel's stem all band)
    sdr = [si_sdr(s.instrumental.T.ravel(), band.T.ravel()) for s in (with_cue, without)]
    assert sdr[0] >= sdr[1] + 0.5, sdr       # measured: +2.0 dB (centre), +0.8 dB (left)


def test_a_mono_song_in_two_channels_is_separated_as_one(song):
    """Both channels the same: the voice lies no nearer anywhere than the band (stereo_gate 0), so
    the cue changes nothing: the stems are those of the one-channel song."""
    x, _ = _stereo_mixes(song)["mono"]
    two = sep.separate(x.astype(np.float32), SR)
    one = sep.separate(x[:, 0].astype(np.float32), SR)
    np.testing.assert_allclose(two.vocals[:, 0], one.vocals[:, 0], atol=1e-5)
    np.testing.assert_allclose(two.f0, one.f0)
