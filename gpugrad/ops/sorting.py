"""Sorting: ``sort``, ``argsort``, ``topk``.

The indices come from the array module's stable argsort; the values are a
gather of the input at them, so the gradient is a scatter back to where each
value came from (and twice differentiable, as gather is).
"""

from __future__ import annotations

from ..tensor import Tensor, _wrap_dim
from .indexing import Gather
from .reduction import values_indices


def _stable_argsort(xp, x, axis: int, descending: bool):
    """Indices sorting ``x`` along ``axis``, equal elements keeping their order (also when descending).

    Descending is the ascending sort of the reversed array, reversed: reversing twice puts ties back in
    their original order, where sorting ``-x`` would not work for unsigned or bool inputs.
    """
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    reversed_order = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(reversed_order, axis)


def _sorted(op: str, input: Tensor, dim: int, descending: bool, k=None):
    """(values, int64 indices) of the ``k`` first (all when None) of ``input`` sorted along ``dim``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(input).__name__}")
    x = input if input.array.ndim else input.reshape(1)  # a 0-d tensor sorts as one element, index 0
    axis = _wrap_dim(op, dim, x.array.ndim)
    xp = x.device.xp
    indices = _stable_argsort(xp, x.array, axis, descending)
    if k is not None:
        indices = indices[(slice(None),) * axis + (slice(0, k),)]
    indices = indices.astype(xp.int64, copy=False)
    values = Gather(axis, indices, f"{op.capitalize()}Backward0")(x)
    indices = Tensor._make(indices, x.device)
    if not input.array.ndim:
        return values_indices(values.reshape(()), indices.reshape(()))
    return values_indices(values, indices)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):  # noqa: A002
    """``(values, indices)`` of ``input`` sorted along ``dim``, as ``torch.sort``.

    The sort is always stable (equal elements keep their order, also with ``descending``), so ``stable``
    changes nothing. NaN sorts as the largest value, as in PyTorch.

    Example:
        >>> gg.sort(gg.tensor([3., 1., 2.]), descending=True)
        values_indices(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
    """
    return _sorted("sort", input, dim, descending)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:  # noqa: A002
    """The int64 indices that sort ``input`` along ``dim`` (stable; see ``sort``).

    Example:
        >>> gg.tensor([3., 1., 2.]).argsort()
        tensor([1, 2, 0])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"argsort(): expected a Tensor, got {type(input).__name__}")
    x = input if input.array.ndim else input.reshape(1)
    axis = _wrap_dim("argsort", dim, x.array.ndim)
    indices = _stable_argsort(x.device.xp, x.array, axis, descending).astype(x.device.xp.int64, copy=False)
    return Tensor._make(indices.reshape(input.array.shape), x.device)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (or, with ``largest=False``, smallest) elements along ``dim``.

    Differs from PyTorch: the result is always sorted (``sorted=False`` allows any order, and this is one);
    equal elements come in their original order.

    Example:
        >>> gg.topk(gg.tensor([1., 5., 3., 4.]), 2)
        values_indices(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    size = input.array.shape[_wrap_dim("topk", dim, input.array.ndim)] if input.array.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} for dimension {dim} of size {size} "
                           f"(input shape {tuple(input.shape)})")
    return _sorted("topk", input, dim, largest, k)

