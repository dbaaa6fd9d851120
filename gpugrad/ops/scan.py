"""Cumulative ops: ``cumsum`` and ``cumprod`` along one dimension.

The gradient of a prefix sum is the suffix sum of the gradient (a flip, a
cumsum, a flip). cumprod's is ``suffix_sum(gy * y) / x`` where ``x`` has no
zero; the first zero of a slice and what follows it are handled exactly
without dividing by zero (see ``Cumprod.backward``).
"""

from __future__ import annotations

from .. import dtypes
from ..autograd.node import ArrayFunction
from ..backends import has_values
from ..tensor import Tensor, _wrap_dim
from .elementwise import _const, where
from .manipulation import flip


def _suffix_sum(t: Tensor, axis: int) -> Tensor:
    """``out[i] = t[i] + t[i+1] + ...`` along ``axis``."""
    return flip(cumsum(flip(t, axis), axis), axis)


class Cumsum(ArrayFunction):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return self.xp.cumsum(x, axis=self.axis, dtype=x.dtype)

    def backward(self, gy):
        return _suffix_sum(gy, self.axis)


class Cumprod(ArrayFunction):
    saves_inputs = (0,)
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return self.xp.cumprod(x, axis=self.axis, dtype=x.dtype)

    def backward(self, gy):
        """``d out[j] / d x[k]`` is the product of ``x[:j+1]`` without ``x[k]`` (for ``j >= k``).

        Where ``x[k] != 0`` that is ``out[j] / x[k]``, so the gradient is ``suffix_sum(gy * out)[k] / x[k]``
        (0 after a zero, as it should be). At the first zero of a slice, ``out[j]`` is 0 but the product
        without it is not: it is the cumprod with that zero replaced by 1. Later zeros get 0 (their products
        hold the first zero). Written with gpugrad ops, so double backward is exact but where a slice holds
        two zeros or more, as for prod.
        """
        (x,) = self.saved_tensors
        y = self.saved_output
        xp, axis = self.xp, self.axis
        is_zero = x.array == 0
        if has_values(is_zero) and not bool(is_zero.any()):  # traced graphs always take the general path
            return _suffix_sum(gy * y, axis) / x
        first_zero = is_zero & (xp.cumsum(is_zero, axis=axis) == 1)
        zero, first = _const(x, is_zero), _const(x, first_zero)
        x_safe = where(zero, 1.0, x)  # no 0/0 in the branch that where() discards
        past_nonzero = _suffix_sum(gy * y, axis) / x_safe
        at_first_zero = _suffix_sum(gy * cumprod(where(first, 1.0, x), axis), axis)
        return where(first, at_first_zero, past_nonzero)


def _scan(op: str, cls, input: Tensor, dim: int, dtype) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    elif input.array.dtype.kind in "biu":
        input = input.to(dtypes.int64)  # as PyTorch: integer and bool scans are int64
    axis = _wrap_dim(op, dim, input.array.ndim)
    if input.array.ndim == 0:
        return cls(0)(input.reshape(1)).reshape(())
    return cls(axis)(input)


def cumsum(input: Tensor, dim: int, dtype=None) -> Tensor:  # noqa: A002
    """Running sums along ``dim``: ``out[i] = input[0] + ... + input[i]``; integer inputs give int64.

    Example:
        >>> gg.tensor([1., 2., 3.]).cumsum(0)
        tensor([1., 3., 6.])
    """
    return _scan("cumsum", Cumsum, input, dim, dtype)


def cumprod(input: Tensor, dim: int, dtype=None) -> Tensor:  # noqa: A002
    """Running products along ``dim``; the gradient is exact also where ``input`` holds zeros.

    Example:
        >>> gg.tensor([1., 2., 3.]).cumprod(0)
        tensor([1., 2., 6.])
    """
    return _scan("cumprod", Cumprod, input, dim, dtype)
