"""Fused-looking arithmetic PyTorch code reaches for in hand-written optimizers: ``addcmul``, ``addcdiv``, ``lerp``.

Composites of the elementwise ops (so their gradients, and double backward, come from those),
with PyTorch's argument names; their in-place forms are in ``inplace_math``.
"""

from __future__ import annotations

from ..tensor import Tensor
from .elementwise import add, div, mul, sub


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:  # noqa: A002
    """``input + value * tensor1 * tensor2``, broadcast.

    Example:
        >>> gg.addcmul(gg.zeros(2), gg.tensor([1., 2.]), gg.tensor([3., 4.]), value=0.5)
        tensor([1.5, 4. ])
    """
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:  # noqa: A002
    """``input + value * tensor1 / tensor2``, broadcast (Adam's update: ``p.addcdiv_(m, v.sqrt() + eps, value=-lr)``).

    Example:
        >>> gg.addcdiv(gg.ones(2), gg.tensor([1., 2.]), gg.tensor([2., 4.]), value=-1)
        tensor([0.5, 0.5])
    """
    return add(input, div(tensor1, tensor2), alpha=value)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:  # noqa: A002
    """``input + weight * (end - input)``: linear interpolation; ``weight`` is a number or a tensor.

    Example:
        >>> gg.lerp(gg.zeros(2), gg.tensor([2., 4.]), 0.25)
        tensor([0.5, 1. ])
    """
    return add(input, mul(sub(end, input), weight))
