"""Python API: inputs as paths or (wav, sr) pairs, the Result, config handling, save and demo."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

import alignsts
from alignsts import api
from alignsts.audio import frontend as fe
from alignsts.audio import io
from alignsts.engines.reference import Analysis, ReferenceConfig
from alignsts.errors import AlignSTSError, AudioInputError

SR = fe.SAMPLE_RATE


def test_public_names():
    assert alignsts.convert is api.convert and alignsts.save is api.save and alignsts.demo is api.demo
    assert alignsts.Result is api.Result and isinstance(alignsts.__version__, str)


def test_demo_files_exist():
    speech, sing, midi = api.demo_files()
    assert speech.is_file() and sing.is_file() and midi.is_file()
    assert sf.info(str(speech)).samplerate == SR


def test_convert_paths_returns_unpackable_result(demo_conversion):
    result, speech, ref = demo_conversion
    assert isinstance(result, api.Result)
    wav, sr, analysis = result
    assert wav is result.wav and sr == result.sr == SR and analysis is result.analysis
    assert isinstance(analysis, Analysis)
    assert wav.ndim == 1 and abs(len(wav) - len(ref)) <= fe.HOP


def test_analysis_lengths_are_consistent(demo_conversion):
    result, speech, ref = demo_conversion
    a = result.analysis
    n, m = fe.n_frames(len(speech)), fe.n_frames(len(ref))
    assert len(a.speech_f0) == len(a.speech_active) == n
    assert len(a.reference_f0) == len(a.target_f0) == len(a.source) == len(a.reference_active) == m
    assert fe.n_frames(len(result.wav)) == m
    assert a.path.ndim == 2 and a.path.shape[1] == 2
    assert a.path[:, 0].max() < n and a.path[:, 1].max() < m
    assert a.source.max() < n and a.source.min() >= 0


def test_convert_tuples_equals_paths(demo_paths, demo_conversion):
    result, speech, ref = demo_conversion
    from_tuples = api.convert((speech, SR), reference=(ref, SR))
    np.testing.assert_allclose(from_tuples.wav, result.wav, atol=1e-6)
    np.testing.assert_array_equal(from_tuples.analysis.source, result.analysis.source)


def test_convert_array_with_sr_and_other_rates(demo_conversion):
    _, speech, ref = demo_conversion
    speech16 = io.resample(speech, SR, 16000)
    res = api.convert(speech16, 16000, reference=(io.resample(ref, SR, 44100), 44100))
    assert res.sr == SR
    assert abs(len(res.wav) - len(ref)) <= fe.HOP
    assert len(res.analysis.speech_f0) == fe.n_frames(len(io.resample(speech16, 16000, SR)))


def test_convert_rejects_bad_inputs(demo_paths, demo_conversion):
    _, speech, _ = demo_conversion
    with pytest.raises(AlignSTSError, match="expected a file path"):
        api.convert(speech, reference=demo_paths[1])                 # a bare array without sr
    with pytest.raises(AlignSTSError, match="unknown engine"):
        api.convert(demo_paths[0], reference=demo_paths[1], engine="diffsinger")
    with pytest.raises(AlignSTSError, match="NeuralConfig"):
        api.convert(demo_paths[0], reference=demo_paths[1], engine="neural")
    with pytest.raises(AudioInputError, match="speech.*too short"):
        api.convert((speech[:1000], SR), reference=demo_paths[1])
    with pytest.raises(AudioInputError, match="reference.*NaN"):
        api.convert(demo_paths[0], reference=(np.full(SR, np.nan, np.float32), SR))


def test_config_transpose_is_used_and_config_not_mutated(demo_paths):
    speech, sing = demo_paths
    cfg = ReferenceConfig(transpose=-12.0)
    before = dataclasses.asdict(cfg)
    res = api.convert(speech, reference=sing, config=cfg)                  # transpose left at "auto"
    assert res.analysis.transpose == -12.0
    res2 = api.convert(speech, reference=sing, config=cfg, transpose=0)    # explicit argument wins
    assert res2.analysis.transpose == 0.0
    assert dataclasses.asdict(cfg) == before


def test_save(tmp_path, demo_conversion):
    result, _, ref = demo_conversion
    out = api.save(result, tmp_path / "song.flac")
    y, sr = sf.read(str(out))
    assert sr == SR and len(y) == len(result.wav)
    out16 = api.save(result, tmp_path / "song16.wav", sr=16000)
    y16, sr16 = sf.read(str(out16))
    assert sr16 == 16000 and abs(len(y16) - len(result.wav) * 2 / 3) <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.flac", "song16.wav"]


# ----------------------------------------------------------------- the API decides, the CLI calls
def test_engine_choice_lives_in_the_api():
    from alignsts.errors import AlignSTSError

    assert api.choose_engine(None, reference="sing.wav") == "reference"
    assert api.choose_engine(None) == "score"
    assert api.choose_engine("neural", reference="sing.wav") == "neural"
    with pytest.raises(AlignSTSError, match="unknown engine"):
        api.choose_engine("magic")
    cli_source = (Path(api.__file__).parent / "cli.py").read_text(encoding="utf-8")
    assert '"reference" if' not in cli_source


def test_engine_config_defaults_and_yaml(tmp_path):
    from alignsts.engines.reference import ReferenceConfig
    from alignsts.engines.score import ScoreConfig

    assert isinstance(api.engine_config("reference"), ReferenceConfig)
    (tmp_path / "s.yaml").write_text("transpose: -12\n", encoding="utf-8")
    cfg = api.engine_config("score", tmp_path / "s.yaml")
    assert isinstance(cfg, ScoreConfig) and cfg.transpose == -12


def test_convert_command_leaves_its_arguments_alone(tmp_path, monkeypatch):
    from alignsts import cli

    speech, _, midi = api.demo_files()
    args = cli.build_parser().parse_args(["convert", str(speech), "--midi", str(midi), "-o",
                                          str(tmp_path / "out.wav"), "-q"])
    before = dict(vars(args))
    calls = []
    monkeypatch.setattr(api, "convert", lambda *a, **kw: calls.append(kw) or api.Result(
        np.zeros(2400, np.float32), 24000, SimpleNamespace(transpose=0.0, key=None)))
    assert cli.cmd_convert(args) == 0
    assert vars(args) == before
    assert calls and calls[0]["melody"] is not None and "midi" not in calls[0]


def test_every_analysis_shares_the_typed_base():
    from alignsts.engines.analysis import ConversionAnalysis
    from alignsts.engines.neural import NeuralAnalysis
    from alignsts.engines.reference import Analysis
    from alignsts.engines.score import ScoreAnalysis

    assert all(issubclass(c, ConversionAnalysis) for c in (Analysis, ScoreAnalysis, NeuralAnalysis))
    assert api.Result.__annotations__["analysis"] in (ConversionAnalysis, "ConversionAnalysis")
