"""Python API of scores with words: score=, lyrics=, lead_in=, accompaniment=, loudness=, the analysis."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts import api
from alignsts.audio import frontend as fe
from alignsts.audio import level
from alignsts.errors import AlignSTSError

SR = fe.SAMPLE_RATE
SCORES = Path(__file__).resolve().parent / "assets" / "scores"


@pytest.fixture(scope="module")
def backing(tmp_path_factory):
    """A stereo 44.1 kHz backing track, 3 s of two quiet tones."""
    path = tmp_path_factory.mktemp("backing") / "backing.wav"
    t = np.arange(3 * 44100) / 44100
    sf.write(str(path), np.c_[0.05 * np.sin(2 * np.pi * 110 * t), 0.05 * np.sin(2 * np.pi * 165 * t)], 44100)
    return path


@pytest.fixture(scope="module")
def sung_score(backing):
    return api.convert(api.demo_files()[0], score=SCORES / "twinkle.musicxml", transpose=0,
                       lead_in=0.25, accompaniment=str(backing))


def test_score_conversion_is_on_the_timeline_with_the_lead_in(sung_score):
    an = sung_score.analysis
    assert an.lead_in == 0.25 and an.notes[0].onset == pytest.approx(0.25)
    assert [x.lyric for x in an.notes][:3] == ["Twin", "kle", "twin"]
    assert len(sung_score.wav) / SR == pytest.approx(an.notes[-1].offset + 0.3, abs=0.02)


def test_output_loudness_follows_the_backing_track(sung_score, backing):
    """With an accompaniment the vocal's default level is the backing's + 3 LU (per channel), so
    the mix keeps the backing at its own level."""
    target = level.backing_target(api._load_accompaniment(str(backing)), SR)
    assert target == pytest.approx(level.integrated_loudness(api._load_accompaniment(str(backing)), SR)
                                   + level.VOCAL_OVER_BACKING_LU - 10 * np.log10(2), abs=1e-6)
    loudness, peak = level.integrated_loudness(sung_score.wav, SR), level.peak_dbfs(sung_score.wav)
    assert peak <= level.PEAK_DBFS + 1e-3
    # at the target, or below it where the peak ceiling stopped the gain
    assert loudness == pytest.approx(target, abs=0.2) or (
        peak == pytest.approx(level.PEAK_DBFS, abs=1e-3) and target - 6 < loudness < target)
    # the backing is in the mix at its own level: after the vocal ends only the backing sounds
    tail = sung_score.mix[len(sung_score.wav):]
    delayed = api._load_accompaniment(str(backing))[len(sung_score.wav) - int(0.25 * SR):][: len(tail)]
    if len(tail) > SR // 10:
        assert np.allclose(tail[: len(delayed)], delayed, atol=2e-3)


def test_output_loudness_without_accompaniment_is_minus_16():
    result = api.convert(api.demo_files()[0], score=SCORES / "twinkle.musicxml", transpose=0)
    loudness, peak = level.integrated_loudness(result.wav, SR), level.peak_dbfs(result.wav)
    assert loudness == pytest.approx(level.TARGET_LUFS, abs=0.2) or (
        peak == pytest.approx(level.PEAK_DBFS, abs=1e-3) and level.TARGET_LUFS - 6 < loudness < level.TARGET_LUFS)


def test_mix_is_time_locked_with_the_lead_in(sung_score, backing):
    mix = sung_score.mix
    assert mix.ndim == 2 and mix.shape[1] == 2
    assert len(mix) == max(len(sung_score.wav), int(round((3.0 + 0.25) * SR)))
    assert np.max(np.abs(mix)) <= level.db_to_gain(level.PEAK_DBFS) + 1e-6
    # the backing was delayed by the lead-in: silent before it wherever the vocal is silent
    head = int(0.2 * SR)
    assert np.allclose(mix[:head, 0], mix[:head, 1])          # only the (mono) vocal there


def test_analysis_dict_and_json(sung_score, tmp_path):
    d = api.analysis_dict(sung_score)
    assert d["transpose"] == 0 and d["lead_in"] == 0.25
    assert d["key"]["mode"] in ("manual", "auto") and d["key"]["reason"] and d["key"]["same_speaker_score"] is None
    rows = d["notes"]
    assert rows[0] == {"onset": 0.0, "offset": 0.25, "pitch": None, "lyric": None, "speech": None}
    sung = [r for r in rows if r["pitch"] is not None]
    assert len(sung) == 16 and [r["lyric"] for r in sung][-4:] == ["you", "are", None, None]
    assert sum(r["pitch"] is None for r in rows) == 2            # the lead-in and the rest between the lines
    for a, b in zip(rows[:-1], rows[1:]):
        assert b["onset"] == pytest.approx(a["offset"], abs=1e-4)   # contiguous timeline
    spans = [r["speech"] for r in sung if r["speech"]]
    assert len(spans) >= 12 and all(0 <= a < b <= 4.5 for a, b in spans)
    path = api.save_analysis(sung_score, tmp_path / "a.json")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(d))


def test_save_mix(sung_score, tmp_path):
    out = api.mix_path(tmp_path / "song.flac")
    assert out.name == "song_mix.wav"
    api.save_mix(sung_score, out, sr=48000)
    info = sf.info(str(out))
    assert info.samplerate == 48000 and info.channels == 2
    with pytest.raises(AlignSTSError, match="no mix"):
        api.save_mix(api.Result(sung_score.wav, SR, sung_score.analysis), out)


def test_lyrics_for_a_midi_without_words(caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="alignsts"):
        melody = api.load_melody(midi=api.demo_files()[2],
                                 lyrics="Twinkle twinkle little star, how I wonder what you are")
    assert [x.lyric for x in melody.notes][:4] == ["Twin", "kle", "twin", "kle"]
    assert any("14 syllables (10 words) on 14 notes" in r.getMessage() for r in caplog.records)


def test_bad_arguments_fail_before_work(backing):
    speech = api.demo_files()[0]
    with pytest.raises(AlignSTSError, match="lead_in"):
        api.convert(speech, score=SCORES / "twinkle.ust", lead_in=-1)
    with pytest.raises(AlignSTSError, match="loudness"):
        api.convert(speech, score=SCORES / "twinkle.ust", loudness=5)
    with pytest.raises(AlignSTSError, match="accompaniment"):
        api.convert(speech, score=SCORES / "twinkle.ust", accompaniment="missing.wav")
    with pytest.raises(AlignSTSError, match="lyrics"):
        api.convert(speech, reference=api.demo_files()[1], lyrics="la la")
    with pytest.raises(AlignSTSError, match="score engine only"):
        api.analysis_dict(api.Result(np.zeros(10), SR, object()))
    with pytest.raises(AlignSTSError, match="exactly one"):
        api.load_melody(score=SCORES / "twinkle.ust", midi=api.demo_files()[2])
