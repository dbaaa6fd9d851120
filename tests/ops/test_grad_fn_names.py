"""grad_fn names as PyTorch prints them, for the views and ops where the names used to differ."""

from __future__ import annotations

import pytest

import gpugrad as gg

CASES = [
    "x[0]", "x[-1]", "x[1:, 0]", "x[:, 0]", "x[0, :]", "x[..., 0]", "x[0][1]", "x[:, None, 0]",  # Select
    "x[1:]", "x[:]", "x[0, 1:]", "x[:, 1:2]", "x[::2]", "x.narrow(0, 0, 1)",                      # Slice
    "x[None]", "x[0, None]", "x[...]", "x[:, 0:3]", "x[idx]", "x[x > 0]",  # Unsqueeze, Alias, Index
    "x.t()", "x.transpose(0, 1)", "x.mT", "x.T", "x.reshape(6)", "x.view(6)", "x.flatten()",
    "x[None].squeeze()", "x[None].squeeze(0)", "x[None].squeeze((0,))", "x.unsqueeze(0)",
    "lib.stack([x, x])", "lib.cat([x, x])", "x.split(1)[0]", "x.split([1, 1])[1]", "x.chunk(2)[0]",
    "x.unbind(1)[2]", "x.select(1, 0)", "x.clamp(min=0)", "x.square()", "(x * x).log1p()",
    "lib.nn.functional.linear(x, x)", "lib.nn.functional.linear(x, x, x[0, :2])",
]


def grad_fn_name(lib, expression: str) -> str:
    x = lib.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True) * 1.0
    idx = lib.tensor([0, 1, 1])  # noqa: F841 - read by the expressions
    return eval(expression).grad_fn.name()


def test_integer_indexing_is_a_select_as_in_pytorch():
    assert grad_fn_name(gg, "x[0]") == "SelectBackward0"
    assert grad_fn_name(gg, "x[0, 1:]") == "SliceBackward0"
    assert grad_fn_name(gg, "x[None]") == "UnsqueezeBackward0"


@pytest.mark.parametrize("expression", CASES)
def test_grad_fn_name_matches_torch(expression):
    torch = pytest.importorskip("torch")
    assert grad_fn_name(gg, expression) == grad_fn_name(torch, expression)
