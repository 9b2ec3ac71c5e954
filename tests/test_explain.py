"""explain: the lecture's worked examples never print infinity or NaN, and stay a screenful."""

import json
import math

import pytest

from cnnlab.explain import MAX_WIDTH, conv1d_steps


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(bias=math.inf), "bias must be a finite number, got inf"),
        (dict(bias=math.nan), "bias must be a finite number, got nan"),
        (dict(x=[1, math.inf]), "input must hold finite numbers"),
        (dict(x=[1e308, 1e308], weight=[1e308]), "the dot products overflow"),
        (dict(padding=10**6), f"must be at most {MAX_WIDTH} neurons"),
        (dict(x=[[1, 2]]), "input must be a list of 1 to 1000 numbers"),
        (dict(x=["a"]), "input must be a list of numbers"),
    ],
)
def test_conv1d_steps_refuses_what_json_cannot_hold(kwargs, match):
    args = dict(x=[1, 2, 2, -1, 3], weight=[1, -1, 1], bias=-2, padding=1) | kwargs
    with pytest.raises(ValueError, match=match):
        conv1d_steps(**args)


def test_large_finite_values_stay_valid_json():
    steps = conv1d_steps([1e150, -1e150], [1e150], activation="sigmoid")
    json.dumps(steps, allow_nan=False)  # would raise on inf or NaN
    assert steps["outputs"] == [1.0, 0.0]
