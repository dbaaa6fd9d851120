"""Rearranging values: ``flip``, ``repeat``, ``diag``, ``tril``/``triu``.

Each backward is the matching rearrangement of the gradient (flip of flip,
summing the tiles of repeat, the diagonal of diag, the same triangle), written
with gpugrad ops, so all are twice differentiable.
"""

from __future__ import annotations

from ..autograd.node import ArrayFunction
from ..tensor import Tensor, _wrap_dim
from .shape import _shape_arg, reshape
from .reduction import sum as _sum


# ----------------------------------------------------------- flip
class Flip(ArrayFunction):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return self.xp.flip(x, self.axes).copy()  # PyTorch's flip copies; a view would alias writes

    def backward(self, gy):
        return Flip(self.axes)(gy)


def flip(input: Tensor, *dims_args, dims=None) -> Tensor:  # noqa: A002
    """``input`` with the order of elements reversed along ``dims`` (a copy, as in PyTorch).

    ``dims`` as PyTorch takes them: ``x.flip(0, 1)``, ``x.flip((0, 1))``, ``gg.flip(x, dims=[0])``.

    Example:
        >>> gg.tensor([[1, 2], [3, 4]]).flip(0)
        tensor([[3, 4],
                [1, 2]])
    """
    dims = _shape_arg(dims_args if dims is None else (dims,))
    axes = tuple(_wrap_dim("flip", d, input.array.ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip(): dims {dims} has a dimension appearing more than once")
    if input.array.ndim == 0:
        return Flip(())(input)
    return Flip(axes)(input)


# ----------------------------------------------------------- repeat
class Repeat(ArrayFunction):
    """``x`` tiled ``repeats`` times along each dimension (leading repeats add dimensions)."""

    def __init__(self, repeats):
        self.repeats = repeats

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.tile(x, self.repeats)

    def backward(self, gy):
        # (r0*s0, r1*s1, ...) -> (r0, s0, r1, s1, ...): the tiles of each dimension on their own axis, summed
        shape = (1,) * (len(self.repeats) - len(self.in_shape)) + tuple(self.in_shape)
        split = [n for pair in zip(self.repeats, shape) for n in pair]
        tiles = reshape(gy, *split)
        return reshape(_sum(tiles, dim=tuple(range(0, len(split), 2))), *self.in_shape)


def repeat(input: Tensor, *sizes) -> Tensor:  # noqa: A002
    """``input`` tiled ``sizes[i]`` times along dimension ``i``, as ``Tensor.repeat`` (a copy).

    Extra leading sizes add dimensions: ``gg.tensor([1, 2]).repeat(2, 2)`` has shape (2, 4).

    Example:
        >>> gg.tensor([1, 2]).repeat(2)
        tensor([1, 2, 1, 2])
    """
    sizes = _shape_arg(sizes)
    if len(sizes) < input.array.ndim:
        raise RuntimeError(
            f"repeat(): Number of dimensions of repeat dims ({len(sizes)}) can not be smaller than number of "
            f"dimensions of tensor ({input.array.ndim}, shape {tuple(input.shape)})"
        )
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"repeat(): repeats must be non-negative, got {sizes}")
    return Repeat(sizes)(input)


# ----------------------------------------------------------- diagonals
def _diagonal_positions(xp, shape, offset: int):
    """(rows, cols) of the ``offset`` diagonal of a matrix of ``shape`` (above the main one when positive)."""
    rows, cols = shape
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    steps = xp.arange(length)
    return (steps, steps + offset) if offset >= 0 else (steps - offset, steps)


class Diagonal(ArrayFunction):
    """The ``offset`` diagonal of a matrix, as a vector (a copy)."""

    backward_name = "DiagonalBackward0"

    def __init__(self, offset):
        self.offset = offset

    def forward(self, x):
        self.in_shape = x.shape
        return x[_diagonal_positions(self.xp, x.shape, self.offset)]

    def backward(self, gy):
        return DiagEmbed(self.in_shape, self.offset)(gy)


class DiagEmbed(ArrayFunction):
    """A matrix of ``shape``, zero but for ``v`` on its ``offset`` diagonal."""

    backward_name = "DiagEmbedBackward0"

    def __init__(self, shape, offset):
        self.shape, self.offset = tuple(shape), offset

    def forward(self, v):
        out = self.xp.zeros(self.shape, dtype=v.dtype)
        out[_diagonal_positions(self.xp, self.shape, self.offset)] = v
        return out

    def backward(self, gy):
        return Diagonal(self.offset)(gy)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """A square matrix with the vector ``input`` on its ``diagonal``, or the ``diagonal`` of the matrix ``input``.

    ``diagonal`` > 0 is above the main diagonal, < 0 below, as ``torch.diag``.

    Example:
        >>> gg.diag(gg.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
        >>> gg.diag(gg.tensor([[1, 2], [3, 4]]), 1)
        tensor([2])
    """
    if input.array.ndim == 1:
        n = input.array.shape[0] + abs(diagonal)
        f = DiagEmbed((n, n), diagonal)
        f.backward_name = "DiagBackward0"
        return f(input)
    if input.array.ndim == 2:
        return Diagonal(diagonal)(input)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.array.ndim}D (shape {tuple(input.shape)}); "
                       "index one matrix (x[i]) first")


# ----------------------------------------------------------- triangles
class Triangle(ArrayFunction):
    """The lower (``tril``) or upper (``triu``) triangle of the last two dimensions, the rest zeroed."""

    def __init__(self, upper: bool, offset: int):
        self.upper, self.offset = upper, offset
        self.backward_name = "TriuBackward0" if upper else "TrilBackward0"

    def forward(self, x):
        return (self.xp.triu if self.upper else self.xp.tril)(x, self.offset)

    def backward(self, gy):
        return Triangle(self.upper, self.offset)(gy)


def _triangle(op: str, input: Tensor, diagonal: int, upper: bool) -> Tensor:
    if input.array.ndim < 2:
        raise RuntimeError(f"{op}(): input tensor must have at least 2 dimensions, got shape {tuple(input.shape)}")
    return Triangle(upper, int(diagonal))(input)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The lower triangle of (each matrix of) ``input``: elements on and below ``diagonal``, the rest 0.

    Example:
        >>> gg.ones(2, 3).tril()
        tensor([[1., 0., 0.],
                [1., 1., 0.]])
    """
    return _triangle("tril", input, diagonal, upper=False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The upper triangle of (each matrix of) ``input``: elements on and above ``diagonal``, the rest 0.

    Example:
        >>> gg.ones(2, 3).triu(1)
        tensor([[0., 1., 1.],
                [0., 0., 1.]])
    """
    return _triangle("triu", input, diagonal, upper=True)
