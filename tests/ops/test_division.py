"""floor_divide (//), remainder (%), fmod: PyTorch's sign rules on integers, its errors, its dtypes.

Float values and gradients are in op_db (DIVISION); here the integer semantics and the error cases.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host

DIVIDENDS = [7, -7, 5, -5, 0, 9, -9, 1]
DIVISORS = [2, 2, -3, -3, 4, -4, 5, -1]


def _values(t):
    return np.asarray(to_host(t.array))


@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod"])
def test_integer_results_match_python_and_c_rules(op, device):
    a, b = gg.tensor(DIVIDENDS, device=device), gg.tensor(DIVISORS, device=device)
    got = getattr(gg, op)(a, b)
    expected = {
        "floor_divide": [x // y for x, y in zip(DIVIDENDS, DIVISORS)],
        "remainder": [x % y for x, y in zip(DIVIDENDS, DIVISORS)],  # Python's %: the divisor's sign
        "fmod": [int(np.fmod(x, y)) for x, y in zip(DIVIDENDS, DIVISORS)],  # C's fmod: the dividend's sign
    }[op]
    assert got.dtype == gg.int64
    np.testing.assert_array_equal(_values(got), expected)


def test_operators_and_numbers_on_either_side(device):
    t = gg.tensor([7, -7], device=device)
    np.testing.assert_array_equal(_values(t // 2), [3, -4])
    np.testing.assert_array_equal(_values(t % 3), [1, 2])
    np.testing.assert_array_equal(_values(20 // gg.tensor([3, -3], device=device)), [6, -7])
    np.testing.assert_array_equal(_values(20 % gg.tensor([3, -3], device=device)), [2, -1])
    assert (t // 2.5).dtype == gg.float32 and (t % 2.5).dtype == gg.float32  # a float number promotes


def test_in_place_operators_write_into_the_tensor(device):
    t = gg.tensor([7, -7], device=device)
    version = t._version_number
    t //= 2
    t %= 3
    np.testing.assert_array_equal(_values(t), [0, 2])
    assert t.dtype == gg.int64 and t._version_number == version + 2


@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod"])
def test_integer_division_by_zero_raises_float_gives_inf_or_nan(op, device):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(gg, op)(gg.tensor([1, 2], device=device), gg.tensor([1, 0], device=device))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(gg, op)(gg.tensor([1, 2], device=device), 0)
    out = _values(getattr(gg, op)(gg.tensor([1.0, -1.0], device=device), 0.0))
    assert not np.isfinite(out).any()


def test_bool_operands_are_refused():
    with pytest.raises(RuntimeError, match="Bool"):
        gg.tensor([True]) // gg.tensor([True])


def test_floor_divide_has_no_derivative_as_in_pytorch():
    x = gg.tensor([3.0, -2.5], requires_grad=True)
    y = x // 2
    assert y.requires_grad and y.grad_fn.name() == "NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
        y.sum().backward()


def test_in_place_division_refuses_a_float_result_in_an_int_tensor():
    t = gg.tensor([5, 6])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t //= 2.5


def test_matches_torch_on_integers_and_mixed_signs():
    torch = pytest.importorskip("torch")
    a, b = np.array(DIVIDENDS), np.array(DIVISORS)
    for op in ("floor_divide", "remainder", "fmod"):
        expected = getattr(torch, op)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_array_equal(_values(getattr(gg, op)(gg.tensor(a), gg.tensor(b))), expected)
    floats = np.array([5.5, -5.5, 0.25, -7.0])
    for op in ("floor_divide", "remainder", "fmod"):
        expected = getattr(torch, op)(torch.tensor(floats), -2.0).numpy()
        np.testing.assert_array_equal(_values(getattr(gg, op)(gg.tensor(floats), -2.0)), expected)


def test_div_rounding_modes_on_integers_and_their_zero_gradients(device):
    t = gg.tensor([7, -7], device=device)
    assert _values(gg.div(t, 2, rounding_mode="trunc")).tolist() == [3, -3]
    assert _values(t.div(2, rounding_mode="floor")).tolist() == [3, -4]
    assert gg.div(t, 2, rounding_mode="floor").dtype == gg.int64
    x = gg.tensor([2.5, -2.5], requires_grad=True)
    gg.div(x, 2.0, rounding_mode="trunc").sum().backward()  # no error, unlike floor_divide
    assert x.grad.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="rounding_mode"):
        gg.div(t, 2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        gg.div(t, 0, rounding_mode="trunc")
