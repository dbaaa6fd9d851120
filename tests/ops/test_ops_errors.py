"""Wrong calls fail with errors that name the op, the shapes (or dims/types) involved, and the way out."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gpugrad as gg

X = gg.ones(2, 3)  # most cases below misuse this (2, 3) tensor


def _raises(error, *fragments):
    """A pytest.raises matching every fragment, in order, anywhere in the message."""
    return pytest.raises(error, match="(?s)" + ".*".join(re.escape(f) for f in fragments))


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("make, error, fragments", [
    pytest.param(lambda: X @ gg.ones(4, 5), RuntimeError, ("matmul", "2x3", "4x5"), id="matmul_2d"),
    pytest.param(lambda: gg.ones(3) @ gg.ones(4), RuntimeError, ("matmul", "3", "4"), id="matmul_1d"),
    pytest.param(lambda: gg.ones(2, 3, 4) @ gg.ones(3, 4, 5), RuntimeError, ("matmul", "(2,)", "(3,)", "(2, 3, 4)",
                                                                            "(3, 4, 5)"), id="matmul_batch"),
    pytest.param(lambda: gg.tensor(1.0) @ X, RuntimeError, ("matmul", "at least 1 dimension", "()", "(2, 3)"),
                 id="matmul_0d"),
    pytest.param(lambda: X.reshape(4, 2), RuntimeError, ("reshape", "[4, 2]", "size 6"), id="reshape"),
    pytest.param(lambda: X.reshape(-1, -1), RuntimeError, ("reshape", "[-1, -1]", "only one dimension"),
                 id="reshape_two_inferred"),
    pytest.param(lambda: X.view(5), RuntimeError, ("[5]", "size 6"), id="view"),
    pytest.param(lambda: X + gg.ones(4), RuntimeError, ("add", "(2, 3)", "(4,)", "broadcast"), id="add"),
    pytest.param(lambda: X * gg.ones(2, 2), RuntimeError, ("mul", "(2, 3)", "(2, 2)"), id="mul"),
    pytest.param(lambda: X - gg.ones(2, 2), RuntimeError, ("sub", "(2, 3)", "(2, 2)"), id="sub"),
    pytest.param(lambda: X / gg.ones(2, 2), RuntimeError, ("div", "(2, 3)", "(2, 2)"), id="div"),
    pytest.param(lambda: X ** gg.ones(2, 2), RuntimeError, ("pow", "(2, 3)", "(2, 2)"), id="pow"),
    pytest.param(lambda: gg.maximum(X, gg.ones(4)), RuntimeError, ("maximum", "(2, 3)", "(4,)"), id="maximum"),
    pytest.param(lambda: gg.where(X > 0, X, gg.ones(4)), RuntimeError, ("where", "(2, 3)", "(4,)"), id="where"),
    pytest.param(lambda: X < gg.ones(4), RuntimeError, ("lt", "(2, 3)", "(4,)"), id="lt"),
    pytest.param(lambda: gg.cat([X, gg.ones(2, 4)]), RuntimeError, ("cat", "(2, 3)", "(2, 4)"), id="cat"),
    pytest.param(lambda: gg.stack([X, gg.ones(3, 2)]), RuntimeError, ("stack", "(2, 3)", "(3, 2)"), id="stack"),
    pytest.param(lambda: gg.cat([]), RuntimeError, ("cat", "non-empty"), id="cat_empty"),
    pytest.param(lambda: X.split([1, 1], dim=1), RuntimeError, ("split", "3", "[1, 1]"), id="split_sizes"),
    pytest.param(lambda: X.split(0), RuntimeError, ("split", "positive"), id="split_zero"),
    pytest.param(lambda: X.chunk(0), RuntimeError, ("chunk", "positive"), id="chunk_zero"),
    pytest.param(lambda: X.narrow(1, 2, 2), RuntimeError, ("narrow", "(2)", "(2)", "(3)", "(2, 3)"), id="narrow"),
    pytest.param(lambda: X.narrow(1, 4, 0), IndexError, ("narrow", "4", "size 3"), id="narrow_start"),
    pytest.param(lambda: X.expand(4, 3), RuntimeError, ("expand", "(2, 3)", "(4, 3)"), id="expand"),
    pytest.param(lambda: X.expand(3), RuntimeError, ("expand", "(1)", "(2)"), id="expand_fewer_dims"),
    pytest.param(lambda: X.permute(0), RuntimeError, ("permute", "1", "2"), id="permute_count"),
    pytest.param(lambda: X.permute(0, 0), RuntimeError, ("permute", "repeated"), id="permute_repeated"),
    pytest.param(lambda: gg.ones(2, 3, 4).t(), RuntimeError, ("t()", "3D"), id="t_3d"),
    pytest.param(lambda: X[5], IndexError, ("index 5", "(2, 3)"), id="getitem_int"),
    pytest.param(lambda: X[gg.tensor([0, 7])], IndexError, ("(2, 3)", "7"), id="getitem_array"),
    pytest.param(lambda: X[0, 0, 0], IndexError, ("(2, 3)",), id="getitem_too_many"),
])
def test_shape_errors(make, error, fragments):
    with _raises(error, *fragments):
        make()


# ---------------------------------------------------------------- dims
@pytest.mark.parametrize("name, call", [
    ("sum", lambda: X.sum(dim=2)),
    ("mean", lambda: X.mean(dim=(0, -3))),
    ("var", lambda: X.var(dim=2)),
    ("amax", lambda: X.amax(dim=5)),
    ("max", lambda: X.max(dim=-3)),
    ("argmax", lambda: X.argmax(dim=2)),
    ("logsumexp", lambda: X.logsumexp(dim=5)),
    ("softmax", lambda: X.softmax(dim=2)),
    ("log_softmax", lambda: X.log_softmax(dim=-3)),
    ("prod", lambda: X.prod(dim=2)),
    ("transpose", lambda: X.transpose(0, 2)),
    ("permute", lambda: X.permute(0, 2)),
    ("unsqueeze", lambda: X.unsqueeze(3)),
    ("squeeze", lambda: X.squeeze(2)),
    ("flatten", lambda: X.flatten(3)),
    ("cat", lambda: gg.cat([X, X], dim=2)),
    ("stack", lambda: gg.stack([X, X], dim=4)),
    ("split", lambda: X.split(1, dim=2)),
    ("narrow", lambda: X.narrow(2, 0, 1)),
    ("size", lambda: X.size(2)),
])
def test_bad_dim_names_the_op_and_the_valid_range(name, call):
    with _raises(IndexError, f"{name}()", "dimension out of range", "but got"):
        call()


# ---------------------------------------------------------------- operands
NOT_A_NUMBER = np.ones(3)


@pytest.mark.parametrize("name, call, type_name", [
    ("add", lambda: X + NOT_A_NUMBER, "ndarray"),
    ("add", lambda: NOT_A_NUMBER + X, "ndarray"),  # NumPy defers to Tensor (__array_priority__)
    ("sub", lambda: X - NOT_A_NUMBER, "ndarray"),
    ("mul", lambda: X * NOT_A_NUMBER, "ndarray"),
    ("mul", lambda: X * [1.0, 2.0, 3.0], "list"),
    ("div", lambda: X / NOT_A_NUMBER, "ndarray"),
    ("pow", lambda: X ** NOT_A_NUMBER, "ndarray"),
    ("pow", lambda: NOT_A_NUMBER ** X, "ndarray"),
    ("maximum", lambda: gg.maximum(X, NOT_A_NUMBER), "ndarray"),
    ("minimum", lambda: gg.minimum(NOT_A_NUMBER, X), "ndarray"),
    ("where", lambda: gg.where(X > 0, X, NOT_A_NUMBER), "ndarray"),
    ("lt", lambda: X < NOT_A_NUMBER, "ndarray"),
    ("eq", lambda: gg.eq(X, "1"), "str"),
    ("matmul", lambda: X @ np.ones((3, 2)), "ndarray"),
    ("add_", lambda: X.clone().add_(NOT_A_NUMBER), "ndarray"),
])
def test_non_number_operand_names_the_op_and_the_type(name, call, type_name):
    with _raises(TypeError, f"{name}()", type_name):
        call()


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize("make, error, fragments", [
    pytest.param(lambda: gg.where(X, X, X), TypeError, ("where", "bool"), id="where_condition"),
    pytest.param(lambda: X.clamp(), ValueError, ("clamp", "min", "max"), id="clamp_no_bounds"),
    pytest.param(lambda: gg.gelu(X, approximate="fast"), ValueError, ("gelu", "'fast'"), id="gelu_mode"),
    pytest.param(lambda: gg.tensor([1, 2]).mean(), RuntimeError, ("mean", "int64", ".float()"), id="mean_int"),
    pytest.param(lambda: gg.ones(0).max(), RuntimeError, ("max", "numel() == 0"), id="max_empty"),
    pytest.param(lambda: gg.ones(2, 0).max(dim=1), IndexError, ("max", "non-zero size"), id="max_empty_dim"),
    pytest.param(lambda: gg.dot(X, X), RuntimeError, ("dot", "1D", "2D"), id="dot_2d"),
    pytest.param(lambda: X.clone().add_(gg.ones(4, 2, 3)), RuntimeError, ("add_", "(2, 3)", "(4, 2, 3)"),
                 id="inplace_broadcast"),
    pytest.param(lambda: gg.tensor([1, 2]).add_(0.5), RuntimeError, ("add_", "float32", "int64"),
                 id="inplace_cast"),
    pytest.param(lambda: gg.tensor([1, 2]).div_(2), RuntimeError, ("div_", "int64"), id="inplace_int_div"),
])
def test_argument_errors(make, error, fragments):
    with _raises(error, *fragments):
        make()


@pytest.mark.gpu
def test_mixing_devices_names_both_devices_and_the_fix():
    a, b = gg.ones(2), gg.ones(2, device="cuda")
    with _raises(RuntimeError, "add", "cpu", "cuda", ".to("):
        a + b
    with _raises(RuntimeError, "matmul", "cpu", "cuda"):
        gg.ones(2, 2) @ gg.ones(2, 2, device="cuda")
