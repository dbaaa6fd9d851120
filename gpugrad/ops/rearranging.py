"""Rearranging and broadcasting helpers: ``movedim``, ``swapaxes``, ``tile``, ``atleast_1d/2d/3d``,
``broadcast_tensors``, ``column_stack``, ``dstack``; and the NaN-aware ``nan_to_num`` and ``nanmean``.

All are composites of differentiable ops (permute, repeat, reshape, expand, cat, where).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap_dim
from .elementwise import _const, where
from .logic import nansum
from .manipulation import repeat
from .shape import cat, expand, permute, reshape, transpose


def movedim(input: Tensor, source, destination) -> Tensor:
    """``input`` with dimensions ``source`` (an int or a sequence) moved to ``destination``; the others keep
    their order.

    Example:
        >>> gg.zeros(2, 3, 4).movedim(0, -1).shape
        (3, 4, 2)
    """
    ndim = input.ndim
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim(): source {source} and destination {destination} must have the same length")
    source = [_wrap_dim("movedim", d, ndim) for d in source]
    destination = [_wrap_dim("movedim", d, ndim) for d in destination]
    rest = iter(d for d in range(ndim) if d not in source)
    placed = dict(zip(destination, source))
    return permute(input, [placed[i] if i in placed else next(rest) for i in range(ndim)])


moveaxis = movedim


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose(input, axis0, axis1)`` under NumPy's name.

    Example:
        >>> gg.zeros(2, 3).swapaxes(0, 1).shape
        (3, 2)
    """
    return transpose(input, axis0, axis1)


swapdims = swapaxes


def tile(input: Tensor, dims) -> Tensor:
    """``input`` repeated ``dims[i]`` times along dimension ``i``; fewer ``dims`` than dimensions count from the
    last dimension (unlike ``repeat``, which needs one per dimension).

    Example:
        >>> gg.tensor([[1, 2]]).tile((2,)).shape
        (1, 4)
    """
    dims = tuple(dims)
    return repeat(input, *((1,) * (input.ndim - len(dims)) + dims))


def _at_least(ndim: int, tensors):
    """Each tensor reshaped to ``ndim`` dimensions at least, as NumPy's ``atleast_{ndim}d`` places them."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shaped = []
    for t in tensors:
        shape = tuple(t.shape)
        if len(shape) < ndim:
            if ndim == 3 and len(shape) == 2:
                shape = shape + (1,)
            elif ndim == 3:
                shape = (1,) + (shape or (1,)) + (1,)
            else:
                shape = (1,) * (ndim - len(shape)) + shape
        shaped.append(reshape(t, shape) if shape != tuple(t.shape) else t)
    return shaped[0] if len(shaped) == 1 else tuple(shaped)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (0-d becomes shape (1,)).

    Example:
        >>> gg.atleast_1d(gg.tensor(1.0)).shape
        (1,)
    """
    return _at_least(1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions (a vector becomes a row).

    Example:
        >>> gg.atleast_2d(gg.tensor([1.0, 2.0])).shape
        (1, 2)
    """
    return _at_least(2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions (NumPy's placement: ``(n,)`` becomes ``(1, n, 1)``).

    Example:
        >>> gg.atleast_3d(gg.zeros(2, 3)).shape
        (2, 3, 1)
    """
    return _at_least(3, tensors)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views, no copies).

    Example:
        >>> [t.shape for t in gg.broadcast_tensors(gg.zeros(2, 1), gg.zeros(3))]
        [(2, 3), (2, 3)]
    """
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))  # shapes are host tuples
    return tuple(expand(t, shape) if tuple(t.shape) != shape else t for t in tensors)


def column_stack(tensors) -> Tensor:
    """Join along dimension 1, vectors (and numbers) taken as columns.

    Example:
        >>> gg.column_stack([gg.tensor([1, 2]), gg.tensor([3, 4])])
        tensor([[1, 3],
                [2, 4]])
    """
    return cat([reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors], 1)


def dstack(tensors) -> Tensor:
    """Join along dimension 2 (depth), after ``atleast_3d``.

    Example:
        >>> gg.dstack([gg.zeros(2, 3), gg.ones(2, 3)]).shape
        (2, 3, 2)
    """
    tensors = list(tensors)
    shaped = atleast_3d(*tensors)
    return cat(list(shaped) if isinstance(shaped, tuple) else [shaped], 2)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf`` (by default the dtype's largest and
    smallest finite values); the gradient is one at finite elements, zero at replaced ones.

    Example:
        >>> gg.tensor([float("nan"), 1.0, float("inf")]).nan_to_num()
        tensor([0.0000e+00, 1.0000e+00, 3.4028e+38])
    """
    if input.array.dtype.kind != "f":
        return input.clone()
    xp, limits = input.device.xp, np.finfo(input.array.dtype)
    posinf = float(limits.max) if posinf is None else posinf
    neginf = float(limits.min) if neginf is None else neginf
    out = where(_const(input, xp.isnan(input.array)), nan, input)
    out = where(_const(input, xp.isposinf(input.array)), posinf, out)
    return where(_const(input, xp.isneginf(input.array)), neginf, out)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The mean of the elements that are not NaN (NaN where all are).

    Example:
        >>> gg.tensor([1.0, float("nan"), 3.0]).nanmean()
        tensor(2.)
    """
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected a floating point tensor, got {input.dtype}")
    counts = _const(input, (~input.device.xp.isnan(input.array)).astype(input.array.dtype))
    return nansum(input, dim, keepdim, dtype=dtype) / counts.sum(dim, keepdim)
