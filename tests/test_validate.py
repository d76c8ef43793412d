"""validate: every boundary check names the value and its allowed range, in one line."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Optional

import numpy as np
import pytest

from alignsts import validate as check
from alignsts.config import from_dict
from alignsts.errors import AlignSTSError, AudioInputError, ConfigError, InvalidValueError, OutputError


@pytest.mark.parametrize("value,expected", [(3, 3.0), ("1e-3", 0.001), (np.float32(2.5), 2.5), (np.int64(4), 4.0),
                                            (" 7 ", 7.0)])
def test_number_accepts_reals_and_numeric_strings(value, expected):
    assert check.number(value, "x", 0, 10) == expected


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}, "abc", 1j, math.nan, math.inf, -math.inf, "nan", 11, -1])
def test_number_rejects_with_name_and_range(value):
    with pytest.raises(InvalidValueError) as e:
        check.number(value, "balance", 0, 10)
    msg = str(e.value)
    assert msg.startswith("balance must be a number from 0 to 10, got") and "\n" not in msg


def test_integer_and_strings_off():
    assert check.integer(48000.0, "sr", 8000, 192000) == 48000
    with pytest.raises(InvalidValueError, match="whole number"):
        check.integer(1.5, "sr", 0, 10)
    with pytest.raises(InvalidValueError, match="got '5'"):
        check.number("5", "sr", 0, 10, strings=False)


@pytest.mark.parametrize("value", [math.nan, math.inf, 1000, -37, "up", [1], True])
def test_transpose_bounds(value):
    with pytest.raises(InvalidValueError, match=r"transpose must be 'auto' or semitones from -36 to 36"):
        check.transpose(value)


def test_transpose_accepts_words_and_semitones():
    assert check.transpose("Auto") == "auto"
    assert check.transpose("-12") == -12.0 and check.transpose(36) == 36.0


@pytest.mark.parametrize("sr", ["48000", math.nan, -8000, 1, 10_000_000, 44100.5, None])
def test_sample_rates(sr):
    with pytest.raises(AudioInputError, match="from 4000 to 768000"):
        check.input_sample_rate(sr)
    with pytest.raises(OutputError, match="from 8000 to 192000"):
        check.output_sample_rate(sr)


def test_channel_message_names_the_range():
    with pytest.raises(InvalidValueError, match=r"--channel must be a MIDI channel from 0 to 15 .* got 16"):
        check.channel(16, "--channel")
    assert check.channel(None) is None and check.channel(15) == 15


@dataclass
class Inner:
    rate: Annotated[float, check.Range(0, 15)] = 6.0


@dataclass
class Outer:
    strength: Annotated[float, check.Range(0, 1)] = 0.5
    order: Annotated[int, check.Range(1, 256)] = 8
    flag: bool = True
    name: Annotated[str, check.Check(check.one_of("a", "b"))] = "a"
    band: Annotated[tuple[float, float], check.Range(0, 100)] = (1.0, 2.0)
    maybe: Annotated[Optional[float], check.Range(40, 1000)] = None
    secret: Annotated[bool, check.CallerOnly("--secret")] = False
    inner: Inner = field(default_factory=Inner)


def test_annotated_config_accepts_yaml_spellings():
    cfg = from_dict(Outer, {"strength": "1e-1", "order": 4.0, "band": [3, "4e1"], "maybe": "100",
                            "inner": {"rate": "5"}})
    assert cfg.strength == 0.1 and cfg.order == 4 and isinstance(cfg.order, int)
    assert cfg.band == (3.0, 40.0) and cfg.maybe == 100.0 and cfg.inner.rate == 5.0


@pytest.mark.parametrize("data,needle", [
    ({"strength": [1, 2]}, "strength must be a number from 0 to 1, got [1, 2]"),
    ({"strength": 2}, "strength must be a number from 0 to 1, got 2"),
    ({"order": 1.5}, "order must be a whole number from 1 to 256"),
    ({"flag": "yes"}, "flag must be true or false"),
    ({"name": "c"}, "name must be one of a, b"),
    ({"band": [1]}, "band must be a list of 2 values"),
    ({"band": [1, 200]}, "band[1] must be a number from 0 to 100"),
    ({"inner": 5}, "inner must be a mapping of settings"),
    ({"inner": {"rate": -5}}, "inner.rate must be a number from 0 to 15, got -5"),
    ({"secret": True}, "secret cannot be set in a config file; use --secret"),
    ({"maybe": 1}, "maybe must be a number from 40 to 1000"),
])
def test_annotated_config_rejects(data, needle):
    with pytest.raises(ConfigError) as e:
        from_dict(Outer, data)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, AlignSTSError)


def test_check_config_checks_objects_built_in_python():
    cfg = Outer()
    cfg.inner.rate = float("nan")
    with pytest.raises(ConfigError, match=r"Outer\.inner\.rate must be a number from 0 to 15, got nan"):
        check.check_config(cfg)
    with pytest.raises(InvalidValueError):
        check.check_config(Outer)     # the class, not a settings object


def test_every_engine_config_default_is_valid():
    from alignsts.engines.neural import NeuralConfig
    from alignsts.engines.reference import ReferenceConfig
    from alignsts.engines.score import ScoreConfig

    for cls in (ReferenceConfig, ScoreConfig, NeuralConfig):
        check.check_config(cls())


def test_shipped_yaml_configs_load(project_root):
    from alignsts.config import load_yaml
    from alignsts.engines.reference import ReferenceConfig
    from alignsts.engines.score import ScoreConfig

    load_yaml(ReferenceConfig, project_root / "configs" / "reference.yaml")
    load_yaml(ScoreConfig, project_root / "configs" / "score.yaml")
