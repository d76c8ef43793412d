"""Typed configuration from dicts and YAML files."""
from __future__ import annotations

import dataclasses

import pytest

from alignsts.align.speech_to_sung import AlignConfig
from alignsts.config import ConfigError, from_dict, load_yaml, to_dict
from alignsts.engines.reference import ReferenceConfig
from alignsts.errors import AlignSTSError


def test_from_dict_defaults():
    assert from_dict(ReferenceConfig, {}) == ReferenceConfig()
    assert from_dict(ReferenceConfig, None) == ReferenceConfig()


def test_from_dict_with_nested_align():
    cfg = from_dict(ReferenceConfig, {"transpose": -12, "reference_f0": "harvest",
                                      "align": {"radius": 20, "silence_weight": 0.5}})
    assert isinstance(cfg, ReferenceConfig)
    assert cfg.transpose == -12 and cfg.reference_f0 == "harvest"
    assert isinstance(cfg.align, AlignConfig)
    assert cfg.align.radius == 20 and cfg.align.silence_weight == 0.5
    assert cfg.align.max_full_cells == AlignConfig().max_full_cells      # untouched fields keep defaults
    assert cfg.bridge_gap_ms == ReferenceConfig().bridge_gap_ms


def test_from_dict_does_not_share_default_align():
    a, b = from_dict(ReferenceConfig, {}), from_dict(ReferenceConfig, {})
    assert a.align is not b.align


@pytest.mark.parametrize("data,where", [
    ({"tranpose": 3}, "tranpose"),
    ({"align": {"raduis": 3}}, "align"),
])
def test_unknown_keys_are_errors(data, where):
    with pytest.raises(ConfigError) as e:
        from_dict(ReferenceConfig, data)
    msg = str(e.value)
    assert "unknown key" in msg and where in msg
    assert isinstance(e.value, AlignSTSError)


def test_nested_unknown_key_names_its_section():
    with pytest.raises(ConfigError, match=r"config\.align: unknown key\(s\) raduis"):
        from_dict(ReferenceConfig, {"align": {"raduis": 3}})


def test_load_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# settings\ntranspose: auto\nmax_gain_db: 30\nalign:\n  radius: 7\n  compress_penalty: 0.5\n")
    cfg = load_yaml(ReferenceConfig, path)
    assert cfg.transpose == "auto" and cfg.max_gain_db == 30
    assert isinstance(cfg.align, AlignConfig) and cfg.align.radius == 7 and cfg.align.compress_penalty == 0.5


def test_load_yaml_empty_file_is_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n")
    assert load_yaml(ReferenceConfig, path) == ReferenceConfig()


@pytest.mark.parametrize("content,needle", [
    ("transpose: auto\nfoo: 1\n", "unknown key"),
    ("align:\n  foo: 1\n", "unknown key"),
    ("transpose: [1, 2\n", "not valid YAML"),
    ("- 1\n- 2\n", "expected a mapping"),
])
def test_load_yaml_errors(tmp_path, content, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_yaml(ReferenceConfig, path)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_load_yaml_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_yaml(ReferenceConfig, tmp_path / "nope.yaml")


def test_to_dict_round_trip():
    cfg = ReferenceConfig(transpose=5.0, align=AlignConfig(radius=3))
    d = to_dict(cfg)
    assert d["align"]["radius"] == 3
    assert from_dict(ReferenceConfig, d) == cfg


def test_shipped_example_config_equals_defaults(project_root):
    """configs/reference.yaml says it lists the defaults: it must load and equal them."""
    path = project_root / "configs" / "reference.yaml"
    if not path.is_file():
        pytest.skip("configs/reference.yaml not present")
    cfg = load_yaml(ReferenceConfig, path)
    assert dataclasses.asdict(cfg) == dataclasses.asdict(ReferenceConfig())
