"""Shape and indexing ops: reshape, transpose, broadcasting, cat/stack/split, ``x[index]``.

Every op here is its own inverse's partner: the backward of reshape is a
reshape, of expand a sum-to-shape, of indexing a scatter-add (and the
backward of that scatter-add is indexing again), so all are twice
differentiable.
"""

from __future__ import annotations

import numpy as np

from ..autograd.node import ArrayFunction
from ..tensor import Tensor, _wrap_dim, shape_tuple


# ----------------------------------------------------------- broadcasting
def _broadcast_axes(shape: tuple, target: tuple) -> tuple:
    """The axes of ``shape`` to sum so the result has ``target``'s shape (NumPy broadcasting reversed)."""
    lead = len(shape) - len(target)
    if lead < 0:
        raise RuntimeError(f"sum_to(): cannot reduce shape {shape} to the larger shape {target}")
    axes = list(range(lead))
    for i, size in enumerate(target):
        if size == 1 and shape[lead + i] != 1:
            axes.append(lead + i)
        elif size != shape[lead + i] and size != 1:
            raise RuntimeError(f"sum_to(): shape {shape} is not broadcastable from {target}")
    return tuple(axes)


class SumTo(ArrayFunction):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return sum_array_to(x, self.shape)

    def backward(self, gy, F):
        return F.expand(gy, self.in_shape)


class Expand(ArrayFunction):
    view_of_input = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy, F):
        return F.sum_to(gy, self.in_shape)


def sum_array_to(x, shape: tuple):
    """Sum the array ``x`` down to ``shape``, undoing broadcasting (the engine does it to gradients on arrays)."""
    if not shape:  # to a scalar: the plain full sum (the common case of a broadcast scalar)
        return x.sum()
    axes = _broadcast_axes(x.shape, shape)
    out = x.sum(axis=axes, keepdims=True) if axes else x
    return out.reshape(shape)


def sum_to(x: Tensor, shape) -> Tensor:
    """Sum ``x`` down to ``shape``, undoing broadcasting (what the engine applies to gradients)."""
    shape = tuple(shape)
    if x.array.shape == shape:
        return x
    return SumTo(shape)(x)


def expand(x: Tensor, *shape) -> Tensor:
    """Broadcast ``x`` to ``shape`` without copying; ``-1`` keeps a dimension's size."""
    shape = _shape_arg(shape, "expand")
    lead = len(shape) - x.array.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand(): the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.array.ndim})"
        )
    shape = tuple(x.array.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    if shape == x.array.shape:
        return x
    for have, want in zip(x.array.shape, shape[lead:]):  # np.broadcast_shapes would cost more than the op
        if have != want and have != 1:
            raise RuntimeError(f"expand(): cannot expand a tensor of shape {tuple(x.shape)} to shape {shape}")
    return Expand(shape)(x)


def broadcast_to(x: Tensor, shape) -> Tensor:
    return expand(x, *shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, *other.shape)


def _shape_arg(shape, op: str = "reshape") -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` as PyTorch does; floats raise rather than truncate."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return shape_tuple(op, shape)


# ----------------------------------------------------------- reshaping
class Reshape(ArrayFunction):
    view_of_input = True
    backward_name = "ViewBackward0"  # PyTorch's name for reshape/view/flatten of contiguous data

    def __init__(self, shape, backward_name=None):
        self.shape = shape
        if backward_name:
            self.backward_name = backward_name

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy, F):
        return F.reshape(gy, self.in_shape)


def reshape(x: Tensor, *shape) -> Tensor:
    """A tensor with the same values and a new shape (one ``-1`` is inferred)."""
    shape = _shape_arg(shape)
    if shape == x.array.shape:
        return x
    try:
        target = _infer_shape(x.array.size, shape)
    except ValueError as exc:
        raise RuntimeError(f"reshape(): shape {list(shape)} is invalid for input of size {x.array.size} ({exc})") from None
    return Reshape(target)(x)


def _infer_shape(size: int, shape: tuple) -> tuple:
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ValueError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ValueError(f"invalid shape dimension {s}")
            known *= s
    if unknown:
        if known == 0 or size % known:
            raise ValueError("sizes do not divide")
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    elif known != size:
        raise ValueError("sizes do not match")
    return shape


view = reshape


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, *other.shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    if x.array.ndim == 0:
        return reshape(x, 1)
    start = _wrap_dim("flatten", start_dim, x.array.ndim)
    end = _wrap_dim("flatten", end_dim, x.array.ndim)
    shape = x.array.shape
    return reshape(x, *shape[:start], -1, *shape[end + 1 :]) if end >= start else x


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop dimensions of size 1 (all of them, or only ``dim``)."""
    shape = x.array.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = {_wrap_dim("squeeze", d, x.array.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    if new == shape:
        return x
    # PyTorch's names: SqueezeBackward0 for all dims, 1 for one dim, 2 for a tuple of dims
    name = "SqueezeBackward0" if dim is None else "SqueezeBackward2" if isinstance(dim, (tuple, list)) else "SqueezeBackward1"
    return Reshape(new, name)(x)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    d = _wrap_dim("unsqueeze", dim, x.array.ndim + 1)
    shape = x.array.shape
    return Reshape(shape[:d] + (1,) + shape[d:], "UnsqueezeBackward0")(x)


class Permute(ArrayFunction):
    view_of_input = True

    def __init__(self, dims, backward_name=None):
        self.dims = dims
        if backward_name:
            self.backward_name = backward_name

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, gy, F):
        return F.permute(gy, np.argsort(self.dims).tolist())


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder dimensions: ``x.permute(2, 0, 1)``."""
    dims = _shape_arg(dims, "permute")
    if len(dims) != x.array.ndim:
        raise RuntimeError(f"permute(): number of dims {len(dims)} doesn't match the tensor's {x.array.ndim} dimensions")
    dims = tuple(_wrap_dim("permute", d, x.array.ndim) for d in dims)
    if sorted(dims) != list(range(x.array.ndim)):
        raise RuntimeError(f"permute(): repeated dim in {dims}")
    return Permute(dims)(x)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    n = x.array.ndim
    dims = list(range(n))
    if n == 0:
        return x
    d0, d1 = _wrap_dim("transpose", dim0, n), _wrap_dim("transpose", dim1, n)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute(tuple(dims), "TransposeBackward0")(x)


def t(x: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if x.array.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.array.ndim}D; use .mT or transpose")
    return Permute((1, 0), "TBackward0")(x) if x.array.ndim == 2 else x


def T(x: Tensor) -> Tensor:
    """All dimensions reversed (``x.T``)."""
    return permute(x, *reversed(range(x.array.ndim))) if x.array.ndim > 1 else x


def mT(x: Tensor) -> Tensor:
    """The last two dimensions swapped (``x.mT``)."""
    return transpose(x, -2, -1)


def contiguous(x: Tensor) -> Tensor:
    """``x`` itself if its data is C-contiguous, else a contiguous copy that keeps the graph."""
    flags = getattr(x.array, "flags", None)  # a traced array (gg.compile) has no memory layout: it gets the copy
    if flags is not None and flags.c_contiguous:
        return x
    return Contiguous()(x)


class Contiguous(ArrayFunction):
    backward_name = "CloneBackward0"

    def forward(self, x):
        return self.xp.ascontiguousarray(x)

    def backward(self, gy, F):
        return gy


def clone(x: Tensor) -> Tensor:
    """A copy with its own memory; gradients flow back to ``x``."""
    return Clone()(x)


class Clone(ArrayFunction):
    def forward(self, x):
        return x.copy()

    def backward(self, gy, F):
        return gy


# ----------------------------------------------------------- joining & splitting
class Cat(ArrayFunction):
    def __init__(self, dim):
        self.dim = dim

    def forward(self, *arrays):
        self.sizes = [a.shape[self.dim] for a in arrays]
        return self.xp.concatenate(arrays, axis=self.dim)

    def backward(self, gy, F):
        grads, start, index = [], 0, [slice(None)] * gy.ndim
        for size in self.sizes:  # each input's slice of the gradient (indexing: the same on arrays and tensors)
            index[self.dim] = slice(start, start + size)
            grads.append(gy[tuple(index)])
            start += size
        return tuple(grads)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if x.array.ndim == 0:
            raise RuntimeError(
                f"cat(): zero-dimensional tensor (at position {i}) cannot be concatenated; use stack(), "
                "or reshape it to one dimension first"
            )
    ndim = tensors[0].array.ndim
    d = _wrap_dim("cat", dim, ndim)
    for i, x in enumerate(tensors):
        if x.array.ndim != ndim or any(a != b for j, (a, b) in enumerate(zip(x.shape, tensors[0].shape)) if j != d):
            raise RuntimeError(
                f"cat(): sizes of tensors must match except in dimension {d}; tensor 0 has shape "
                f"{tuple(tensors[0].shape)} but tensor {i} has shape {tuple(x.shape)}"
            )
    from .elementwise import promote

    target = tensors[0]
    for x in tensors[1:]:
        target, _ = promote("cat", target, x)
    tensors = [x.to(target.dtype) for x in tensors]
    return Cat(d)(*tensors)


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack(): expects each tensor to be equal size, but got {tuple(tensors[0].shape)} at entry 0 "
                f"and {tuple(x.shape)} at entry {i}"
            )
    d = _wrap_dim("stack", dim, tensors[0].array.ndim + 1)
    out = cat([unsqueeze(x, d) for x in tensors], d)
    if out.grad_fn is not None:
        out.grad_fn.backward_name = "StackBackward0"  # the Cat node made above, under PyTorch's name
    return out


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice ``start:start+length`` of dimension ``dim`` (a negative ``start`` counts from the end)."""
    d = _wrap_dim("narrow", dim, x.array.ndim)
    size = x.array.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start {start} is out of range for dimension {d} of size {size}")
    start = start + size if start < 0 else start
    if length < 0 or start + length > size:
        raise RuntimeError(
            f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({size}) of dimension {d} "
            f"of a tensor of shape {tuple(x.shape)}"
        )
    index = (slice(None),) * d + (slice(start, start + length),)
    return getitem(x, index)


def _pieces(x: Tensor, d: int, sizes, backward_name: str) -> tuple:
    """Consecutive slices of ``sizes`` along ``d``, their grad_fn named as PyTorch's one split node."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(GetItem((slice(None),) * d + (slice(start, start + size),), True, backward_name)(x))
        start += size
    return tuple(pieces)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``x`` along ``dim``: of equal size (the last may be smaller) or of the given sizes."""
    d = _wrap_dim("split", dim, x.array.ndim)
    total = x.array.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split(): split_size must be positive, got {step}")
        sizes = [min(step, total - s) for s in range(0, total, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != total:
            raise RuntimeError(
                f"split(): split_with_sizes expects split_sizes to sum exactly to {total} "
                f"(input tensor's size at dimension {d}), but got split_sizes={sizes}"
            )
    name = "SplitBackward0" if isinstance(split_size_or_sections, int) else "SplitWithSizesBackward0"
    return _pieces(x, d, sizes, name)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces (fewer when the size does not allow), as ``torch.chunk``."""
    if chunks <= 0:
        raise RuntimeError(f"chunk(): chunks must be positive, got {chunks}")
    d = _wrap_dim("chunk", dim, x.array.ndim)
    size = -(-x.array.shape[d] // chunks) if x.array.shape[d] else 1
    return split(x, max(size, 1), d)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    d = _wrap_dim("unbind", dim, x.array.ndim)
    return tuple(GetItem((slice(None),) * d + (i,), True, "UnbindBackward0")(x) for i in range(x.array.shape[d]))


def select(x: Tensor, dim: int, index: int) -> Tensor:
    d = _wrap_dim("select", dim, x.array.ndim)
    return getitem(x, (slice(None),) * d + (index,))


# ----------------------------------------------------------- indexing
def _is_basic(index) -> bool:
    """Whether an index uses only ints, slices, None and Ellipsis (a view, no duplicates)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in items if not isinstance(i, bool))


def normalize_index(x: Tensor, index):
    """Turn tensors and lists inside an index into arrays of ``x``'s device."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            if item.device is not x.device:
                item = item.to(x.device)  # an index, not data: PyTorch also accepts CPU indices here
            out.append(item.array)
        elif isinstance(item, list):
            out.append(x.device.xp.asarray(item))
        elif isinstance(item, np.ndarray) and x.device.type != "cpu":
            out.append(x.device.xp.asarray(item))
        else:
            out.append(item)
    return tuple(out) if isinstance(index, tuple) or len(out) != 1 else out[0]


class GetItem(ArrayFunction):
    backward_name = "IndexBackward0"

    def __init__(self, index, basic: bool, backward_name=None):
        self.index, self.basic = index, basic
        if basic:
            self.view_of_input = True
        if backward_name:
            self.backward_name = backward_name

    def forward(self, x):
        self.in_shape = x.shape
        index = self.index
        if index.__class__ is int:  # t[i]: with `...` NumPy gives a view even of one element (else a copied scalar)
            return x[index, ...]
        out = x[index]
        if self.basic and isinstance(out, np.generic):  # NumPy copied one element out as a scalar;
            out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]  # a 0-d view: t[0, 1].add_(1) writes into t
        return out

    def name(self) -> str:
        if self.basic and "backward_name" not in self.__dict__:  # worked out when asked: indexing is hot
            return _view_index_name(self.index, self.in_shape)
        return super().name()

    def backward(self, gy, F):
        if F.on_arrays:
            return index_add_to_zeros(self.xp, self.in_shape, self.index, self.basic, gy)
        return IndexAdd(self.in_shape, self.index, self.basic)(gy)


def _view_index_name(index, shape: tuple) -> str:
    """PyTorch's grad_fn name for basic indexing: that of the last view it applies, left to right.

    ``x[0]`` and ``x[1:, 0]`` end in a select, ``x[0, 1:]`` in a slice, ``x[0, None]`` in an
    unsqueeze; full slices (``:``) and ``...`` apply nothing, so ``x[...]`` is an alias, except
    that a lone slice (``x[:]``, not in a tuple) is always a slice.
    """
    if isinstance(index, slice):
        return "SliceBackward0"
    items = index if isinstance(index, tuple) else (index,)
    consuming = sum(1 for item in items if item is not None and item is not Ellipsis)
    name, dim = "AliasBackward0", 0
    for item in items:
        if item is Ellipsis:
            dim += len(shape) - consuming
        elif item is None:
            name = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            if item.indices(shape[dim]) != (0, shape[dim], 1):
                name = "SliceBackward0"
            dim += 1
        else:
            name = "SelectBackward0"
            dim += 1
    return name


class IndexAdd(ArrayFunction):
    """Scatter-add ``values`` into zeros of ``shape`` at ``index`` (repeated indices add up)."""

    backward_name = "IndexPutBackward0"

    def __init__(self, shape, index, basic: bool):
        self.shape, self.index, self.basic = shape, index, basic

    def forward(self, values):
        return index_add_to_zeros(self.xp, self.shape, self.index, self.basic, values)

    def backward(self, gy, F):
        return gy[self.index]  # basic or advanced indexing: the same on arrays and tensors


def index_add_to_zeros(xp, shape, index, basic: bool, values):
    """Zeros of ``shape`` with ``values`` added at ``index``: the gradient of ``x[index]`` on arrays."""
    out = xp.zeros(shape, dtype=values.dtype)
    if basic:
        out[index] = values
    else:
        scatter_add(xp, out, index, values)
    return out


def scatter_add(xp, target, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulated (np.add.at / cupyx.scatter_add)."""
    if xp.__name__ != "cupy":  # NumPy, or the tracer's stand-in for it (np.add.at is then recorded)
        np.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: basic slicing or advanced (integer/bool tensor) indexing."""
    if type(index) is int or type(index) is slice:
        basic = True  # the common case (t[0], t[1:]): a view, nothing to convert
    else:
        with x.device.activate():  # lists become index arrays on x's device (CuPy makes them on its current one)
            index = normalize_index(x, index)
        basic = _is_basic(index)
    try:
        return GetItem(index, basic)(x)  # the op enters x's device itself
    except IndexError as exc:
        raise IndexError(f"index {index!r} is out of range for a tensor of shape {tuple(x.shape)}: {exc}") from None


class IndexPut(ArrayFunction):
    """Out-of-place ``x[index] = values``; ``Tensor.__setitem__`` writes the result back in place."""

    backward_name = "CopySlices"

    def __init__(self, index):
        self.index = index

    def forward(self, x, values):
        out = x.copy()
        out[self.index] = values
        self.values_shape = values.shape if hasattr(values, "shape") else None
        return out

    def backward(self, gy):
        gx = IndexPut(self.index)(gy, 0.0) if self.needs_input_grad[0] else None
        gv = getitem(gy, self.index) if self.needs_input_grad[1] else None
        return gx, gv
