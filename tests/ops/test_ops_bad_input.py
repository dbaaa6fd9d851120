"""Issue 11's families of bad input and silent dtype errors, each checked against PyTorch 2.13's behaviour:
float sizes, duplicate dims, ~ on floats, arange's arguments, cat of 0-d tensors, clamp's and pow's result
dtypes, Python numbers that overflow a dtype, NumPy scalars, ``float`` as a dtype, and empty reductions."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def _both(make):
    """``make(module)`` with module = gpugrad, then torch: (gpugrad's result or exception, torch's)."""
    results = []
    for module in (gg, torch):
        try:
            results.append(make(module))
        except Exception as exc:  # noqa: BLE001 - the exception is the result compared
            results.append(exc)
    return results


def _assert_raises_like_torch(make, error):
    ours, theirs = _both(make)
    assert isinstance(theirs, error), f"torch gave {theirs!r}"
    assert isinstance(ours, error), f"gpugrad gave {ours!r}, torch raised {theirs!r}"


def _assert_values_like_torch(make):
    ours, theirs = _both(make)
    assert not isinstance(ours, Exception), ours
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(np.asarray(ours.tolist(), dtype=float), np.asarray(theirs.tolist(), dtype=float))


# ---------------------------------------------------------------- argument validation
@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2.5), lambda m: m.zeros((2, 2.0)), lambda m: m.ones(2.0, 3), lambda m: m.empty(2.0),
    lambda m: m.randn(2.5), lambda m: m.rand(1.5), lambda m: m.full((2.5,), 1.0), lambda m: m.ones(2).reshape(2.0),
    lambda m: m.nn.Linear(2.5, 2), lambda m: m.nn.Linear(2, 2.0), lambda m: m.nn.Embedding(2.5, 2),
], ids=["zeros", "zeros-tuple", "ones", "empty", "randn", "rand", "full", "reshape", "linear-in", "linear-out",
        "embedding"])
def test_float_sizes_raise_type_error(make):
    _assert_raises_like_torch(make, TypeError)


@pytest.mark.parametrize("make", [lambda m: m.zeros(-1), lambda m: m.ones(2, -3), lambda m: m.nn.Linear(-1, 2),
                                  lambda m: m.full((-2,), 1.0)], ids=["zeros", "ones", "linear", "full"])
def test_negative_sizes_raise_runtime_error(make):
    _assert_raises_like_torch(make, RuntimeError)


def test_integer_like_sizes_are_accepted():
    assert gg.zeros(np.int64(2), 3).shape == (2, 3)
    assert gg.ones(gg.tensor(2)).shape == (2,)
    assert gg.nn.Linear(np.int32(3), 2).weight.shape == (2, 3)


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"])
@pytest.mark.parametrize("dims", [(0, 0), (1, -1)], ids=["same", "negative-alias"])
def test_duplicate_dims_in_reductions_raise(op, dims):
    def make(m):
        x = m.ones(2, 3)
        return m.logsumexp(x, dims) if op == "logsumexp" else getattr(x, op)(dims)

    _assert_raises_like_torch(make, RuntimeError)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        make(gg)


@pytest.mark.parametrize("make", [lambda m: ~m.ones(2), lambda m: ~m.ones(2, dtype=m.float64)], ids=["f32", "f64"])
def test_invert_of_a_float_tensor_raises(make):
    _assert_raises_like_torch(make, TypeError)


@pytest.mark.parametrize("make", [lambda m: ~m.tensor([1, 2, -3]), lambda m: ~m.tensor([True, False]),
                                  lambda m: ~m.tensor([0, 255], dtype=m.uint8)], ids=["int64", "bool", "uint8"])
def test_invert_is_bitwise_not_on_integers_and_logical_not_on_bools(make):
    _assert_values_like_torch(make)


@pytest.mark.parametrize("make", [
    lambda m: m.arange(0, 5, 0), lambda m: m.arange(0.0, 5.0, 0.0), lambda m: m.arange(0, 5, -1),
    lambda m: m.arange(5, 0, 1), lambda m: m.arange(0, float("inf")), lambda m: m.arange(0, float("nan")),
], ids=["step-0", "float-step-0", "wrong-sign", "wrong-sign-up", "inf", "nan"])
def test_bad_arange_arguments_raise(make):
    _assert_raises_like_torch(make, RuntimeError)


def test_good_arange_arguments_still_work():
    for make in (lambda m: m.arange(5, 0, -1), lambda m: m.arange(0, 0), lambda m: m.arange(0.0, 1.0, 0.25)):
        _assert_values_like_torch(make)


@pytest.mark.parametrize("make", [
    lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)]), lambda m: m.cat([m.tensor(1.0), m.ones(2)]),
    lambda m: m.cat([m.ones(2), m.tensor(1.0)]),
], ids=["both", "first", "second"])
def test_cat_of_zero_dim_tensors_raises(make):
    _assert_raises_like_torch(make, RuntimeError)
    with pytest.raises(RuntimeError, match="zero-dimensional tensor .* cannot be concatenated"):
        make(gg)


# ---------------------------------------------------------------- dtype rules
@pytest.mark.parametrize("make", [
    lambda m: m.arange(5).clamp(0.5, 2.5), lambda m: m.arange(5).clamp(min=0.5), lambda m: m.arange(5).clamp(max=2.5),
    lambda m: m.arange(5).clip(0.5, 2.5), lambda m: m.arange(5).clamp(1, 3), lambda m: m.tensor([True, False]).clamp(0.5, 2.5),
    lambda m: m.arange(5.0).clamp(1, 3), lambda m: m.arange(5, dtype=m.int32).clamp(1, 3),
], ids=["int-float", "int-min", "int-max", "clip", "int-int", "bool-float", "float-int", "int32-int"])
def test_clamp_result_dtype_follows_promotion(make):
    _assert_values_like_torch(make)


def test_clamp_in_place_cannot_change_the_dtype():
    _assert_raises_like_torch(lambda m: m.arange(5).clamp_(0.5, 2.5), RuntimeError)
    x = gg.arange(5)
    x.clamp_(1, 3)
    assert x.tolist() == [1, 1, 2, 3, 3]


def test_clamp_of_an_int_tensor_with_float_bounds_is_differentiable_in_float():
    x = gg.arange(5, dtype=gg.float64, requires_grad=True)
    gg.autograd.gradcheck(lambda t: t.clamp(0.5, 2.5), (x + 0.1,))


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([True, False]) ** 2, lambda m: m.tensor([True, False]) ** 2.0,
    lambda m: m.tensor([True, False]) ** True, lambda m: m.tensor([True, False]) ** False,
    lambda m: 2 ** m.tensor([True, False]), lambda m: 2.0 ** m.tensor([True, False]),
    lambda m: m.tensor([True, False]) ** m.tensor([2, 3]), lambda m: m.tensor([2], dtype=m.uint8) ** m.tensor([True]),
    lambda m: m.pow(m.tensor([True, False]), 2),
], ids=["bool-int", "bool-float", "bool-true", "bool-false", "int-bool", "float-bool", "bool-tensor-int",
        "uint8-bool", "pow"])
def test_pow_with_bools_follows_pytorchs_dtypes(make):
    _assert_values_like_torch(make)


@pytest.mark.parametrize("make", [lambda m: m.tensor([True]) ** m.tensor([True]),
                                  lambda m: True ** m.tensor([True, False])], ids=["tensors", "python-bool-base"])
def test_pow_of_bool_by_bool_tensor_is_not_implemented(make):
    _assert_raises_like_torch(make, NotImplementedError)


@pytest.mark.parametrize("data", [np.float64(5), np.float32(5), np.int32(5), np.int8(-3), np.uint8(7), np.bool_(True),
                                  [np.float64(5), np.float64(1)], [np.float32(1), 2.0], [np.int32(1), 2],
                                  [np.int32(1), 2.0], [np.float16(1)]],
                         ids=["f64", "f32", "i32", "i8", "u8", "bool", "list-f64", "list-f32-float", "list-i32-int",
                              "list-i32-float", "list-f16"])
def test_numpy_scalars_keep_their_dtype_in_tensor(data):
    _assert_values_like_torch(lambda m: m.tensor(data))


@pytest.mark.parametrize("kind", [float, int, bool], ids=["float", "int", "bool"])
def test_python_types_as_dtypes_name_their_c_counterparts(kind):
    _assert_values_like_torch(lambda m: m.ones(2, dtype=m.int64).to(kind))
    _assert_values_like_torch(lambda m: m.zeros(2, dtype=kind))
    _assert_values_like_torch(lambda m: m.tensor([1, 0], dtype=kind))


# ---------------------------------------------------------------- overflow and truncation
@pytest.mark.parametrize("make, error", [
    (lambda m: m.tensor([2**63]), ValueError), (lambda m: m.tensor(2**63), ValueError),
    (lambda m: m.tensor([-2**63 - 1]), ValueError), (lambda m: m.tensor([2**40], dtype=m.int32), RuntimeError),
    (lambda m: m.tensor([300], dtype=m.uint8), RuntimeError), (lambda m: m.tensor([-256], dtype=m.uint8), RuntimeError),
    (lambda m: m.tensor([-129], dtype=m.int8), RuntimeError), (lambda m: m.tensor([1e30], dtype=m.int32), RuntimeError),
    (lambda m: m.tensor([float("nan")], dtype=m.int32), RuntimeError),
    (lambda m: m.tensor([[1, 2], [3, 2**40]], dtype=m.int32), RuntimeError),
], ids=["2**63", "2**63-scalar", "below-int64", "int32", "uint8", "uint8-negative", "int8", "float-int32", "nan-int",
        "nested"])
def test_python_numbers_a_dtype_cannot_hold_raise(make, error):
    _assert_raises_like_torch(make, error)


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([-1], dtype=m.uint8), lambda m: m.tensor([-255], dtype=m.uint8),
    lambda m: m.tensor([1.5, -2.7], dtype=m.int64), lambda m: m.tensor([2**63], dtype=m.float32),
    lambda m: m.tensor([1e40], dtype=m.float32), lambda m: m.tensor([2**31 - 1, -2**31], dtype=m.int32),
], ids=["uint8-wraps-minus-one", "uint8-minus-255", "float-truncates", "big-int-to-float", "float-inf", "int32-limits"])
def test_conversions_pytorch_allows_still_work(make):
    _assert_values_like_torch(make)


# ---------------------------------------------------------------- empty tensors
@pytest.mark.parametrize("make", [
    lambda m: m.softmax(m.ones(0, 3), dim=0), lambda m: m.softmax(m.ones(2, 0), dim=1),
    lambda m: m.log_softmax(m.ones(2, 0), dim=1), lambda m: m.logsumexp(m.ones(2, 0), dim=1),
    lambda m: m.logsumexp(m.ones(0, 3), dim=0), lambda m: m.logsumexp(m.ones(0, 3), dim=1),
    lambda m: m.ones(0, 3).amax(dim=1), lambda m: m.nn.functional.softmax(m.ones(4, 0), dim=-1),
], ids=["softmax-rows", "softmax-cols", "log_softmax", "logsumexp", "logsumexp-dim0", "logsumexp-kept",
        "amax-other", "F.softmax"])
def test_softmax_family_over_zero_size_dims_gives_empty_or_minus_inf(make):
    _assert_values_like_torch(make)


def test_softmax_family_over_zero_size_dims_is_differentiable():
    x = gg.ones(2, 0, dtype=gg.float64, requires_grad=True)
    (gg.softmax(x, 1).sum() + gg.log_softmax(x, 1).sum() + gg.logsumexp(x, 1).clamp(min=0).sum()).backward()
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize("make, error", [
    (lambda m: m.ones(2, 0).amax(dim=1), IndexError), (lambda m: m.ones(2, 0).argmax(dim=1), IndexError),
    (lambda m: m.ones(0).argmax(), IndexError), (lambda m: m.ones(0).amax(), RuntimeError),
    (lambda m: m.ones(2, 0).max(dim=1), IndexError),
], ids=["amax", "argmax-dim", "argmax-all", "amax-all", "max-dim"])
def test_extremes_over_empty_dims_raise_as_pytorch(make, error):
    _assert_raises_like_torch(make, error)


@pytest.mark.parametrize("make", [
    lambda m: m.full((2,), 2**40, dtype=m.int32), lambda m: m.full((2,), 300, dtype=m.uint8),
    lambda m: m.full((2,), 2**63), lambda m: m.zeros(2, dtype=m.int32).fill_(2**40),
    lambda m: m.zeros(2, dtype=m.int8).fill_(200),
], ids=["full-int32", "full-uint8", "full-int64", "fill-int32", "fill-int8"])
def test_fill_values_a_dtype_cannot_hold_raise(make):
    _assert_raises_like_torch(make, RuntimeError)


@pytest.mark.parametrize("make", [
    lambda m: m.full((2,), -1, dtype=m.uint8), lambda m: m.zeros(2, dtype=m.uint8).fill_(-3),
    lambda m: m.full((2,), 2**31 - 1, dtype=m.int32), lambda m: m.full((2,), 1.5),
], ids=["full-uint8-wraps", "fill-uint8-wraps", "full-int32-max", "full-float"])
def test_fill_values_pytorch_accepts(make):
    _assert_values_like_torch(make)


def test_float_step_counts_and_integer_ranges():
    _assert_raises_like_torch(lambda m: m.linspace(0, 1, 2.5), TypeError)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        gg.arange(0, 2.5, 0.5, dtype=gg.int64)  # an integer range steps by int(0.5) == 0, as in PyTorch
    for args in [(0, 2.5, 1), (0.5, 3.7, 1), (-1.5, 2, 1), (0, 5, 1.5), (0.9, 5, 2)]:
        _assert_values_like_torch(lambda m: m.arange(*args, dtype=m.int64))


def test_negating_a_bool_tensor_raises():
    _assert_raises_like_torch(lambda m: -m.tensor([True, False]), RuntimeError)


# ---------------------------------------------------------------- the same on every device
SAME_ON_EVERY_DEVICE = {
    "clamp-int-float": lambda d: gg.arange(5, device=d).clamp(0.5, 2.5),
    "bool-pow-int": lambda d: gg.tensor([True, False], device=d) ** 2,
    "int-pow-bool": lambda d: 2 ** gg.tensor([True, False], device=d),
    "bool-pow-bool": lambda d: gg.tensor([True, False], device=d) ** False,
    "invert-int": lambda d: ~gg.tensor([1, -2], device=d),
    "softmax-empty": lambda d: gg.softmax(gg.ones(2, 0, device=d), 1),
    "logsumexp-empty": lambda d: gg.logsumexp(gg.ones(2, 0, device=d), 1),
    "full-uint8-wraps": lambda d: gg.full((2,), -1, dtype=gg.uint8, device=d),
    "fill-uint8-wraps": lambda d: gg.zeros(2, dtype=gg.uint8, device=d).fill_(-3),
    "tensor-numpy-scalar": lambda d: gg.tensor(np.float64(2.5), device=d),
}


@pytest.mark.parametrize("name", list(SAME_ON_EVERY_DEVICE))
def test_the_fixed_ops_give_the_same_results_on_every_device(name, device):
    make = SAME_ON_EVERY_DEVICE[name]
    on_device, on_cpu = make(device), make(gg.device("cpu"))
    assert on_device.device == device and on_device.dtype == on_cpu.dtype
    np.testing.assert_array_equal(on_device.cpu().numpy(), on_cpu.numpy())


def test_cross_entropy_of_only_ignored_targets_on_every_device(device):
    x = gg.randn(3, 4, device=device, requires_grad=True)
    loss = gg.nn.functional.cross_entropy(x, gg.tensor([-100, -100, -100], device=device))
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.zeros((3, 4), dtype=np.float32))
