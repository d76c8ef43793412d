"""`alignsts prepare` -> `alignsts train` / `train-vocoder` -> `alignsts convert --engine neural`
from the command line, on a tiny PopBuTFy-style corpus built here; and one-line errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

torch = pytest.importorskip("torch")

from alignsts.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SR = 24000


def _tone(f0: np.ndarray, env: np.ndarray) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0) / SR
    return (0.2 * env * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(np.float32)


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for spk in ("spkA", "spkB", "spkC"):
        for idx in ("0001", "0002"):
            n = int(1.0 * SR)
            t = np.arange(n) / SR
            speech = _tone(np.full(n, rng.uniform(110, 160)), 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
            notes = np.repeat(rng.uniform(200, 330, size=4), n // 4 + 1)[:n]
            sing = _tone(notes, np.ones(n))
            sf.write(root / f"{spk}#song1#歌词#{idx}.wav", speech, SR)
            sf.write(root / f"{spk}#song1#专业#{idx}.wav", sing, SR)
    return root


@pytest.fixture(scope="module")
def prepared_cli(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli_train")
    corpus = _corpus((root / "corpus").mkdir() or root / "corpus")
    out = root / "data"
    code = main(["prepare", str(corpus), "--out", str(out), "--workers", "1", "--speaker-embedding", "none",
                 "--valid-groups", "spkC", "--test-groups", "spkB", "-q"])
    assert code == 0
    return out


def _tiny(name: str, tmp: Path, **over) -> Path:
    cfg = yaml.safe_load((ROOT / "configs" / name).read_text())
    cfg.update(tensorboard=False, threads=1, **over)
    p = tmp / name
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_prepare_train_convert_from_the_command_line(prepared_cli, tmp_path, capsys):
    run, voc = tmp_path / "a1", tmp_path / "v1"
    acfg = _tiny("alignsts_tiny.yaml", tmp_path, log_every=1, valid_every=2, max_frames=400, batch_frames=800)
    assert main(["train", "--config", str(acfg), "--data", str(prepared_cli), "--run", str(run), "--steps", "2"]) == 0
    assert main(["train", "--config", str(acfg), "--data", str(prepared_cli), "--run", str(run), "--steps", "3"]) == 0
    assert "step 3" in capsys.readouterr().out
    vcfg = _tiny("hifigan_tiny.yaml", tmp_path, log_every=1, valid_every=2)
    assert main(["train-vocoder", "--config", str(vcfg), "--data", str(prepared_cli), "--run", str(voc),
                 "--steps", "2"]) == 0
    speech = sorted((prepared_cli.parent / "corpus").glob("*歌词*"))[0]
    notes = tmp_path / "m.txt"
    notes.write_text("A3 0.5\nC4 0.5\n")
    out = tmp_path / "sung.wav"
    assert main(["convert", str(speech), "--notes", str(notes), "--engine", "neural", "--checkpoint", str(run),
                 "--vocoder", str(voc), "--speaker-embedding", "none", "-o", str(out), "-q"]) == 0
    wav, sr = sf.read(out)
    assert sr == 24000 and len(wav) > 0.9 * sr and np.isfinite(wav).all()


@pytest.mark.parametrize("argv,message", [
    (["train", "--config", "nope.yaml", "--data", "d", "--run", "r"], "cannot read config"),
    (["train", "--config", str(ROOT / "configs" / "alignsts_tiny.yaml"), "--data", "no_data", "--run", "r"],
     "stats.json"),
    (["train-vocoder", "--config", str(ROOT / "configs" / "hifigan_tiny.yaml"), "--data", "no_data", "--run", "r"],
     "prepare"),
    (["prepare", "no_such_corpus", "--out", "o"], "not found"),
])
def test_bad_training_input_is_one_line(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
