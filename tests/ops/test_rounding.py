"""round / floor / ceil / trunc / frac / reciprocal / atan2: values vs NumPy and PyTorch, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends import to_host

VALUES = [-2.5, -1.5, -0.7, -0.5, 0.0, 0.5, 1.5, 2.5, 2.567, 3.2]


def _host(t):
    return np.asarray(to_host(t.array))


@pytest.mark.filterwarnings("ignore:divide by zero")  # reciprocal of 0 is inf, as in NumPy
@pytest.mark.parametrize("name, reference", [
    ("round", np.round), ("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
    ("frac", lambda a: a - np.trunc(a)), ("reciprocal", lambda a: 1.0 / a),
])
def test_values_match_numpy(device, name, reference):
    x = gg.tensor(VALUES, dtype=gg.float64, device=device)
    with np.errstate(divide="ignore"):
        expected = reference(np.array(VALUES))
    np.testing.assert_array_equal(_host(getattr(x, name)()), expected)
    np.testing.assert_array_equal(_host(getattr(gg, name)(x)), expected)


def test_round_with_decimals_and_integers_stay_integers(device):
    x = gg.tensor([2.567, -1.234], dtype=gg.float64, device=device)
    np.testing.assert_allclose(_host(x.round(decimals=2)), [2.57, -1.23])
    ints = gg.tensor([1, -2], device=device)
    assert ints.floor().dtype == gg.int64 and _host(ints.round()).tolist() == [1, -2]
    assert gg.tensor([2, 4], device=device).reciprocal().dtype == gg.float32


@pytest.mark.parametrize("name", ["round", "floor", "ceil", "trunc"])
def test_step_functions_have_zero_gradient(name):
    x = gg.tensor([0.3, 1.7], requires_grad=True)
    getattr(x, name)().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    assert getattr(x, name)().grad_fn.name() == f"{name.capitalize()}Backward0"


def test_frac_reciprocal_atan2_gradients(device):
    x = gg.tensor([0.3, -1.7, 2.2], dtype=gg.float64, device=device, requires_grad=True)
    y = gg.tensor([1.1, 0.4, -0.9], dtype=gg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda a: a.frac(), (x,))
    assert gradcheck(lambda a: a.reciprocal(), (x,)) and gradgradcheck(lambda a: a.reciprocal(), (x,))
    assert gradcheck(gg.atan2, (x, y)) and gradgradcheck(gg.atan2, (x, y))


def test_atan2_values(device):
    y, x = np.array([1.0, -1.0, 0.5]), np.array([-1.0, -2.0, 3.0])
    out = gg.atan2(gg.tensor(y, device=device), gg.tensor(x, device=device))
    np.testing.assert_allclose(_host(out), np.arctan2(y, x))


def test_torch_parity():
    torch = pytest.importorskip("torch")
    data = np.array(VALUES)
    for name in ("round", "floor", "ceil", "trunc", "frac"):
        np.testing.assert_array_equal(getattr(gg.tensor(data), name)().numpy(),
                                      getattr(torch.tensor(data), name)().numpy())
    np.testing.assert_allclose(gg.tensor(data).round(decimals=1).numpy(),
                               torch.tensor(data).round(decimals=1).numpy())
    y = np.array([1.0, -2.0, 0.5])
    t = torch.tensor(y, requires_grad=True)
    torch.atan2(t, torch.tensor(data[:3])).sum().backward()
    g = gg.tensor(y, requires_grad=True)
    gg.atan2(g, gg.tensor(data[:3])).sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())


def test_bad_input():
    with pytest.raises(TypeError, match="round"):
        gg.round([1.5])
    with pytest.raises(RuntimeError, match="frac"):
        gg.tensor([1]).frac()
