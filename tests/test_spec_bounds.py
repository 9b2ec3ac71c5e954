"""Bounded work in the spec layer: documented limits, O(1) fix suggestions, the memory estimate, and a fuzz.

The estimate is checked against what PyTorch builds (parameters, buffers and every layer's output);
the fuzz feeds the parser and ``summarize`` hostile text and asserts that each call ends quickly with
a result or a ``SpecError``/``ValueError``, never another exception.
"""

from __future__ import annotations

import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab import engine
from cnnlab import spec as S
from cnnlab.shapes import MAX_SIZE, conv_output_size
from cnnlab.summary import summarize


def test_a_huge_stride_gets_its_fix_without_a_search():
    with pytest.raises(ValueError, match=r"= 2.5e-07 is not an integer; choose stride=1 \(gives 26\)"):
        conv_output_size(28, 3, stride=10**8)
    # An odd stride: the nearest padding comes from a modular inverse, not a loop over 10**8 values.
    with pytest.raises(ValueError, match=r"choose padding=49999988 \(gives 2\) or stride=1 \(gives 26\)"):
        conv_output_size(28, 3, stride=10**8 + 1)
    with pytest.raises(ValueError, match=f"stride must be at most {MAX_SIZE:,}"):
        conv_output_size(28, 3, stride=10**12)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("relu-" * 1000 + "flatten", "at most 1,000 layers"),
        ("relu" + "-relu" * 4000, "at most 20,000 characters"),
        ("conv(4,3,p=3000000000)", "padding must be at most 2,147,483,647"),
        ("linear(99999999999)", "out_features must be at most"),
        ("conv(4,3,bias=1)", "bias must be true or false, got 1"),
        ("linear(4,bias=yes)", "bias must be true or false, got 'yes'"),
    ],
)
def test_spec_bounds_are_documented_errors(text, match):
    with pytest.raises(S.SpecError, match=match):
        S.analyze(text, (1, 28, 28), num_classes=10)


def test_parse_shape_bounds():
    with pytest.raises(S.SpecError, match="sizes in"):
        S.parse_shape("1x99999999999x2")
    with pytest.raises(S.SpecError, match="CxHxW"):
        S.parse_shape("1x" * 10 + "1")


@pytest.mark.parametrize(
    ("spec", "shape"),
    [
        ("lenet", (1, 28, 28)),
        ("cnn1d", (1, 40)),
        ("conv(4,3,p=1,mode=circular)-bn-relu-maxpool(2)-conv(8,3)-relu-gap-linear", (3, 12, 12)),
        ("mlp", (1, 28, 28)),
    ],
)
def test_memory_estimate_counts_what_torch_builds(spec, shape):
    net = engine.build(spec, shape, num_classes=10)
    estimate = S.estimate_memory(spec, shape, num_classes=10, batch_size=7)
    assert estimate.params == sum(t.numel() for k, t in net.state_dict().items() if "num_batches" not in k)
    outputs = net.eval().features(torch.zeros(7, *shape))
    assert estimate.activations == 7 * (torch.zeros(shape).numel() + sum(o[0].numel() for o in outputs))
    training = S.estimate_memory(spec, shape, num_classes=10, batch_size=7, training=True)
    assert training.nbytes == 4 * (4 * estimate.params + 2 * estimate.activations + estimate.workspace)


def test_memory_refusal_states_estimate_and_limit():
    estimate = S.estimate_memory("conv(1,1,p=3000)-gap-linear", (1, 28, 28), 10, batch_size=64, training=True)
    with pytest.raises(S.MemoryBudgetError) as err:
        estimate.check(2 * 10**9, "the page's run", "use cnnlab train")
    message = str(err.value)
    assert message.startswith("the page's run needs about 18.8 GB to train with batch 64 (22 parameters")
    assert message.endswith("the limit is 2 GB (use cnnlab train)")


def test_memory_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNLAB_MEMORY_LIMIT", "512M")
    assert S.memory_limit() == 512 * 2**20
    monkeypatch.setenv("CNNLAB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="CNNLAB_MEMORY_LIMIT must be a size like 8G"):
        S.memory_limit()
    monkeypatch.delenv("CNNLAB_MEMORY_LIMIT")
    assert S.memory_limit() > 0


# A spec grammar, bent: real layer names and keys, and numbers from 0 to far beyond any bound.
_NUMBERS = st.one_of(
    st.integers(-3, 40), st.integers(0, 10**30), st.sampled_from(["1e400", "nan", "-0", "2.5", "", "x", "9" * 5000])
)
_LAYER = st.builds(
    lambda name, args: name + (f"({','.join(map(str, args))})" if args is not None else ""),
    st.sampled_from(["conv", "maxpool", "avgpool", "linear", "dropout", "gap", "flatten", "relu", "bn", "bogus"]),
    st.none() | st.lists(_NUMBERS | st.sampled_from(["p=2", "s=10**9", "mode=circular", "bias=no", "k=1"]), max_size=5),
)
_SPECS = st.one_of(
    st.lists(_LAYER, min_size=1, max_size=12).map("-".join),
    st.text(alphabet="conv(),=-0123456789 relupsxlinearmode", max_size=200),
    st.text(max_size=100),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_SPECS, shape=st.sampled_from([(1, 28, 28), (3, 8, 8), (1, 40), (10,), (1, 2**31 - 1, 2)]))
def test_parser_and_summary_answer_hostile_specs_quickly(spec, shape):
    started = time.perf_counter()
    try:
        summary = summarize(spec, shape, num_classes=10)
        summary.to_text()
        S.estimate_memory(spec, shape, num_classes=10, batch_size=64, training=True).nbytes  # noqa: B018
    except (S.SpecError, ValueError):
        pass
    assert time.perf_counter() - started < 1.0
