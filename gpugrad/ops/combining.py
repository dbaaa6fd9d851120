"""Ops built from others, for the products and joins PyTorch scripts reach for: ``addmm``, ``mv``, ``cross``,
``tensordot``, ``kron``, ``cdist``, ``vstack``, ``hstack``, ``concat``, ``meshgrid``.

Each is a composite of differentiable ops (matmul, reshape, roll, ...), so its
gradient, and its double backward, come from those.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, _wrap_dim
from .elementwise import mul, sub
from .linalg import matmul, mm
from .norms import norm
from .selection import roll
from .shape import cat, expand, permute, reshape, unsqueeze


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-D ``mat1`` and ``mat2`` (``input`` broadcasts).

    Example:
        >>> gg.addmm(gg.zeros(2, 2), gg.eye(2), gg.ones(2, 2), alpha=3)
        tensor([[3., 3.],
                [3., 3.]])
    """
    product = mm(mat1, mat2)
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # as PyTorch: input is ignored, NaN in it does not propagate
        return expand(product, np.broadcast_shapes(tuple(input.shape), tuple(product.shape)))
    return (input if beta == 1 else input * beta) + product


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The matrix-vector product of a 2-D ``input`` and a 1-D ``vec``.

    Example:
        >>> gg.mv(gg.eye(2) * 2, gg.tensor([1.0, 3.0]))
        tensor([2., 6.])
    """
    if input.array.ndim != 2 or vec.array.ndim != 1:
        raise RuntimeError(f"mv(): expected a 2-D matrix and a 1-D vector, got shapes {tuple(input.shape)} "
                           f"and {tuple(vec.shape)}")
    return matmul(input, vec)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (default: the first dimension of size 3, as
    ``torch.cross``; ``gg.linalg.cross`` semantics are ``dim=-1``). The two broadcast.

    Example:
        >>> gg.cross(gg.tensor([1.0, 0.0, 0.0]), gg.tensor([0.0, 1.0, 0.0]))
        tensor([0., 0., 1.])
    """
    if dim is None:
        sizes = [i for i, n in enumerate(input.shape) if n == 3]
        if not sizes:
            raise RuntimeError(f"cross(): no dimension of size 3 in input of shape {tuple(input.shape)}")
        dim = sizes[0]
    d = _wrap_dim("cross", dim, input.array.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"cross(): dimension {d} must have size 3 in both inputs, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}")
    # out[i] = a[i+1] b[i+2] - a[i+2] b[i+1] (indices mod 3): rolling by -1 and -2 lines those up
    return sub(mul(roll(input, -1, d), roll(other, -2, d)), mul(roll(input, -2, d), roll(other, -1, d)))


def _contracted_dims(a: Tensor, b: Tensor, dims):
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot(): dims must be non-negative, got {dims}")
        return list(range(a.array.ndim - dims, a.array.ndim)), list(range(dims))
    dims_a, dims_b = dims
    dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
    dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
    return ([_wrap_dim("tensordot", d, a.array.ndim) for d in dims_a],
            [_wrap_dim("tensordot", d, b.array.ndim) for d in dims_b])


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum the products over ``dims`` of ``a`` and ``b``: an int (the last ``dims`` of ``a`` with the first of
    ``b``) or two lists of dimensions. Done as one matrix product of the rearranged operands.

    Example:
        >>> gg.tensordot(gg.ones(2, 3), gg.ones(3, 4), dims=1).shape
        (2, 4)
    """
    dims_a, dims_b = _contracted_dims(a, b, dims)
    if [a.shape[i] for i in dims_a] != [b.shape[i] for i in dims_b]:
        raise RuntimeError(f"tensordot(): contracted dimensions {dims_a} of shape {tuple(a.shape)} and "
                           f"{dims_b} of shape {tuple(b.shape)} must have equal sizes")
    free_a = [i for i in range(a.array.ndim) if i not in dims_a]
    free_b = [i for i in range(b.array.ndim) if i not in dims_b]
    inner = math.prod(a.shape[i] for i in dims_a)
    left = reshape(permute(a, free_a + dims_a), (-1, inner) if free_a else (1, inner))
    right = reshape(permute(b, dims_b + free_b), (inner, -1) if free_b else (inner, 1))
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return reshape(mm(left, right), out_shape)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of ``input`` times the whole of ``other``, tiled.

    Example:
        >>> gg.kron(gg.eye(2), gg.ones(1, 2))
        tensor([[1., 1., 0., 0.],
                [0., 0., 1., 1.]])
    """
    ndim = max(input.array.ndim, other.array.ndim)
    a_shape = (1,) * (ndim - input.array.ndim) + tuple(input.shape)
    b_shape = (1,) * (ndim - other.array.ndim) + tuple(other.shape)
    # interleave: a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...) is (a0, b0, a1, b1, ...)
    a = reshape(input, tuple(n for size in a_shape for n in (size, 1)))
    b = reshape(other, tuple(n for size in b_shape for n in (1, size)))
    return reshape(mul(a, b), tuple(p * q for p, q in zip(a_shape, b_shape)))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` (``..., P, M``) and each row of ``x2`` (``..., R, M``),
    shaped ``(..., P, R)``.

    Example:
        >>> gg.cdist(gg.tensor([[0.0, 0.0]]), gg.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor([[5., 1.]])
    """
    if x1.array.ndim < 2 or x2.array.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist(): expected (..., P, M) and (..., R, M) inputs, got shapes {tuple(x1.shape)} "
                           f"and {tuple(x2.shape)}")
    return norm(sub(unsqueeze(x1, -2), unsqueeze(x2, -3)), p, dim=-1)


def _at_least(t: Tensor, ndim: int) -> Tensor:
    if t.array.ndim >= ndim:
        return t
    return reshape(t, (1,) * (ndim - t.array.ndim) + tuple(t.shape))


def vstack(tensors) -> Tensor:
    """Join along the first dimension, 1-D tensors taken as rows.

    Example:
        >>> gg.vstack([gg.tensor([1, 2]), gg.tensor([3, 4])])
        tensor([[1, 2],
                [3, 4]])
    """
    return cat([_at_least(t, 2) for t in tensors], 0)


row_stack = vstack


def hstack(tensors) -> Tensor:
    """Join along the second dimension (the first for 1-D tensors).

    Example:
        >>> gg.hstack([gg.tensor([1, 2]), gg.tensor([3])])
        tensor([1, 2, 3])
    """
    tensors = [_at_least(t, 1) for t in tensors]
    return cat(tensors, 0 if tensors[0].array.ndim == 1 else 1)


def concat(tensors, dim: int = 0) -> Tensor:
    """``cat``: join tensors along an existing dimension.

    Example:
        >>> gg.concat([gg.ones(1, 2), gg.zeros(1, 2)]).shape
        (2, 2)
    """
    return cat(tensors, dim)


def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids from 1-D tensors: the ``i``-th result varies along dimension ``i`` (``indexing="ij"``,
    the default) or, with ``"xy"``, the first two swap roles (as NumPy's default).

    Example:
        >>> xs, ys = gg.meshgrid(gg.tensor([1, 2]), gg.tensor([3, 4, 5]), indexing="ij")
        >>> xs.shape
        (2, 3)
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid(): indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.array.ndim > 1:
            raise RuntimeError(f"meshgrid(): expected 0-D or 1-D tensors, got shape {tuple(t.shape)}")
    sizes = [t.numel() for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(i, i) if swap else i
        shape = [1] * len(tensors)
        shape[axis] = sizes[axis]
        grids.append(expand(reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(grids)
