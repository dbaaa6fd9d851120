"""In-place math methods (exp_, relu_, pow_, normal_, ...): PyTorch's dtype and leaf rules, versions, torch parity."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host

UNARY = ["neg_", "abs_", "exp_", "log_", "log1p_", "sqrt_", "rsqrt_", "sin_", "cos_", "tan_", "tanh_", "sigmoid_",
         "relu_", "square_", "sign_"]


@pytest.mark.parametrize("name", UNARY)
def test_writes_into_the_same_memory_and_bumps_the_version(name, device):
    t = gg.tensor([0.5, 1.5], device=device)
    array, version = t.array, t._version_number
    expected = np.asarray(to_host(getattr(t, name[:-1])().array)) if name != "square_" else np.square([0.5, 1.5])
    assert getattr(t, name)() is t
    assert t.array is array and t._version_number == version + 1
    np.testing.assert_allclose(np.asarray(to_host(t.array)), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["exp_", "log_", "sqrt_", "sigmoid_", "tanh_", "rsqrt_"])
def test_float_result_into_an_integer_tensor_is_an_error(name):
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        getattr(gg.tensor([1, 2]), name)()


@pytest.mark.parametrize("name", ["neg_", "abs_", "relu_", "square_", "sign_"])
def test_integer_results_stay_in_integer_tensors(name):
    t = gg.tensor([-2, 3])
    assert getattr(t, name)().dtype == gg.int64


def test_leaf_that_requires_grad_refuses_unless_no_grad():
    w = gg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.exp_()
    with gg.no_grad():
        w.exp_()
    w.data.relu_()  # .data is outside the graph
    assert w.tolist() == pytest.approx([np.e, np.e])


def test_saved_values_changed_in_place_are_detected():
    x = gg.tensor([0.5, 1.0], requires_grad=True)
    y = x * 2
    z = y.sin()  # saves y
    y.exp_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_chain_matches_torch_values_and_gradients():
    torch = pytest.importorskip("torch")

    def chain(lib, x):
        y = (x * 1.5).clamp_min_(-0.8).clamp_max_(0.8)
        y.masked_fill_(x > 0.5, 0.25)
        y.tril_().remainder_(0.7)
        return y.pow_(3).sigmoid_()

    values = np.random.default_rng(0).uniform(-1, 1, (3, 3))
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    out, expected = chain(gg, x), chain(torch, tx)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_normal_and_uniform_fill_in_place_with_the_seed(device):
    gg.manual_seed(3)
    a = gg.empty(1000, device=device).normal_(2.0, 0.5)
    gg.manual_seed(3)
    b = gg.empty(1000, device=device).normal_(2.0, 0.5)
    np.testing.assert_array_equal(np.asarray(to_host(a.array)), np.asarray(to_host(b.array)))
    assert abs(float(a.mean()) - 2.0) < 0.1 and abs(float(a.std()) - 0.5) < 0.05
    u = gg.empty(1000, device=device).uniform_(-3.0, -1.0)
    assert -3.0 <= float(u.min()) and float(u.max()) < -1.0


def test_manual_init_through_data():
    w = gg.empty(3, 4, requires_grad=True)
    w.data.normal_(0, 0.02)
    w.data.uniform_(-0.1, 0.1)
    assert w.requires_grad and w.is_leaf and float(w.abs().max()) <= 0.1


def test_random_fills_refuse_integer_tensors_and_bad_arguments():
    with pytest.raises(RuntimeError, match="floating point"):
        gg.zeros(2, dtype=gg.int64).normal_()
    with pytest.raises(RuntimeError, match="std >= 0"):
        gg.zeros(2).normal_(0, -1)
    with pytest.raises(RuntimeError, match="'from' <= 'to'"):
        gg.zeros(2).uniform_(1, 0)
