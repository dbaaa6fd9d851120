"""Selecting and counting elements: ``nonzero``, ``argwhere``, ``masked_select``, ``index_select``, ``unique``,
``bincount``, ``searchsorted``; and shifting them: ``roll``, ``diff``.

``masked_select``, ``index_select``, ``roll`` and ``diff`` are differentiable
(indexing and shifting, so their gradients scatter or shift back); the others
return integer tensors. Results whose size depends on the values
(``nonzero``, ``masked_select``, ``unique``) read that size from the device.
"""

from __future__ import annotations

import numpy as np

from ..autograd.node import ArrayFunction
from ..tensor import Tensor, _wrap_dim, check_same_device
from .elementwise import _const
from .shape import cat, expand, getitem, narrow, reshape


def _tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    return x


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an int64 ``(n, input.dim())`` tensor, one row per element in
    row-major order; with ``as_tuple=True`` one 1-D index tensor per dimension (usable as ``x[...]``).

    Example:
        >>> gg.tensor([[0, 1], [2, 0]]).nonzero()
        tensor([[0, 1],
                [1, 0]])
    """
    x = _tensor("nonzero", input)
    xp = x.device.xp
    array = x.array if x.array.ndim else x.array.reshape(1)  # a 0-d tensor counts as one element
    indices = [i.astype(xp.int64, copy=False) for i in xp.nonzero(array)]
    if as_tuple:
        return tuple(_const(x, i) for i in indices)
    if not x.array.ndim:
        return _const(x, xp.zeros((len(indices[0]), 0), dtype=xp.int64))
    return _const(x, xp.stack(indices, axis=1))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the ``(n, input.dim())`` indices of the non-zero elements.

    Example:
        >>> gg.argwhere(gg.tensor([0.0, 3.0, 4.0]))
        tensor([[1],
                [2]])
    """
    return nonzero(input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where the bool ``mask`` is true, as a 1-D tensor (the two broadcast).

    Example:
        >>> x = gg.tensor([[1.0, -2.0], [3.0, -4.0]])
        >>> gg.masked_select(x, x > 0)
        tensor([1., 3.])
    """
    x, mask = _tensor("masked_select", input), _tensor("masked_select", mask)
    if mask.array.dtype.kind != "b":
        raise TypeError(f"masked_select(): mask must be a bool tensor (e.g. x > 0), got {mask.dtype}")
    check_same_device(masked_select, (x, mask))
    shape = np.broadcast_shapes(x.shape, mask.shape)  # shapes are host tuples
    if x.shape != shape:
        x = expand(x, shape)
    return getitem(x, expand(mask, shape) if mask.shape != shape else mask)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries ``index`` (a 1-D or 0-d integer tensor) of ``input`` along ``dim``.

    Example:
        >>> x = gg.tensor([[1, 2, 3], [4, 5, 6]])
        >>> x.index_select(1, gg.tensor([2, 0]))
        tensor([[3, 1],
                [6, 4]])
    """
    x, index = _tensor("index_select", input), _tensor("index_select", index)
    if index.array.dtype.kind not in "iu" or index.array.ndim > 1:
        raise IndexError(f"index_select(): index must be a 1-D integer tensor, got {index.dtype} of shape "
                         f"{tuple(index.shape)}")
    check_same_device(index_select, (x, index))
    if not x.array.ndim:
        return getitem(x.reshape(1), index.reshape(-1)).reshape(())
    d = _wrap_dim("index_select", dim, x.array.ndim)
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002 - PyTorch's names
           return_counts: bool = False, dim=None):
    """The distinct elements of ``input`` (flattened), sorted; optionally the index of each input element in
    them (``return_inverse``, shaped like ``input``) and how often each occurs (``return_counts``). With
    ``dim``, the distinct slices along ``dim`` (rows for ``dim=0``), and the inverse indexes those slices.

    Example:
        >>> values, counts = gg.tensor([3, 1, 3, 2]).unique(return_counts=True)
        >>> values, counts
        (tensor([1, 2, 3]), tensor([1, 1, 2]))
    """
    x = _tensor("unique", input)
    xp = x.device.xp
    if dim is None:
        array, axis, inverse_shape = x.array.reshape(-1), None, x.array.shape
    else:
        array, axis = x.array, _wrap_dim("unique", dim, x.array.ndim)
        inverse_shape = (x.array.shape[axis],)
    values, inverse, counts = xp.unique(array, return_inverse=True, return_counts=True, axis=axis)
    results = [_const(x, values)]
    if return_inverse:
        results.append(_const(x, inverse.astype(xp.int64, copy=False).reshape(inverse_shape)))
    if return_counts:
        results.append(_const(x, counts.astype(xp.int64, copy=False)))
    return results[0] if len(results) == 1 else tuple(results)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value ``0, 1, ..., max(input)`` occurs in the 1-D non-negative integer ``input``
    (int64), or the sum of ``weights`` at those positions (float64, as PyTorch gives for float weights).

    Example:
        >>> gg.bincount(gg.tensor([0, 2, 2]))
        tensor([1, 0, 2])
    """
    x = _tensor("bincount", input)
    if x.array.ndim != 1 or x.array.dtype.kind not in "iu":
        raise RuntimeError(f"bincount(): input must be a 1-D integer tensor, got {x.dtype} of shape "
                           f"{tuple(x.shape)}")
    xp = x.device.xp
    if x.array.size and bool(xp.any(x.array < 0)):
        raise RuntimeError("bincount(): input must be non-negative")
    if weights is None:
        return _const(x, xp.bincount(x.array, minlength=minlength).astype(xp.int64, copy=False))
    check_same_device(bincount, (x, weights))
    w = weights.array
    counts = xp.bincount(x.array, weights=w, minlength=minlength)
    return _const(x, counts.astype(w.dtype if w.dtype == xp.float32 else xp.float64, copy=False))


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """Where each value of ``input`` would go in the ascending ``sorted_sequence`` to keep it sorted (the first
    such place; the last with ``right=True`` or ``side="right"``). A 1-D sequence serves every value; an
    N-D one is a batch of sequences, row ``i`` serving row ``i`` of ``input``.

    Example:
        >>> gg.searchsorted(gg.tensor([1, 3, 5]), gg.tensor([3, 6]))
        tensor([1, 3])
    """
    seq = _tensor("searchsorted", sorted_sequence)
    if side is not None and right and side != "right":
        raise RuntimeError("searchsorted(): side and right disagree; pass one of them")
    side = side or ("right" if right else "left")
    xp = seq.device.xp
    if isinstance(input, Tensor):
        check_same_device(searchsorted, (seq, input))
        values = input.array
    else:
        values = xp.asarray(input, dtype=seq.array.dtype)
    dtype = xp.int32 if out_int32 else xp.int64
    if seq.array.ndim <= 1:
        order = None if sorter is None else sorter.array
        positions = xp.searchsorted(seq.array.reshape(-1), values, side=side, sorter=order)
        return _const(seq, xp.asarray(positions).astype(dtype, copy=False))
    if sorter is not None or values.shape[:-1] != seq.array.shape[:-1]:
        raise RuntimeError(f"searchsorted(): a batched sorted_sequence of shape {tuple(seq.shape)} needs input "
                           f"with the same leading dimensions (got {tuple(values.shape)}) and no sorter")
    rows = seq.array.reshape(-1, seq.array.shape[-1])
    row_values = values.reshape(rows.shape[0], -1)
    positions = xp.stack([xp.searchsorted(rows[i], row_values[i], side=side) for i in range(rows.shape[0])])
    return _const(seq, positions.astype(dtype, copy=False).reshape(values.shape))


class Roll(ArrayFunction):
    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def forward(self, x):
        return self.xp.roll(x, self.shifts, axis=self.axes)

    def backward(self, gy):
        return Roll(tuple(-s for s in self.shifts), self.axes)(gy)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts`` (ints or tuples of equal length), wrapping around; with
    ``dims=None`` the flattened tensor is shifted and the shape restored.

    Example:
        >>> gg.tensor([1, 2, 3, 4]).roll(1)
        tensor([4, 1, 2, 3])
    """
    x = _tensor("roll", input)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll(): shifts {shifts} needs dims of the same length")
        return reshape(Roll(shifts, (0,))(reshape(x, (-1,))), x.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(dims) != len(shifts):
        raise RuntimeError(f"roll(): shifts {shifts} and dims {dims} must have the same length")
    return Roll(shifts, tuple(_wrap_dim("roll", d, x.array.ndim) for d in dims))(x)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference ``out[i] = input[i + 1] - input[i]`` along ``dim`` (after joining
    ``prepend`` and ``append`` to it); bool tensors give ``!=`` of neighbours, as in PyTorch.

    Example:
        >>> gg.tensor([1, 4, 9, 16]).diff()
        tensor([3, 5, 7])
    """
    x = _tensor("diff", input)
    d = _wrap_dim("diff", dim, x.array.ndim)
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], d)
    for _ in range(n):
        length = x.shape[d] - 1
        if length <= 0:
            return narrow(x, d, 0, 0)
        later, earlier = narrow(x, d, 1, length), narrow(x, d, 0, length)
        x = later != earlier if x.array.dtype.kind == "b" else later - earlier
    return x
