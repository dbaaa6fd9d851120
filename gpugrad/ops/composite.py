"""Small composites PyTorch code reaches for: ``addcmul``, ``addcdiv``, ``lerp`` (hand-written optimizers),
``clamp_min``, ``clamp_max``.

Built from the elementwise ops (so their gradients, and double backward, come from those), with
PyTorch's argument names; their in-place forms are in ``inplace_math``.
"""

from __future__ import annotations

from ..tensor import Tensor
from .elementwise import add, clamp, div, mul, sub


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


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """``clamp(input, min=min)``: values below ``min`` raised to it.

    Example:
        >>> gg.tensor([-1., 2.]).clamp_min(0.)
        tensor([0., 2.])
    """
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """``clamp(input, max=max)``: values above ``max`` lowered to it.

    Example:
        >>> gg.tensor([-1., 2.]).clamp_max(0.)
        tensor([-1.,  0.])
    """
    return clamp(input, max=max)
