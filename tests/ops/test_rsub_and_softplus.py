"""rsub (``5 - t``, ``torch.rsub``) with PyTorch's node names, and softplus that is right in float16.

rsub: values against NumPy, float64 gradcheck, grad_fn names against PyTorch's (``RsubBackward1`` for a number,
``RsubBackward0`` for a tensor), and a gg.compile replay.

softplus: float16 used to overflow (``exp`` passes float16's maximum at 11.09, inside the default threshold of 20)
and is now computed in float32 and rounded once, as PyTorch does. Accuracy is counted in float16 ulp against a
float64 reference; measured over every finite float16: values 0.5 ulp, gradients 0.99 ulp (PyTorch's half
softplus: 0.5 and 0.5; ours rounds a float32 tanh-form sigmoid). float32 and float64 are checked bit for bit
against the formula used before the float16 fix.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.graph import compile


F64 = gg.float64
# every finite float16, in increasing order
_EVERY_FLOAT16_BIT_PATTERN = np.arange(2**16, dtype=np.uint16).view(np.float16)
ALL_FLOAT16 = np.sort(_EVERY_FLOAT16_BIT_PATTERN[np.isfinite(_EVERY_FLOAT16_BIT_PATTERN)])


def _leaf(values, dtype=F64) -> gg.Tensor:
    return gg.tensor(values, dtype=dtype, requires_grad=True)


# ================================================================== rsub
def test_rsub_values_match_numpy_with_broadcasting_and_alpha():
    rng = np.random.default_rng(0)
    x, other = rng.standard_normal((3, 1)), rng.standard_normal(4)
    np.testing.assert_array_equal(gg.rsub(gg.tensor(x), gg.tensor(other)).numpy(), other - x)
    np.testing.assert_allclose(gg.rsub(gg.tensor(x), gg.tensor(other), alpha=2.5).numpy(), other - 2.5 * x, rtol=1e-15)
    np.testing.assert_array_equal(gg.rsub(gg.tensor(x), 5).numpy(), 5 - x)
    np.testing.assert_allclose(gg.rsub(gg.tensor(x), 5, alpha=-3).numpy(), 5 + 3 * x, rtol=1e-15)


@pytest.mark.parametrize("dtype, other, expected", [
    (gg.int32, 5, gg.int32),  # an int number keeps an int tensor's dtype
    (gg.int64, 5.5, gg.float32),  # a float number makes it the default float, as in PyTorch
    (gg.float16, 5, gg.float16),
    (gg.float32, 2.5, gg.float32),
], ids=str)
def test_rsub_with_a_number_promotes_like_pytorch(dtype, other, expected):
    x = gg.tensor([1, 2, 3], dtype=dtype)
    out = gg.rsub(x, other)
    assert out.dtype == expected
    np.testing.assert_array_equal(out.numpy(), other - np.array([1, 2, 3], dtype=expected.np))


def test_rsub_with_unbroadcastable_shapes_names_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"rsub\(\): shapes \(2,\) and \(3,\)"):
        gg.rsub(gg.ones(2), gg.ones(3))


@pytest.mark.parametrize("alpha", [1, 2.5])
def test_rsub_gradients_pass_gradcheck(alpha):
    rng = np.random.default_rng(1)
    x, other = _leaf(rng.standard_normal((3, 1))), _leaf(rng.standard_normal(4))
    assert gradcheck(lambda a, b: gg.rsub(a, b, alpha=alpha), (x, other))
    assert gradcheck(lambda a: gg.rsub(a, 0.75, alpha=alpha), (x,))
    assert gradgradcheck(lambda a, b: gg.rsub(a, b, alpha=alpha) * a, (x, other))


def test_rsub_gradients_are_minus_alpha_and_one():
    x, other = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    gg.rsub(x, other, alpha=3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-3.0, -3.0])
    np.testing.assert_array_equal(other.grad.numpy(), [1.0, 1.0])


def test_rsub_node_names():
    x, other = _leaf([1.0]), _leaf([2.0])
    assert gg.rsub(x, 5).grad_fn.name() == "RsubBackward1"
    assert gg.rsub(x, 5, alpha=2).grad_fn.name() == "RsubBackward1"
    assert gg.rsub(x, other).grad_fn.name() == "RsubBackward0"
    assert gg.rsub(x, gg.tensor([2.0])).grad_fn.name() == "RsubBackward0"  # only x needs a gradient


# Each case: (name, the expression on a library that has ``.rsub`` and tensors), for gpugrad and PyTorch alike.
_NAME_CASES = [
    ("number_minus_tensor", lambda lib, t, o: 5 - t),
    ("float_minus_tensor", lambda lib, t, o: 2.5 - t),
    ("rsub_number", lambda lib, t, o: lib.rsub(t, 5)),
    ("rsub_number_alpha", lambda lib, t, o: lib.rsub(t, 5, alpha=2)),
    ("rsub_tensor", lambda lib, t, o: lib.rsub(t, o)),
    ("rsub_tensor_alpha", lambda lib, t, o: lib.rsub(t, o, alpha=2)),
    ("dunder_rsub_tensor", lambda lib, t, o: t.__rsub__(o)),
    ("tensor_minus_tensor", lambda lib, t, o: o - t),
    ("tensor_minus_number", lambda lib, t, o: t - 5),
]
# what PyTorch 2.x names them (checked against torch below when it is installed)
_TORCH_NAMES = {
    "number_minus_tensor": "RsubBackward1", "float_minus_tensor": "RsubBackward1", "rsub_number": "RsubBackward1",
    "rsub_number_alpha": "RsubBackward1", "rsub_tensor": "RsubBackward0", "rsub_tensor_alpha": "RsubBackward0",
    "dunder_rsub_tensor": "RsubBackward0", "tensor_minus_tensor": "SubBackward0", "tensor_minus_number": "SubBackward0",
}
@pytest.mark.parametrize("case, expression", _NAME_CASES, ids=[case for case, _ in _NAME_CASES])
def test_node_names_match_pytorch(case, expression):
    out = expression(gg, _leaf([1.0, 2.0]), _leaf([3.0, 4.0]))
    assert out.grad_fn.name() == _TORCH_NAMES[case]


@pytest.mark.parametrize("case, expression", _NAME_CASES, ids=[case for case, _ in _NAME_CASES])
def test_expected_names_are_pytorchs(case, expression):
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    o = torch.tensor([3.0, 4.0], requires_grad=True)
    assert type(expression(torch, t, o).grad_fn).__name__ == _TORCH_NAMES[case]


def test_compiled_rsub_with_backward_replays_like_eager():
    def loss_and_grads(x, other):
        x.grad = other.grad = None
        loss = (gg.rsub(x, other, alpha=2) * gg.rsub(x, 0.5)).sum() + (1.5 - x).pow(2).sum()
        loss.backward()
        return loss, x.grad, other.grad

    def inputs(seed):
        rng = np.random.default_rng(seed)
        return _leaf(rng.standard_normal((2, 3))), _leaf(rng.standard_normal(3))

    compiled = compile(loss_and_grads)
    for seed in range(4):  # eager warm-up, trace, then replays fed new values
        for got, expected in zip(compiled(*inputs(seed)), loss_and_grads(*inputs(seed))):
            np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=0)
    assert compiled.traces == 1 and compiled.replays == 2


# ================================================================== softplus
def _softplus_reference(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0):
    """PyTorch's formula in float64, and its derivative."""
    x, bx = x.astype(np.float64), x.astype(np.float64) * beta
    with np.errstate(over="ignore", under="ignore"):
        value = np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)
        slope = np.where(bx > threshold, 1.0, 1.0 / (1.0 + np.exp(-bx)))
    return value, slope


def _float16_ulp_error(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got - exact| in units of the last place of ``exact`` rounded to float16."""
    with np.errstate(under="ignore", over="ignore"):
        spacing = np.spacing(np.abs(exact.astype(np.float16))).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


def _softplus_float16(x: np.ndarray, softplus=gg.softplus, **kwargs):
    """Value and gradient of ``softplus`` on float16 ``x``, with every floating-point warning an error."""
    t = _leaf(x, gg.float16)
    with np.errstate(all="raise"):
        y = softplus(t, **kwargs)
        y.backward(gg.ones_like(y))
    assert y.dtype == gg.float16 and t.grad.dtype == gg.float16
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("softplus", [gg.softplus, F.softplus], ids=["gg", "F"])
def test_float16_softplus_is_within_one_ulp_everywhere(softplus):
    value, slope = _softplus_float16(ALL_FLOAT16, softplus)
    exact_value, exact_slope = _softplus_reference(ALL_FLOAT16)
    for what, got, exact in (("value", value, exact_value), ("gradient", slope, exact_slope)):
        errors = _float16_ulp_error(got, exact)
        worst = int(np.argmax(errors))
        assert errors[worst] <= 1.0, f"{what} at {ALL_FLOAT16[worst]!r}: {got[worst]!r}, exact {exact[worst]!r}"


def test_float16_softplus_between_11_and_20_is_finite_and_right():
    x = np.array([11.0, 11.1, 12.0, 15.0, 19.9, 20.0], dtype=np.float16)
    value, slope = _softplus_float16(x)
    np.testing.assert_array_equal(value, x)  # log1p(exp(x)) = x + exp(-x) rounds to x in float16 here
    np.testing.assert_array_equal(slope, np.ones(6, np.float16))


@pytest.mark.parametrize("beta, threshold", [(2.0, 20.0), (0.5, 10.0), (1.0, 50.0), (3.0, 5.0)])
def test_float16_softplus_with_beta_and_threshold(beta, threshold):
    x = np.linspace(-40, 40, 2001).astype(np.float16)
    value, slope = _softplus_float16(x, beta=beta, threshold=threshold)
    exact_value, exact_slope = _softplus_reference(x, beta, threshold)
    assert _float16_ulp_error(value, exact_value).max() <= 1.0
    assert _float16_ulp_error(slope, exact_slope).max() <= 1.0


def test_float16_softplus_matches_pytorch_half_within_one_ulp():
    torch = pytest.importorskip("torch")
    t = torch.tensor(ALL_FLOAT16, requires_grad=True)
    expected = torch.nn.functional.softplus(t)
    expected.backward(torch.ones_like(expected))
    value, slope = _softplus_float16(ALL_FLOAT16)
    for got, exact in ((value, expected.detach().numpy()), (slope, t.grad.numpy())):
        assert _float16_ulp_error(got, exact.astype(np.float64)).max() <= 1.0


@pytest.mark.parametrize("dtype", [gg.float16, gg.float32, gg.float64], ids=str)
def test_softplus_of_large_inputs_raises_no_floating_point_warnings(dtype):
    x = _leaf([-6e4, -1e4, -800.0, -100.0, -30.0, 0.0, 11.5, 15.0, 19.99, 20.0, 20.5, 1e4, 6e4], dtype)
    with np.errstate(all="raise"):
        y = gg.softplus(x)
        y.backward(gg.ones_like(y))
    exact_value, exact_slope = _softplus_reference(x.detach().numpy())
    with np.errstate(under="ignore"):  # softplus(-100) is subnormal in float32 and 0 in float16
        rounded = exact_value.astype(dtype.np).astype(np.float64)
    smallest = float(np.finfo(dtype.np).smallest_subnormal)
    np.testing.assert_allclose(y.detach().numpy().astype(np.float64), rounded, rtol=1e-3, atol=smallest)
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64), exact_slope, rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 5.0), (0.3, 50.0)])
def test_float32_and_float64_softplus_are_unchanged_bit_for_bit(dtype, beta, threshold):
    """The formula computed in the input's dtype, as before the float16 fix, and the same gradient formula."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-60, 60, 4000), rng.standard_normal(1000) * 3]).astype(dtype)
    t = gg.tensor(x, requires_grad=True)
    y = gg.softplus(t, beta=beta, threshold=threshold)
    y.backward(gg.ones_like(y))
    bx = x * beta
    with np.errstate(under="ignore"):
        expected = np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta).astype(dtype)
    expected_slope = np.where(bx > threshold, dtype(1), gg.sigmoid(gg.tensor(bx)).numpy())
    assert y.detach().numpy().dtype == dtype and t.grad.numpy().dtype == dtype
    np.testing.assert_array_equal(y.detach().numpy().view(np.uint8), expected.view(np.uint8))
    np.testing.assert_array_equal(t.grad.numpy().view(np.uint8), expected_slope.view(np.uint8))


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 5.0), (0.5, 3.0)])
def test_softplus_gradients_pass_gradcheck_on_both_branches(beta, threshold):
    # both sides of the threshold, none within gradcheck's step of it
    x = _leaf([-30.0, -3.0, -0.5, 0.0, 0.7, 1.2, 2.9, 5.0, 8.0, 19.5, 25.0])
    assert gradcheck(lambda a: gg.softplus(a, beta=beta, threshold=threshold), (x,))
    assert gradgradcheck(lambda a: gg.softplus(a, beta=beta, threshold=threshold), (x,))


def test_float16_softplus_keeps_its_node_and_double_backward():
    x = _leaf([-12.0, -1.0, 0.5, 13.0], gg.float16)
    y = gg.softplus(x)
    assert y.grad_fn.name() == "SoftplusBackward0"
    (slope,) = gg.autograd.grad(y.sum(), x, create_graph=True)
    (curvature,) = gg.autograd.grad(slope.sum(), x)  # sigmoid'(x) = s (1 - s)
    s = 1.0 / (1.0 + np.exp(-x.detach().numpy().astype(np.float64)))
    assert curvature.dtype == gg.float16
    np.testing.assert_allclose(curvature.numpy().astype(np.float64), s * (1 - s), rtol=2e-3, atol=1e-6)


def test_compiled_float16_softplus_with_backward_replays_like_eager():
    def loss_and_grad(x):
        x.grad = None
        loss = gg.softplus(x).sum()
        loss.backward()
        return loss, x.grad

    def inputs(seed):
        rng = np.random.default_rng(seed)
        return _leaf(rng.uniform(-25, 25, 64), gg.float16)

    compiled = compile(loss_and_grad)
    for seed in range(4):
        for got, expected in zip(compiled(inputs(seed)), loss_and_grad(inputs(seed))):
            assert got.dtype == gg.float16 and np.all(np.isfinite(got.detach().numpy()))
            np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    assert compiled.traces == 1 and compiled.replays == 2


@pytest.mark.parametrize("expression, match", [
    (lambda m, i: m - 5, "bool tensor or bool"),
    (lambda m, i: 5 - m, "bool tensor or bool"),
    (lambda m, i: i - m, "bool tensor or bool"),
    (lambda m, i: i - True, "bool tensor or bool"),
    (lambda m, i: gg.rsub(m, 1), "bool tensor or bool"),
    (lambda m, i: m - m, "two bool tensors"),
], ids=["mask-5", "5-mask", "int-mask", "int-True", "rsub", "mask-mask"])
def test_subtraction_with_bools_is_refused_as_in_pytorch(expression, match):
    mask, ints = gg.tensor([True, False]), gg.tensor([1, 2])
    with pytest.raises(RuntimeError, match=match):
        expression(mask, ints)
