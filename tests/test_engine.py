"""The PyTorch engine built from a spec: shapes as the spec says, input checks, seeding, NumPy state."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnlab import engine
from cnnlab import spec as S


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 3),
    h=st.integers(6, 20),
    out=st.integers(1, 6),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    mode=st.sampled_from(["zeros", "circular", "reflect"]),
)
def test_engine_output_shape_is_what_the_spec_says(c, h, out, k, s, p, mode):
    text = f"conv({out},{k},s={s},p={p},mode={mode})-relu-flatten-linear(3)"
    # Only shapes the spec accepts (the refusals are tested in test_spec_analysis.py): the filter
    # tiles the padded input exactly, and reflect padding is smaller than the input.
    assume((h - k + 2 * p) % s == 0 and not (mode == "reflect" and p >= h))
    rows = S.analyze(text, (c, h, h))
    net = engine.build(text, (c, h, h))
    feats = net.features(torch.zeros(2, c, h, h))
    assert [tuple(f.shape[1:]) for f in feats] == [r.out_shape for r in rows]
    assert net.num_params == sum(r.params for r in rows)


def test_engine_checks_its_input_and_is_seeded():
    net = engine.build("lenet", (1, 28, 28), num_classes=10, seed=3)
    same = engine.build("lenet", (1, 28, 28), num_classes=10, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), same.state_dict().values()))
    with pytest.raises(
        ValueError, match=r"input must have shape \(N, 1, 28, 28\) for this network, got \(2, 1, 32, 32\)"
    ):
        net(torch.zeros(2, 1, 32, 32))


def test_engine_numpy_state_round_trip():
    net = engine.build("conv(4,3,p=1)-bn-relu-gap-linear(2)", (1, 6, 6), seed=0)
    state = engine.to_numpy_state(net)
    other = engine.build("conv(4,3,p=1)-bn-relu-gap-linear(2)", (1, 6, 6), seed=1)
    engine.load_numpy_state(other, state)
    x = torch.randn(3, 1, 6, 6)
    net.eval(), other.eval()
    assert torch.equal(net(x), other(x))
    with pytest.raises(ValueError, match=r"0.weight: shape \(1,\) does not match"):
        engine.load_numpy_state(other, state | {"0.weight": state["0.weight"].ravel()[:1]})
