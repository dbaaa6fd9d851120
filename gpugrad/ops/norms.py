"""Norms: ``torch.norm`` (``Tensor.norm``) and ``torch.linalg``'s ``vector_norm``, ``matrix_norm``, ``norm``.

A vector norm is one op (:class:`VectorNorm`) whose backward is written with
gpugrad ops, so it is twice differentiable; at a zero norm its gradient is 0,
as PyTorch's subgradient. Matrix norms are built from vector norms and
``amax``/``amin`` over the other dimension, and the spectral and nuclear norms
from the singular values, whose gradient ``U diag(g) Vh`` is exact to first
order only (double backward through them is not supported).

    >>> gg.tensor([3., 4.]).norm()
    tensor(5.)
"""

from __future__ import annotations

import math

from ..autograd.node import ArrayFunction
from ..tensor import Tensor, _wrap_dim
from .elementwise import _const, abs, where
from .linalg import matmul
from .reduction import _dims, _grad_to_input, amax, amin, sum as _sum
from .shape import permute, squeeze

_INF = math.inf


class VectorNorm(ArrayFunction):
    """``sum(|x| ** ord) ** (1 / ord)`` over ``axes``, with ord 0 (a count), +-inf (max/min of ``|x|``) and 1, 2."""

    saves_inputs = (0,)
    saves_output = True
    backward_name = "LinalgVectorNormBackward0"

    def __init__(self, ord, axes, keepdim):
        self.ord, self.axes, self.keepdim = ord, axes, keepdim

    def forward(self, x):
        xp, p, axes, keep = self.xp, self.ord, self.axes, self.keepdim
        size = xp.abs(x)
        if p == _INF or p == -_INF:
            return (xp.amax if p > 0 else xp.amin)(size, axis=axes, keepdims=keep)
        if p == 0:
            return (x != 0).sum(axis=axes, keepdims=keep).astype(x.dtype)
        if p == 1:
            return size.sum(axis=axes, keepdims=keep)
        if p == 2:
            return xp.sqrt((size * size).sum(axis=axes, keepdims=keep))
        return ((size ** p).sum(axis=axes, keepdims=keep)) ** (1.0 / p)

    def backward(self, gy):
        (x,) = self.saved_tensors
        shape, p = x.array.shape, self.ord
        g = _grad_to_input(gy, shape, self.axes, self.keepdim)
        norm = _grad_to_input(self.saved_output, shape, self.axes, self.keepdim)
        sign = _const(x, self.xp.sign(x.array))
        if p == 0:
            return g * 0.0
        if p == 1:
            return g * sign
        if p == _INF or p == -_INF:  # to the elements of largest (smallest) size, ties sharing evenly
            hits = (self.xp.abs(x.array) == norm.array).astype(x.array.dtype)
            hits /= hits.sum(axis=self.axes, keepdims=True)
            return g * sign * _const(x, hits)
        zero_norm = _const(x, norm.array == 0)
        safe_norm = where(zero_norm, 1.0, norm)
        if p == 2:
            return where(zero_norm, 0.0, g * x / safe_norm)
        if p < 1:  # |x| ** (p - 1) is infinite at 0: those elements get 0, as in PyTorch
            zero = _const(x, x.array == 0)
            scaled = sign * where(zero, 0.0, abs(where(zero, 1.0, x)) ** (p - 1))
            return scaled * g * norm ** (1.0 - p)
        return where(zero_norm, 0.0, sign * abs(x) ** (p - 1) * g / safe_norm ** (p - 1))


class SingularValues(ArrayFunction):
    """The singular values of each matrix in the last two dimensions, largest first."""

    backward_name = "LinalgSvdBackward0"

    def forward(self, x):
        u, s, vh = self.xp.linalg.svd(x, full_matrices=False)
        self.u, self.vh = u, vh
        return s

    def backward(self, gy):
        u, vh = _const(gy, self.u), _const(gy, self.vh)
        return matmul(u * gy.unsqueeze(-2), vh)  # U diag(g) Vh, for distinct singular values


# ----------------------------------------------------------- argument handling
def _check_float(op: str, input: Tensor) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): Expected a floating point tensor as input. Got {input.dtype}; "
                           "convert it first (.float())")


def _matrix_dims(op: str, input: Tensor, dim) -> tuple:
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{op}(): dim must be a 2-tuple of ints, got {dim!r}")
    if input.array.ndim < 2:
        raise RuntimeError(f"{op}(): The input tensor A must have at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    dims = tuple(_wrap_dim(op, d, input.array.ndim) for d in dim)
    if dims[0] == dims[1]:
        raise RuntimeError(f"{op}(): dims must be different. Got ({dim[0]}, {dim[1]})")
    return dims


# ----------------------------------------------------------- public functions
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None), as ``torch.linalg.vector_norm``.

    ``ord`` is any number, ``inf`` (largest ``|x|``), ``-inf`` (smallest) or 0 (the count of non-zeros).

    Example:
        >>> gg.linalg.vector_norm(gg.tensor([[3., -4.]]), ord=1)
        tensor(7.)
    """
    if dtype is not None:
        x = x.to(dtype)
    _check_float("linalg.vector_norm", x)
    if isinstance(ord, str) or isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise RuntimeError(f"linalg.vector_norm(): ord must be a number (or inf, -inf), got {ord!r}; "
                           "use linalg.matrix_norm for 'fro' and 'nuc'")
    return VectorNorm(ord, _dims("linalg.vector_norm", x, dim), keepdim)(x)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """A matrix norm over the two dimensions ``dim``, as ``torch.linalg.matrix_norm``.

    ``ord``: ``"fro"`` (Frobenius), ``"nuc"`` (sum of singular values), ``1``/``-1`` (largest/smallest
    column sum of ``|A|``), ``inf``/``-inf`` (row sums), ``2``/``-2`` (largest/smallest singular value).
    Differs from PyTorch: no double backward through ``"nuc"``, ``2`` and ``-2``.

    Example:
        >>> gg.linalg.matrix_norm(gg.tensor([[1., -2.], [3., 4.]]), ord=1)
        tensor(6.)
    """
    if dtype is not None:
        A = A.to(dtype)
    _check_float("linalg.matrix_norm", A)
    rows, cols = _matrix_dims("linalg.matrix_norm", A, dim)
    if ord == "fro":
        return VectorNorm(2, tuple(sorted((rows, cols))), keepdim)(A)
    if ord in (1, -1, _INF, -_INF):
        summed, across = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = VectorNorm(1, (summed,), True)(A)
        out = (amax if ord > 0 else amin)(sums, dim=across, keepdim=True)
        return out if keepdim else squeeze(out, (rows, cols))
    if ord in ("nuc", 2, -2):
        rest = [d for d in range(A.array.ndim) if d not in (rows, cols)]
        values = SingularValues()(permute(A, *rest, rows, cols))
        out = _sum(values, dim=-1) if ord == "nuc" else (amax if ord == 2 else amin)(values, dim=-1)
        return out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols)) if keepdim else out
    raise RuntimeError(f"linalg.matrix_norm(): Order {ord!r} not supported; use 'fro', 'nuc', 1, -1, 2, -2, inf "
                       "or -inf")


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm for an int ``dim`` or a 1-D input, a matrix norm for a 2-tuple or 2-D.

    Without ``ord`` and ``dim``, the 2-norm of all elements.

    Example:
        >>> gg.linalg.norm(gg.tensor([[1., 2.], [2., 4.]]))
        tensor(5.)
    """
    if dim is not None:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.array.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.array.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm(): If dim is not specified but ord is, the input must be 1D or 2D. "
                       f"Got {A.array.ndim}D (shape {tuple(A.shape)}); pass dim")


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A002
    """``torch.norm``: the ``p``-norm over ``dim`` (all elements by default); ``"fro"`` and ``"nuc"`` for matrices.

    A number ``p`` is a vector norm over ``dim`` (even a 2-tuple); ``"fro"`` is the 2-norm of the
    elements; ``"nuc"`` needs two dims. Prefer ``gg.linalg.vector_norm``/``matrix_norm`` in new code.

    Example:
        >>> gg.tensor([[3., 4.], [0., 0.]]).norm(dim=1)
        tensor([5., 0.])
    """
    if isinstance(p, str):
        dims = None if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
        if p == "fro" and (dims is None or len(dims) <= 2):
            return vector_norm(input, 2, dims, keepdim, dtype=dtype)
        return matrix_norm(input, p, tuple(range(input.array.ndim)) if dims is None else dims, keepdim, dtype=dtype)
    return vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype)
