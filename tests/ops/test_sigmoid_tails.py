"""sigmoid keeps full relative accuracy in its tails (the tanh form cancelled for very negative inputs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg


@pytest.mark.parametrize("dtype, ulps", [(gg.float64, 2), (gg.float32, 3)])
def test_sigmoid_is_relatively_accurate_on_both_tails(dtype, ulps):
    x = np.concatenate([np.linspace(-700, 700, 2001), [-87.0, -30.0, -20.0, -1e-8, 0.0, 1e-8, 20.0, 30.0]])
    if dtype is gg.float32:
        x = x[np.abs(x) < 100]
    x = x.astype(dtype.np).astype(np.float64)  # the reference sees the inputs the dtype can hold
    got = gg.sigmoid(gg.tensor(x, dtype=dtype)).numpy().astype(np.float64)
    want = np.array([1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v)) for v in x])
    want_in_dtype = want.astype(dtype.np)
    tiny = np.finfo(dtype.np).tiny
    normal = want_in_dtype >= tiny
    spacing = np.spacing(want_in_dtype[normal].astype(dtype.np)).astype(np.float64)
    assert np.all(np.abs(got[normal] - want[normal]) <= ulps * spacing)
    assert gg.sigmoid(gg.tensor([-30.0], dtype=dtype)).item() == pytest.approx(9.357622968839299e-14, rel=1e-6)


def test_sigmoid_saturates_without_warnings():
    with np.errstate(all="raise"):
        out = gg.sigmoid(gg.tensor([-1e4, 1e4], dtype=gg.float64)).numpy()
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_sigmoid_gradient_still_passes_gradcheck():
    x = gg.tensor([-30.0, -3.0, 0.0, 2.0, 25.0], dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(gg.sigmoid, (x,))
