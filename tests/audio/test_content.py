"""The neural models' input front-end (torch-free parts): speech clean-up and WORLD monotone."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from alignsts import api
from alignsts.audio import content, io
from alignsts.audio import frontend as fe


def test_monotone_speech_has_one_pitch():
    speech, _, _ = api.demo_files()
    wav = io.load(speech)
    flat, f0 = content.monotone(wav, mean_f0=120.0)
    got = fe.f0_world(flat, method="dio")
    voiced = got > 0
    assert voiced.mean() > 0.3
    assert np.median(np.abs(1200 * np.log2(got[voiced] / 120.0))) < 30
    assert np.std(np.log2(f0[f0 > 0])) > 0.05   # the original was not monotone


def test_official_speech_preprocess_removes_rumble_and_scales():
    t = np.arange(fe.SAMPLE_RATE) / fe.SAMPLE_RATE
    rumble, tone = np.sin(2 * np.pi * 5 * t), 0.5 * np.sin(2 * np.pi * 440 * t)
    y = content.official_speech_preprocess((rumble + tone).astype(np.float32), np.random.default_rng(0))
    mid = slice(2000, -2000)
    assert y.dtype == np.float32 and y.shape == t.shape
    assert np.max(np.abs(y[mid] - 0.96 * tone[mid])) < 0.02


def test_content_module_import_is_torch_free():
    code = ("import sys, alignsts.audio.content, alignsts.data.features; "
            "bad = [m for m in ('torch', 'transformers', 'resemblyzer') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
