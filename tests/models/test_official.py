"""import-official: the official folders rewritten as safetensors + YAML load and compute the same."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from alignsts.models.ckpt import CheckpointError, load_acoustic, load_vocoder  # noqa: E402
from alignsts.models.official import import_official  # noqa: E402

pytestmark = pytest.mark.compat


def test_acoustic_round_trip(tmp_path, compat):
    src = compat("alignsts_small")
    dst = import_official(src, tmp_path / "acoustic")
    assert sorted(p.name for p in dst.iterdir()) == ["config.yaml", "model.safetensors"]
    a, b = load_acoustic(src), load_acoustic(dst)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


@pytest.mark.parametrize("fmt", ["hifigan_small", "hifigan_json"])
def test_vocoder_round_trip_gives_the_same_audio(tmp_path, fmt, compat):
    src = compat(fmt)
    vec = np.load(compat("hifigan_small/vectors.npz"))
    dst = import_official(src, tmp_path / "voc")
    model = load_vocoder(dst)
    with torch.no_grad():
        wav = model(torch.from_numpy(vec["in.mel"]).transpose(1, 2).float(), torch.from_numpy(vec["in.f0_hz"]).float(),
                    noise_scale=0.0, random_phase=False)
    np.testing.assert_allclose(wav.numpy(), vec["out.wav"], atol=1e-4)


def test_wrong_kind_and_existing_target(tmp_path, compat):
    dst = import_official(compat("hifigan_small"), tmp_path / "voc")
    with pytest.raises(CheckpointError, match="vocoder model, not the acoustic"):
        load_acoustic(dst)
    with pytest.raises(CheckpointError, match="already exists"):
        import_official(compat("hifigan_small"), dst)


@pytest.mark.slow
def test_cli_import_official(tmp_path, compat):
    src = compat("alignsts_small")
    proc = subprocess.run([sys.executable, "-m", "alignsts", "import-official", str(src), "out"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "model.safetensors").is_file()
    proc = subprocess.run([sys.executable, "-m", "alignsts", "import-official", "missing", "out2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1 and "not found" in proc.stderr
    assert not (tmp_path / "out2").exists()
