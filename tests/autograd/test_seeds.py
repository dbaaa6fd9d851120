"""The seed programs from the design card: hand-derived gradients on small graphs."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def test_chain_a_to_g():
    a = gg.tensor(2.0, requires_grad=True)
    o = gg.tensor(1.0, requires_grad=True)
    b = 5 - 3 * a
    c = 2 * b + 3
    d = 5 * b + 6
    e = 7 * c + d**2
    f = 2 * e
    g = 3 * f - o
    g.backward()
    assert a.grad.item() == pytest.approx(-252 - 180 * (5 * b.item() + 6))
    assert o.grad.item() == -1


def test_square_of_sum_names_and_leaves():
    x = gg.tensor(3.0, requires_grad=True)
    z = x + 2
    y = z**2
    y.backward()
    assert x.grad.item() == 10
    assert y.grad_fn.name() == "PowBackward0"
    assert z.grad_fn.name() == "AddBackward0"
    assert x.grad_fn is None and x.is_leaf
    assert not z.is_leaf and not y.is_leaf


def test_shared_leaf_accumulates_from_both_paths():
    w = gg.tensor(1.0, requires_grad=True)
    x = gg.tensor(2.0, requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    y.backward()
    assert w.grad.item() == 5
    assert [t.is_leaf for t in (w, x, a, b, y)] == [True, True, False, False, False]


def test_vector_jacobian_product_and_scalar_rule():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x**2
    y.backward(gradient=gg.tensor([0.3, 0.7]))
    np.testing.assert_allclose(x.grad.numpy(), [0.6, 2.8], rtol=1e-6)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x**2).backward()


def test_static_style_program_eagerly():
    a, b, c, d = (gg.tensor(v, requires_grad=True) for v in (1.0, 2.0, 3.0, 4.0))
    z = (a + b) + (c * d)
    z.backward()
    assert [t.grad.item() for t in (a, b, c, d)] == [1, 1, 4, 3]


def test_python_control_flow_on_values():
    a = gg.tensor(1.0, requires_grad=True)
    b = gg.tensor(2.0, requires_grad=True)
    x = a + b if a.item() > 0 else a - b
    y = x * 2
    y.backward()
    assert a.grad.item() == 2 and b.grad.item() == 2


def test_linear_bce_with_logits_matches_analytic():
    gg.manual_seed(1)
    x = gg.ones(5, dtype=gg.float64)
    w = gg.randn(5, 3, dtype=gg.float64, requires_grad=True)
    b = gg.randn(3, dtype=gg.float64, requires_grad=True)
    z = x @ w + b
    # the composite form; gg.nn.functional.binary_cross_entropy_with_logits is tested in tests/nn
    loss = (gg.relu(z) - z * 0.0 + gg.log1p(gg.exp(-gg.abs(z)))).mean()
    loss.backward()
    p = 1 / (1 + np.exp(-z.detach().numpy()))
    np.testing.assert_allclose(b.grad.numpy(), p / 3, rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), np.outer(np.ones(5), p / 3), rtol=1e-10)
