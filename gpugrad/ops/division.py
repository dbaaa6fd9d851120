"""Integer-style division: ``floor_divide`` (``//``), ``remainder`` (``%``) and ``fmod``, with PyTorch's sign rules.

``floor_divide`` rounds toward minus infinity; ``remainder`` takes the sign of
the divisor (Python's ``%``), ``fmod`` the sign of the dividend (C's ``fmod``).
They work on integer and float tensors and numbers on either side. As in
PyTorch, an integer division by zero raises (floats give inf/nan), and
``floor_divide`` has no derivative (its backward raises PyTorch's error).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.node import ArrayFunction
from ..backends import has_values
from ..tensor import Tensor
from .elementwise import _apply, _const, promote


class FloorDivide(ArrayFunction):
    backward_name = "NotImplemented"  # PyTorch's grad_fn name for an op without a derivative

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):  # float x // 0 is inf or nan, as in PyTorch
            return self.xp.floor_divide(a, b)

    def backward(self, gy):
        raise RuntimeError("derivative for floor_divide is not implemented (as in PyTorch); floor_divide is "
                           "piecewise constant: detach() its result, or use div() for a differentiable quotient")


class RoundedDivide(ArrayFunction):
    """``a / b`` rounded toward minus infinity (``"floor"``) or zero (``"trunc"``); zero gradients, as in PyTorch."""

    backward_name = "DivBackward2"

    def __init__(self, rounding_mode: str):
        self.rounding_mode = rounding_mode

    def forward(self, a, b):
        xp = self.xp
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.rounding_mode == "floor":
                return xp.floor_divide(a, b)
            if getattr(a, "dtype", getattr(b, "dtype", None)).kind == "f":
                return xp.trunc(xp.true_divide(a, b))
            return (xp.abs(a) // xp.abs(b)) * (xp.sign(a) * xp.sign(b))  # exact for integers

    def backward(self, gy):
        return tuple(gy * 0.0 if need else None for need in self.needs_input_grad)


class _Modulo(ArrayFunction):
    """``a - b * q`` for the quotient ``q`` rounded one way: gradient ``gy`` to ``a``, ``-gy * q`` to ``b``.

    A subclass gives ``modulo(xp, a, b)`` and ``quotient(xp, a, b)``.
    """

    saves_inputs = (0, 1)

    def __init__(self, other_is_number: bool):
        if other_is_number:
            self.backward_name = type(self).__name__ + "Backward1"

    def inputs_to_save(self):
        return (0, 1) if self.needs_input_grad[-1] else ()

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):  # float x % 0 is nan, as in PyTorch
            return self.modulo(self.xp, a, b)

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        gb = None
        if need_b:
            a, b = (x.array if isinstance(x, Tensor) else x for x in self.saved_tensors)
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = -gy * _const(gy, self.quotient(self.xp, a, b))
        return gy if need_a else None, gb


class Remainder(_Modulo):
    @staticmethod
    def modulo(xp, a, b):
        return xp.remainder(a, b)

    @staticmethod
    def quotient(xp, a, b):
        return xp.floor_divide(a, b)


class Fmod(_Modulo):
    @staticmethod
    def modulo(xp, a, b):
        return xp.fmod(a, b)

    @staticmethod
    def quotient(xp, a, b):
        return xp.trunc(xp.true_divide(a, b))  # only asked for float inputs (gradients)


def _operands(op: str, input, other):
    """Both operands promoted to PyTorch's result dtype, after its checks (no bool, no integer zero divisor)."""
    input, other = promote(op, input, other)
    result = input.dtype if isinstance(input, Tensor) else other.dtype
    if result.category == dtypes.BOOL:
        raise RuntimeError(f"{op}(): not implemented for 'Bool' operands; convert them first (.long() or .float())")
    if result.category == dtypes.INT and _has_zero(other):
        raise RuntimeError(f"{op}(): ZeroDivisionError: an integer divisor is 0 (as in PyTorch, integer division "
                           "by zero raises; float division gives inf or nan)")
    return input, other


def _has_zero(divisor) -> bool:
    if isinstance(divisor, Tensor):  # one value read back from the device; none while tracing
        return has_values(divisor.array) and bool((divisor.array == 0).any())
    return divisor == 0


def floor_divide(input, other) -> Tensor:  # noqa: A002
    """``input / other`` rounded toward minus infinity (``//``); integer inputs stay integer.

    Example:
        >>> gg.tensor([5, -5, 7]) // gg.tensor([2, 2, -2])
        tensor([ 2, -3, -4])
    """
    input, other = _operands("floor_divide", input, other)
    return _apply("floor_divide", FloorDivide(), input, other)


def div_rounded(input, other, rounding_mode: str) -> Tensor:  # noqa: A002
    """``div(input, other, rounding_mode=...)``: the quotient rounded ``"floor"`` or ``"trunc"``, integers kept.

    Unlike ``floor_divide``, whose backward raises, this form has zero gradients, as in PyTorch.

    Example:
        >>> gg.div(gg.tensor([7, -7]), 2, rounding_mode="trunc")
        tensor([ 3, -3])
    """
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div(): expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"{rounding_mode!r}")
    input, other = _operands("div", input, other)
    return _apply("div", RoundedDivide(rounding_mode), input, other)


def remainder(input, other) -> Tensor:  # noqa: A002
    """``input - other * floor(input / other)`` (``%``): the result has the sign of ``other``, as Python's ``%``.

    Example:
        >>> gg.tensor([5, -5, 7]) % gg.tensor([2, 2, -2])
        tensor([ 1,  1, -1])
    """
    is_number = not isinstance(other, Tensor)
    input, other = _operands("remainder", input, other)
    return _apply("remainder", Remainder(is_number), input, other)


def fmod(input, other) -> Tensor:  # noqa: A002
    """``input - other * trunc(input / other)``: the result has the sign of ``input``, as C's ``fmod``.

    Example:
        >>> gg.fmod(gg.tensor([5, -5, 7]), gg.tensor([2, 2, -2]))
        tensor([ 1, -1,  1])
    """
    is_number = not isinstance(other, Tensor)
    input, other = _operands("fmod", input, other)
    return _apply("fmod", Fmod(is_number), input, other)
