"""Tests and logic that give bool or count tensors: ``isinf``, ``isclose``, ``equal``, ``logical_and/or/xor``,
``count_nonzero``; and ``nansum``, the sum that skips NaN.

None of these is differentiable but ``nansum`` (its gradient is one where the
element is a number, zero where it is NaN).
"""

from __future__ import annotations

from ..tensor import Tensor, _wrap_dim, check_same_device
from .elementwise import _const, promote, where
from .reduction import sum as _sum


def _tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    return x


def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is plus or minus infinity.

    Example:
        >>> gg.tensor([1.0, float("inf"), -float("inf")]).isinf()
        tensor([False,  True,  True])
    """
    x = _tensor("isinf", input)
    return _const(x, x.device.xp.isinf(x.array))


def isclose(input: Tensor, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """True where ``|input - other| <= atol + rtol * |other|`` (NaN equals NaN only with ``equal_nan``).

    Example:
        >>> gg.isclose(gg.tensor([1.0, 2.0]), gg.tensor([1.0 + 1e-9, 2.1]))
        tensor([ True, False])
    """
    a, b = promote("isclose", _tensor("isclose", input), other)
    check_same_device(isclose, (a, b))
    b_data = b.array if isinstance(b, Tensor) else b
    return _const(a, a.device.xp.isclose(a.array, b_data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and the same elements (a Python bool, as ``torch.equal``).

    Example:
        >>> gg.equal(gg.tensor([1, 2]), gg.tensor([1, 2]))
        True
    """
    a, b = _tensor("equal", input), _tensor("equal", other)
    check_same_device(equal, (a, b))
    return a.shape == b.shape and bool(a.device.xp.all(a.array == b.array))


def _logical(name: str):
    def op(input: Tensor, other: Tensor) -> Tensor:
        a = _tensor(name, input)
        b_data = other.array if isinstance(other, Tensor) else other
        if isinstance(other, Tensor):
            check_same_device(op, (a, other))
        return _const(a, getattr(a.device.xp, name)(a.array, b_data))

    op.__name__ = name
    op.__doc__ = (f"Elementwise ``{name}`` of the truth values (non-zero is true) as a bool tensor.\n\n"
                  f"    Example:\n        >>> gg.{name}(gg.tensor([True, False]), gg.tensor([True, True]))\n")
    return op


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements (over ``dim``, an int or tuple; all by default), as int64.

    Example:
        >>> gg.tensor([[0, 1], [2, 3]]).count_nonzero(dim=0)
        tensor([1, 2])
    """
    x = _tensor("count_nonzero", input)
    if isinstance(dim, int):
        dim = (dim,)
    axis = None if dim is None else tuple(_wrap_dim("count_nonzero", d, x.array.ndim) for d in dim)
    xp = x.device.xp
    return _const(x, xp.sum(x.array != 0, axis=axis, dtype=xp.int64))


def nansum(input: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The sum treating NaN as zero; the gradient is one where the element is a number, zero at NaN.

    Example:
        >>> gg.tensor([1.0, float("nan"), 2.0]).nansum()
        tensor(3.)
    """
    x = _tensor("nansum", input)
    if x.array.dtype.kind == "f":
        x = where(_const(x, x.device.xp.isnan(x.array)), 0.0, x)
    return _sum(x, dim, keepdim, dtype=dtype)
