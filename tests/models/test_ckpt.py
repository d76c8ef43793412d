"""The checkpoint loader: file names, both official state-dict layouts, and this project's format."""
from __future__ import annotations

import pytest
import yaml

torch = pytest.importorskip("torch")

from alignsts.models.ckpt import (CheckpointError, build_model, checkpoint_name, checkpoint_steps,  # noqa: E402
                                  load_acoustic, model_state_dict, newest_checkpoint)


def test_one_file_name_pattern(tmp_path):
    for step in (7, 120, 30):
        (tmp_path / checkpoint_name(step)).write_bytes(b"")
    (tmp_path / "model_ckpt_steps_x.ckpt").write_bytes(b"")
    (tmp_path / ".model_ckpt_steps_999.ckpt.abc.tmp").write_bytes(b"")
    assert [s for s, _ in checkpoint_steps(tmp_path)] == [7, 30, 120]
    assert newest_checkpoint(tmp_path).name == "model_ckpt_steps_120.ckpt"
    assert checkpoint_steps(tmp_path / "missing") == []


def test_both_state_dict_layouts_give_the_same_weights():
    w = {"enc.weight": torch.ones(2), "enc.bias": torch.zeros(2)}
    nested = model_state_dict({"state_dict": {"model": w}})
    flat = model_state_dict({"state_dict": {"model.enc.weight": w["enc.weight"], "model.enc.bias": w["enc.bias"],
                                            "model_gen.other": torch.ones(1)}})
    assert set(nested) == set(flat) == set(w)
    with pytest.raises(CheckpointError, match="no state_dict"):
        model_state_dict({"state_dict": {"model_gen.x": torch.ones(1)}})
    with pytest.raises(CheckpointError, match="no state_dict"):
        model_state_dict({"epoch": 3})


def test_flat_official_checkpoint_loads_like_the_nested_one(tmp_path, compat):
    """The official load_ckpt accepts state_dict = {'model.<key>': tensor}; so does the loader."""
    hp = yaml.safe_load(compat("alignsts_small/config.yaml").read_text())
    hp["residual_channels"], hp["residual_layers"] = 16, 2
    torch.manual_seed(0)
    model = build_model(hp)
    state = model.state_dict()
    folders = {}
    for layout, sd in (("nested", {"model": state}), ("flat", {f"model.{k}": v for k, v in state.items()})):
        d = folders[layout] = tmp_path / layout
        d.mkdir()
        (d / "config.yaml").write_text(yaml.safe_dump(hp))
        torch.save({"global_step": 5, "state_dict": sd}, d / checkpoint_name(5), _use_new_zipfile_serialization=False)
    nested, flat = load_acoustic(folders["nested"]), load_acoustic(folders["flat"])
    a, b = nested.state_dict(), flat.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
