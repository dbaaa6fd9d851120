"""Backward on raw arrays: without create_graph the engine runs each op's one formula on arrays.

The same ``backward(gy, F)`` formula runs on tensors with create_graph=True, so
the two must agree; hooks, custom Functions, retain_grad and grad() still see
tensors, and nothing is recorded or made as a gpugrad op on the array path.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd.node import BOTH, ArrayFunction


def leaf(values, device="cpu", dtype=gg.float64):
    return gg.tensor(values, dtype=dtype, device=device, requires_grad=True)


def chain(a, b):
    return ((((a * b + a).tanh() * b - a).exp() * 0.5 + b).sigmoid() * a).sum()


@pytest.fixture
def op_calls(monkeypatch):
    """How many ArrayFunction ops run (forward of any op, inside backward or not)."""
    calls = []
    original = ArrayFunction.__call__

    def counting(self, *inputs):
        calls.append(type(self).__name__)
        return original(self, *inputs)

    monkeypatch.setattr(ArrayFunction, "__call__", counting)
    return calls


def test_backward_without_create_graph_runs_no_op_and_with_it_records(op_calls):
    a, b = leaf([0.3, -1.2, 0.7]), leaf([1.1, 0.4, -0.5])
    y = chain(a, b)
    op_calls.clear()
    y.backward()
    assert op_calls == []
    assert a.grad.grad_fn is None and not a.grad.requires_grad
    z = chain(a, b)
    op_calls.clear()
    (ga,) = gg.autograd.grad(z, a, create_graph=True)
    assert op_calls and ga.requires_grad


def test_chain_gradients_match_pytorch(device):
    torch = pytest.importorskip("torch")
    values_a, values_b = [0.3, -1.2, 0.7], [1.1, 0.4, -0.5]
    a, b = leaf(values_a, device), leaf(values_b, device)
    chain(a, b).backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (values_a, values_b))
    chain(ta, tb).backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.cpu().numpy(), tb.grad.numpy(), rtol=1e-12)


def test_the_same_formulas_give_second_derivatives():
    a, b = leaf([0.3, -1.2, 0.7]), leaf([1.1, 0.4, -0.5])
    assert gg.autograd.gradgradcheck(chain, (a, b))


# op -> a function of two float64 leaves of shape (2, 3) giving a tensor; each has a backward(gy, F) formula
FORMULA_CASES = {
    "add/sub/mul/div": lambda a, b: (a + b) * (a - b) / (b * b + 1.0),
    "neg/rsub/rpow": lambda a, b: 2.0 ** (1.0 - a) - (-b),
    "pow": lambda a, b: a ** 3 + (b * b + 1.0) ** a,
    "exp/log/log1p/sqrt": lambda a, b: (a.exp() + (b * b + 1.0).log() + (b * b).log1p() + (a * a + 1.0).sqrt()),
    "sin/cos/tan/tanh/sigmoid": lambda a, b: a.sin() * b.cos() + (a * 0.5).tan() + b.tanh() * a.sigmoid(),
    "abs/relu/leaky_relu/gelu/erf": lambda a, b: a.abs() + b.relu() + F.leaky_relu(a, 0.1) + F.gelu(b) + gg.erf(a)
    + F.gelu(a, approximate="tanh"),
    "where/maximum/minimum/clamp": lambda a, b: gg.where(a > 0, a, b) + gg.maximum(a, b) * gg.minimum(a, b)
    + a.clamp(-0.5, 0.5),
    "sum/mean with dims": lambda a, b: a.sum(dim=1, keepdim=True) * b.mean(dim=0) + (a * b).mean(),
    "softmax/log_softmax": lambda a, b: gg.softmax(a, dim=1) * gg.log_softmax(b, dim=0),
    "reshape/expand/permute/clone": lambda a, b: a.reshape(3, 2).T.clone() * b[:, :1].expand(2, 3),
    "indexing, basic and advanced": lambda a, b: a[1] * b[0, 1:].sum() + a[gg.tensor([0, 0, 1])].sum(dim=0).sum(),
    "matmul/linear": lambda a, b: (a @ b.T) @ a + F.linear(a, b, b[0, :2]).sum() + a[0] @ b[1],
    "matrix @ vector": lambda a, b: (a @ b[0]).sum() * (a[1] @ b.T),
    "to(dtype)": lambda a, b: (a.to(gg.float32) * 2.0).to(gg.float64) * b,
    "max/min, ties split": lambda a, b: a.amax(dim=1) * b.amin() + (a * 0.0 + 1.0).amax(dim=0).sum() * a.amax(),
    "cat/stack": lambda a, b: gg.cat([a, b * b], dim=1).sum(dim=0) * gg.stack([a[0], b[1]], dim=-1).sum(),
}


@pytest.mark.parametrize("case", list(FORMULA_CASES))
def test_formulas_on_arrays_and_on_tensors_agree(case, device):
    rng = np.random.default_rng(0)
    values_a, values_b = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3))
    fn = FORMULA_CASES[case]
    a, b = leaf(values_a, device), leaf(values_b, device)
    fn(a, b).sum().backward()  # on arrays
    a2, b2 = leaf(values_a, device), leaf(values_b, device)
    grads = gg.autograd.grad(fn(a2, b2).sum(), (a2, b2), create_graph=True)  # on tensors
    assert grads[0].requires_grad  # every case is nonlinear in a: its gradient is recorded
    for got, want in zip((a.grad, b.grad), grads):
        np.testing.assert_allclose(got.cpu().numpy(), want.detach().cpu().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", ["exp/log/log1p/sqrt", "sin/cos/tan/tanh/sigmoid", "matmul/linear"])
def test_formulas_pass_gradcheck_and_gradgradcheck(case):
    rng = np.random.default_rng(1)
    a, b = leaf(rng.uniform(-1, 1, (2, 3))), leaf(rng.uniform(-1, 1, (2, 3)))
    fn = FORMULA_CASES[case]
    assert gg.autograd.gradcheck(fn, (a, b))
    assert gg.autograd.gradgradcheck(fn, (a, b))


def test_every_op_written_for_both_kinds_is_marked_so():
    from gpugrad.ops.elementwise import Add, Mul, Sigmoid, Tanh
    from gpugrad.ops.linalg import Linear, MatMul

    assert all(cls.formula is BOTH for cls in (Add, Mul, Sigmoid, Tanh, Linear, MatMul))


def test_hooks_and_retain_grad_see_tensors_and_can_replace_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(type(g)) or g * 10.0)
    h = x * 3.0
    h.retain_grad()
    h.register_hook(lambda g: seen.append(type(g)))
    h.sum().backward()
    assert seen == [gg.Tensor, gg.Tensor]
    np.testing.assert_array_equal(h.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])


def test_custom_function_in_the_middle_gets_tensors():
    seen = []

    class Double(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            seen.append(type(grad))
            return grad * 2.0

    x = leaf([1.0, -1.0])
    Double.apply(x.sin()).exp().sum().backward()
    assert seen == [gg.Tensor]
    np.testing.assert_allclose(x.grad.numpy(), np.exp(2 * np.sin([1.0, -1.0])) * 2 * np.cos([1.0, -1.0]))


def test_zero_dim_leaf_gets_an_array_gradient_not_a_numpy_scalar():
    x = leaf(2.0)
    (x * x).backward()
    assert isinstance(x.grad.array, np.ndarray) and x.grad.array.shape == ()
    assert x.grad.item() == 4.0


def test_gradients_are_summed_back_to_broadcast_shapes_and_cast_to_the_leaf_dtype():
    small = leaf([[1.0], [2.0]], dtype=gg.float32)
    row = leaf([1.0, 2.0, 3.0])
    (small.to(gg.float64) * row).sum().backward()
    assert small.grad.dtype is gg.float32 and small.grad.shape == (2, 1)
    np.testing.assert_array_equal(small.grad.numpy(), [[6.0], [6.0]])
    np.testing.assert_array_equal(row.grad.numpy(), [3.0, 3.0, 3.0])


def test_a_leaf_dropped_before_backward_is_skipped():
    x = leaf([1.0, 2.0])
    y = (gg.tensor([3.0, 4.0], dtype=gg.float64) * leaf([5.0, 6.0])).sum() + (x * 2.0).sum()
    gc.collect()
    y.backward()  # the unnamed leaf's accumulator has nothing left to write into
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_in_place_change_of_a_saved_input_is_caught_on_the_array_path():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    y = (h * h).sum()
    with gg.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_grad_returns_tensors_without_create_graph():
    x = leaf([1.0, 2.0])
    (g,) = gg.autograd.grad((x ** 3).sum(), x)
    assert isinstance(g, gg.Tensor) and not g.requires_grad
    np.testing.assert_array_equal(g.numpy(), [3.0, 12.0])


def test_the_freed_graph_error_is_the_same_on_arrays():
    x = leaf([1.0])
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_the_implicit_seed_of_a_scalar_loss_reaches_hooks_retain_grad_and_grad_as_a_0d_tensor(device, dtype):
    # on the CPU the engine seeds a 0-d loss with a NumPy scalar (cheaper per op than a 0-d array);
    # nothing outside the engine may see anything but a tensor holding an array of the loss's dtype
    x = leaf([1.0, 2.0], device, dtype)
    loss = (x * x).sum()
    loss.retain_grad()
    seen = []
    loss.register_hook(seen.append)
    loss.backward()
    for g in (seen[0], loss.grad):
        assert isinstance(g, gg.Tensor) and g.shape == () and g.dtype == dtype and g.device == x.device
        assert g.item() == 1.0 and g.array.__class__ not in (np.float32, np.float64)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 4.0])
    assert x.grad.dtype == dtype and x.grad.array.shape == (2,)
    total = x.sum()
    (itself,) = gg.autograd.grad(total, total)  # the seed itself, captured at the root
    assert itself.shape == () and itself.dtype == dtype and itself.item() == 1.0
    assert itself.array.__class__ is not np.float64 and itself.array.__class__ is not np.float32


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("shape", [(1000,), (7, 3), (1,)])
def test_a_scalar_factor_broadcast_over_an_array_gets_the_summed_product_as_gradient(device, dtype, shape):
    # float64 takes a one-pass dot for sum(gy * x); it must agree with the product summed in float64
    rng = np.random.default_rng(3)
    x_np, w_np = rng.standard_normal(shape), rng.standard_normal(shape)
    scale = gg.tensor(0.7, dtype=dtype, device=device, requires_grad=True)
    x = gg.tensor(x_np, dtype=dtype, device=device)
    ((scale * x) * gg.tensor(w_np, dtype=dtype, device=device)).sum().backward()
    ((x * scale) * gg.tensor(w_np, dtype=dtype, device=device)).sum().backward()  # the other operand order
    rounded = [v.astype(dtype.np).astype(np.float64) for v in (x_np, w_np)]  # the values the tensors hold
    expected = 2 * np.sum(rounded[0] * rounded[1])
    assert scale.grad.shape == () and scale.grad.dtype == dtype
    np.testing.assert_allclose(scale.grad.item(), expected, rtol=1e-12 if dtype == gg.float64 else 1e-5)


def test_a_scalar_factors_gradient_passes_gradcheck_and_gradgradcheck():
    scale = leaf(0.7)
    x = leaf(np.random.default_rng(4).standard_normal(20))
    assert gg.autograd.gradcheck(lambda s, v: (s * v * v).sum(), (scale, x))
    assert gg.autograd.gradgradcheck(lambda s, v: (v * s).sin().sum(), (scale, x))
