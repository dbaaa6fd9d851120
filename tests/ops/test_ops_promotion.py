"""Result dtypes follow PyTorch's type promotion, checked by hand-written cases and against torch itself.

PyTorch's rules in short: dimensioned tensors decide first; a 0-d tensor or a
Python number only counts when it is of a higher category (bool < int <
float), and then a Python float means the default dtype (float32); true
division and the math functions of integers give the default float; sums and
products of bools and integers are int64.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gpugrad as gg
from opinfo import torch_or_skip


def t(data, dtype):
    return gg.tensor(data, dtype=dtype)


# (what, a thunk making the result, the expected dtype), each as PyTorch gives it
CASES = [
    ("float32 * Python float stays float32", lambda: t([1.0], gg.float32) * 2.5, gg.float32),
    ("float16 * Python float stays float16", lambda: t([1.0], gg.float16) * 2.5, gg.float16),
    ("float64 + Python int stays float64", lambda: t([1.0], gg.float64) + 3, gg.float64),
    ("int32 * 2.5 is the default float", lambda: t([1], gg.int32) * 2.5, gg.float32),
    ("2.5 * int32 (reflected)", lambda: 2.5 * t([1], gg.int32), gg.float32),
    ("int32 * Python int stays int32", lambda: t([1], gg.int32) * 2, gg.int32),
    ("int64 tensor + float32 tensor", lambda: t([1], gg.int64) + t([1.0], gg.float32), gg.float32),
    ("float16 + float32", lambda: t([1.0], gg.float16) + t([1.0], gg.float32), gg.float32),
    ("int32 + int64", lambda: t([1], gg.int32) + t([1], gg.int64), gg.int64),
    ("uint8 + int8", lambda: t([1], gg.uint8) + t([1], gg.int8), gg.int16),
    ("bool + Python int", lambda: t([True], gg.bool) + 1, gg.int64),
    ("bool + bool stays bool", lambda: t([True], gg.bool) + t([False], gg.bool), gg.bool),
    ("bool * 2.5", lambda: t([True], gg.bool) * 2.5, gg.float32),
    ("float32 + 0-d float64 tensor stays float32", lambda: t([1.0], gg.float32) + t(1.0, gg.float64), gg.float32),
    ("float16 * 0-d float64 tensor stays float16", lambda: t([1.0], gg.float16) * t(2.0, gg.float64), gg.float16),
    ("int32 * 0-d int64 tensor stays int32", lambda: t([1], gg.int32) * t(2, gg.int64), gg.int32),
    ("int32 * 0-d float64 tensor: a higher category counts", lambda: t([1], gg.int32) * t(2.0, gg.float64),
     gg.float64),
    ("0-d + 0-d promotes normally", lambda: t(1.0, gg.float32) + t(1.0, gg.float64), gg.float64),
    ("float32 * NumPy float64 scalar acts as a Python float", lambda: t([1.0], gg.float32) * np.float64(2), gg.float32),
    ("int32 * NumPy float64 scalar", lambda: t([1], gg.int32) * np.float64(2), gg.float32),
    ("NumPy float32 scalar * float32", lambda: np.float32(2) * t([1.0], gg.float32), gg.float32),
    ("int64 / int64 is true division", lambda: t([1], gg.int64) / t([2], gg.int64), gg.float32),
    ("int32 / Python int", lambda: t([1], gg.int32) / 2, gg.float32),
    ("Python int / int32", lambda: 2 / t([1], gg.int32), gg.float32),
    ("float16 / Python int stays float16", lambda: t([1.0], gg.float16) / 2, gg.float16),
    ("int32 ** 2.5", lambda: t([1], gg.int32) ** 2.5, gg.float32),
    ("int32 ** 2 stays int32", lambda: t([1], gg.int32) ** 2, gg.int32),
    ("2.5 ** int32", lambda: 2.5 ** t([1], gg.int32), gg.float32),
    ("2 ** int32 stays int32", lambda: 2 ** t([1], gg.int32), gg.int32),
    ("float32 ** float64 tensor", lambda: t([1.0], gg.float32) ** t([2.0], gg.float64), gg.float64),
    ("float32 ** NumPy float64 scalar stays float32", lambda: t([1.0], gg.float32) ** np.float64(2), gg.float32),
    ("sum of int32 is int64", lambda: t([1, 2], gg.int32).sum(), gg.int64),
    ("sum of bool is int64", lambda: t([True, True], gg.bool).sum(), gg.int64),
    ("sum over a dim of uint8 is int64", lambda: t([[1, 2]], gg.uint8).sum(dim=1), gg.int64),
    ("sum with dtype=", lambda: t([1, 2], gg.int32).sum(dtype=gg.float64), gg.float64),
    ("prod of uint8 is int64", lambda: t([1, 2], gg.uint8).prod(), gg.int64),
    ("prod of bool is int64", lambda: t([True], gg.bool).prod(), gg.int64),
    ("sum of float16 stays float16", lambda: t([1.0], gg.float16).sum(), gg.float16),
    ("sin of int64 is the default float", lambda: gg.sin(t([1], gg.int64)), gg.float32),
    ("sqrt of int32", lambda: t([4], gg.int32).sqrt(), gg.float32),
    ("softmax of int64", lambda: t([1, 2], gg.int64).softmax(dim=0), gg.float32),
    ("var of int64", lambda: t([1, 2], gg.int64).var(), gg.float32),
    ("exp of float16 stays float16", lambda: t([1.0], gg.float16).exp(), gg.float16),
    ("maximum(int32, float16)", lambda: gg.maximum(t([1], gg.int32), t([1.0], gg.float16)), gg.float16),
    ("where(cond, int32, float32)", lambda: gg.where(t([True], gg.bool), t([1], gg.int32), t([1.0], gg.float32)),
     gg.float32),
    ("where(cond, 1.0, 2.0) is the default float", lambda: gg.where(t([True], gg.bool), 1.0, 2.0), gg.float32),
    ("where(cond, float16, Python float)", lambda: gg.where(t([True], gg.bool), t([1.0], gg.float16), 0.0),
     gg.float16),
    ("cat(int32, float32)", lambda: gg.cat([t([1], gg.int32), t([1.0], gg.float32)]), gg.float32),
    ("clamp of float16 by Python floats", lambda: t([1.0], gg.float16).clamp(0.0, 0.5), gg.float16),
    ("comparisons are bool", lambda: t([1.0], gg.float32) < t([1], gg.int64), gg.bool),
    ("argmax is int64", lambda: t([1.0, 2.0], gg.float32).argmax(), gg.int64),
    ("max(dim) indices are int64", lambda: t([[1.0, 2.0]], gg.float32).max(dim=1).indices, gg.int64),
    ("matmul of int32", lambda: t([[1, 2]], gg.int32) @ t([[1], [2]], gg.int32), gg.int32),
]


@pytest.mark.parametrize("make, expected", [pytest.param(m, e, id=w) for w, m, e in CASES])
def test_result_dtype(make, expected):
    assert make().dtype == expected


def test_float32_gradient_stays_float32_through_a_float64_op():
    x = gg.tensor([1.0, 2.0], dtype=gg.float32, requires_grad=True)
    w = gg.tensor([3.0, 4.0], dtype=gg.float64)
    y = x * w
    assert y.dtype == gg.float64
    y.sum().backward()
    assert x.grad.dtype == gg.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        gg.tensor([1, 2]).requires_grad_()


# ---------------------------------------------------------------- against torch, over a grid
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, 2.5]
OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b, lib=None: lib.maximum(a, b),
}


def _ones(lib, name, shape):
    return lib.ones(shape, dtype=getattr(lib, name))


def _torch_result_name(torch, fn, a, b):
    try:
        return str(fn(a, b).dtype).rsplit(".", 1)[-1]
    except RuntimeError:  # e.g. torch refuses bool - bool; nothing to compare
        return None


def _apply(op, a, b, lib):
    fn = OPS[op]
    return fn(a, b, lib=lib) if op == "maximum" else fn(a, b)


@pytest.mark.parametrize("op", sorted(OPS))
def test_tensor_tensor_promotion_matches_torch(op):
    torch = torch_or_skip()
    mismatches, compared = [], 0
    for left, right, shape_b in itertools.product(DTYPES, DTYPES, [(2,), ()]):
        ta, tb = _ones(torch, left, (2,)), _ones(torch, right, shape_b)
        if op == "maximum" and not shape_b:
            tb = tb.reshape(1)  # torch.maximum has no 0-d special case to compare against
        want = _torch_result_name(torch, lambda a, b: _apply(op, a, b, torch), ta, tb)
        if want is None:
            continue
        ga = _ones(gg, left, (2,))
        gb = _ones(gg, right, tuple(tb.shape))
        got = str(_apply(op, ga, gb, gg).dtype).rsplit(".", 1)[-1]
        compared += 1
        if got != want:
            mismatches.append(f"{left} {op} {right}{list(tb.shape)}: gpugrad {got}, torch {want}")
    assert not mismatches, "\n".join(mismatches)
    assert compared >= 100, f"only {compared} pairs compared"


@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_tensor_scalar_promotion_matches_torch(op):
    torch = torch_or_skip()
    mismatches, compared = [], 0
    for name, scalar, reflected in itertools.product(DTYPES, SCALARS, [False, True]):
        def fn(a, b):
            return OPS[op](b, a) if reflected else OPS[op](a, b)

        want = _torch_result_name(torch, fn, _ones(torch, name, (2,)), scalar)
        if want is None:
            continue
        got = str(fn(_ones(gg, name, (2,)), scalar).dtype).rsplit(".", 1)[-1]
        compared += 1
        if got != want:
            mismatches.append(f"{name} {op} {scalar!r} (reflected={reflected}): gpugrad {got}, torch {want}")
    assert not mismatches, "\n".join(mismatches)
    assert compared >= 40, f"only {compared} cases compared"


@pytest.mark.parametrize("name", DTYPES)
def test_reduction_and_unary_dtypes_match_torch(name):
    torch = torch_or_skip()
    cases = {
        "sum": lambda x: x.sum(),
        "prod": lambda x: x.prod(),
        "sum_dim": lambda x: x.sum(dim=0),
    }
    if name != "bool":
        cases["abs"] = lambda x: x.abs()
    if name not in ("bool", "float16"):  # torch's CPU kernels for these are patchy
        cases.update(sin=lambda x: x.sin(), exp=lambda x: x.exp(), sqrt=lambda x: x.sqrt())
    for what, fn in cases.items():
        want = str(fn(_ones(torch, name, (2,))).dtype).rsplit(".", 1)[-1]
        got = str(fn(_ones(gg, name, (2,))).dtype).rsplit(".", 1)[-1]
        assert got == want, f"{what}({name}): gpugrad {got}, torch {want}"
