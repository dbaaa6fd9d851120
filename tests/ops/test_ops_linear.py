"""The fused linear op (x @ w.T + b in one node) against the composite it replaces."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.ops.linalg import linear


def _leaf(*shape):
    return gg.randn(*shape, dtype=gg.float64, requires_grad=True)


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_the_composite_in_value_and_gradient(x_shape, with_bias):
    x, w = _leaf(*x_shape), _leaf(4, 3)
    b = _leaf(4) if with_bias else None
    fused = linear(x, w, b)
    composite = x @ w.mT + b if with_bias else x @ w.mT
    np.testing.assert_allclose(fused.detach().numpy(), composite.detach().numpy(), rtol=1e-12)
    inputs = [x, w] + ([b] if with_bias else [])
    g_fused = gg.autograd.grad(fused.sum(), inputs)
    g_composite = gg.autograd.grad(composite.sum(), inputs)
    for a, c in zip(g_fused, g_composite):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12)
        assert a.array.flags.c_contiguous


def test_linear_gradcheck_and_double_backward():
    x, w, b = _leaf(3, 2), _leaf(4, 2), _leaf(4)
    assert gg.autograd.gradcheck(linear, (x, w, b))
    assert gg.autograd.gradgradcheck(linear, (x, w, b))


def test_linear_skips_gradients_nobody_needs_and_names_its_node():
    x = gg.randn(5, 3, dtype=gg.float64)  # data: no gradient wanted
    w = _leaf(4, 3)
    out = linear(x, w, gg.zeros(4, dtype=gg.float64))
    assert out.grad_fn.name() == "AddmmBackward0"
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((4, 5)) @ x.numpy(), rtol=1e-12)
    assert x.grad is None


def test_nn_linear_uses_it():
    layer = gg.nn.Linear(3, 2)
    assert layer(gg.randn(4, 3)).grad_fn.name() == "AddmmBackward0"
