"""Rounding and two-argument math: ``round``, ``floor``, ``ceil``, ``trunc``, ``frac``, ``reciprocal``, ``atan2``.

Rounding is a step function, so its gradient is zero almost everywhere (as in
PyTorch); integer tensors round to themselves. ``frac`` and ``reciprocal`` are
built from other ops and inherit their gradients.
"""

from __future__ import annotations

from ..autograd.node import ArrayFunction
from ..tensor import Tensor
from .elementwise import _apply, div, promote, sub


class _Step(ArrayFunction):
    """A rounding function: forward rounds, backward is zero (the derivative of a step, away from its jumps)."""

    def forward(self, x):
        return self.round(x)

    def backward(self, gy):
        return gy * 0.0


class Round(_Step):
    def __init__(self, decimals: int = 0):
        self.decimals = decimals

    def round(self, x):
        return self.xp.round(x, self.decimals)  # half to even, as PyTorch


class Floor(_Step):
    def round(self, x):
        return self.xp.floor(x)


class Ceil(_Step):
    def round(self, x):
        return self.xp.ceil(x)


class Trunc(_Step):
    def round(self, x):
        return self.xp.trunc(x)


def _rounded(op: str, step: _Step, x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    if x.array.dtype.kind in "biu":
        return x.clone()  # an integer is already whole (PyTorch returns a copy of the same dtype)
    return step(x)


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round to the nearest integer (ties to even), or to ``decimals`` decimal places; the gradient is zero.

    Example:
        >>> gg.tensor([0.5, 1.5, 2.567]).round()
        tensor([0., 2., 3.])
        >>> gg.tensor([2.567]).round(decimals=2)
        tensor([2.5700])
    """
    return _rounded("round", Round(decimals), input)


def floor(input: Tensor) -> Tensor:
    """The largest integer not above each element; the gradient is zero.

    Example:
        >>> gg.tensor([-1.5, 1.5]).floor()
        tensor([-2.,  1.])
    """
    return _rounded("floor", Floor(), input)


def ceil(input: Tensor) -> Tensor:
    """The smallest integer not below each element; the gradient is zero.

    Example:
        >>> gg.tensor([-1.5, 1.5]).ceil()
        tensor([-1.,  2.])
    """
    return _rounded("ceil", Ceil(), input)


def trunc(input: Tensor) -> Tensor:
    """Each element rounded towards zero; the gradient is zero.

    Example:
        >>> gg.tensor([-1.5, 1.5]).trunc()
        tensor([-1.,  1.])
    """
    return _rounded("trunc", Trunc(), input)


fix = trunc


def frac(input: Tensor) -> Tensor:
    """The fractional part ``input - trunc(input)`` (keeps the sign); the gradient is one.

    Example:
        >>> gg.tensor([-1.25, 2.5]).frac()
        tensor([-0.2500,  0.5000])
    """
    if input.array.dtype.kind in "biu":
        raise RuntimeError(f"frac(): expected a floating point tensor, got {input.dtype}")
    return sub(input, trunc(input).detach())


def reciprocal(input: Tensor) -> Tensor:
    """``1 / input``; integer tensors give the default float dtype.

    Example:
        >>> gg.tensor([2, 4]).reciprocal()
        tensor([0.5000, 0.2500])
    """
    return div(1.0, input)


class Atan2(ArrayFunction):
    saves_inputs = (0, 1)

    def forward(self, y, x):
        return self.xp.arctan2(y, x)

    def backward(self, gy):
        """``d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)``."""
        y, x = self.saved_tensors
        scale = gy / (x * x + y * y)
        return scale * x, -scale * y


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of the point ``(other, input)`` in radians, elementwise (``arctan2``); integers give floats.

    Example:
        >>> gg.atan2(gg.tensor([1.0]), gg.tensor([-1.0]))
        tensor([2.3562])
    """
    input, other = promote("atan2", input, other, floating=True)
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("atan2(): both arguments must be Tensors (write gg.tensor(value) for a number)")
    return _apply("atan2", Atan2(), input, other)


arctan2 = atan2
