"""Reductions with PyTorch's ``dim``/``keepdim``, and softmax-family ops."""

from __future__ import annotations

import builtins
from collections import namedtuple

from .. import dtypes
from ..autograd.node import ArrayFunction
from ..tensor import Tensor, _wrap_dim
from .elementwise import _const, as_float, exp, log, sqrt, where
from .formulas import TENSOR_MATH
from .shape import reshape
from ..device import on_tensor_device

values_indices = namedtuple("values_indices", ["values", "indices"])


def _dims(op: str, x: Tensor, dim) -> tuple | None:
    """``dim`` as a sorted tuple of non-negative axes, or None for all of them."""
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    wrapped = [_wrap_dim(op, d, x.array.ndim) for d in dims]
    for i, d in enumerate(wrapped):
        if d in wrapped[:i]:
            raise RuntimeError(f"{op}(): dim {d} appears multiple times in the list of dims {tuple(dims)}")
    axes = tuple(sorted(wrapped))
    # an empty dim list reduces everything, as in PyTorch; a 0-d tensor's dim 0/-1 is the whole tensor
    return None if not axes or x.array.ndim == 0 else axes


def _grad_to_input(gy, in_shape: tuple, axes, keepdim: bool, F=None):
    """Broadcast a reduced gradient back over the reduced axes (a formula: ``F`` as in ops/formulas.py)."""
    if F is None:  # called from a backward on tensors only
        F = TENSOR_MATH
    if not keepdim and gy.ndim:  # a 0-d gradient broadcasts as it is
        if axes is None:
            axes = tuple(range(len(in_shape)))
        kept = tuple(1 if i in axes else s for i, s in enumerate(in_shape))
        gy = F.reshape(gy, kept)
    return F.expand(gy, in_shape)


class Sum(ArrayFunction):
    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        if axes is not None:
            self.backward_name = "SumBackward1"

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy, F):
        return _grad_to_input(gy, self.in_shape, self.axes, self.keepdim, F)


class Mean(ArrayFunction):
    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        if axes is not None:
            self.backward_name = "MeanBackward1"

    def forward(self, x):
        self.in_shape = x.shape
        self.count = count = x.size if self.axes is None else _count(x.shape, self.axes)
        if x.dtype.itemsize < 4 or count == 0:  # float16 accumulates in float32 there; empty gives nan
            return x.mean(axis=self.axes, keepdims=self.keepdim)
        # sum/count is what mean() computes, without its Python-level wrapper (a third of a tiny op's cost)
        if self.axes is None and not self.keepdim:
            return x.sum() / count  # no keywords to parse: the loss of nearly every step
        return x.sum(axis=self.axes, keepdims=self.keepdim) / count

    def backward(self, gy, F):  # divide before broadcasting: fewer elements to touch
        return _grad_to_input(gy / builtins.max(self.count, 1), self.in_shape, self.axes, self.keepdim, F)


def _count(shape: tuple, axes) -> int:
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


def sum(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001 - PyTorch's name
    """Sum over all elements or over ``dim`` (an int or a tuple); bool/int sums are int64 as in PyTorch."""
    if dtype is not None:
        x = x.to(dtype)
    elif x.array.dtype.kind in "biu":
        x = x.to(dtypes.int64)
    return Sum(_dims("sum", x, dim), keepdim)(x)


def mean(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The mean over all elements or over ``dim``; ``dtype`` casts first (needed for integer tensors)."""
    if dtype is not None:
        x = x.to(dtype)
    if x.array.dtype.kind != "f":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {x.dtype}; cast first with .float()"
        )
    return Mean(_dims("mean", x, dim), keepdim)(x)


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _dims("var", x, dim)
    x = as_float(x)
    centered = x - mean(x, dim=axes, keepdim=True)
    n = _count(x.array.shape, axes)
    return sum(centered * centered, dim=axes, keepdim=keepdim) / builtins.max(n - correction, 0)


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, correction=None) -> Tensor:
    return sqrt(var(x, dim=dim, unbiased=unbiased, keepdim=keepdim, correction=correction))


class Extreme(ArrayFunction):
    """max/min over all elements or ``axes`` (amax/amin); ties share the gradient evenly."""

    saves_inputs = (0,)
    saves_output = True

    def __init__(self, kind, axes, keepdim, op=None):
        self.kind, self.axes, self.keepdim, self.op = kind, axes, keepdim, op or kind
        self.backward_name = f"A{kind}Backward0" if axes is not None else f"{kind.capitalize()}Backward1"

    def forward(self, x):
        if x.size == 0 and self.axes is None:
            raise RuntimeError(
                f"{self.op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                "reduction dim with the 'dim' argument.")
        for a in self.axes or ():
            if x.shape[a] == 0:
                raise IndexError(f"{self.op}(): Expected reduction dim {a} to have non-zero size.")
        reduce = self.xp.amax if self.kind == "max" else self.xp.amin
        return reduce(x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        x_data, y = F.raw(x), F.raw(self.saved_result(F))
        if not self.keepdim and self.axes is not None:
            y = y.reshape([1 if i in self.axes else s for i, s in enumerate(x_data.shape)])
        hits = (x_data == y).astype(x_data.dtype)
        hits /= hits.sum(axis=self.axes, keepdims=True)
        return _grad_to_input(gy, x_data.shape, self.axes, self.keepdim, F) * F.constant(x, hits)


class ExtremeAlongDim(ArrayFunction):
    """max/min along one dim that also returns indices; the gradient goes to the chosen index."""

    def __init__(self, kind, axis, keepdim):
        self.kind, self.axis, self.keepdim = kind, axis, keepdim
        self.backward_name = f"{kind.capitalize()}Backward0"

    def forward(self, x):
        xp = self.xp
        arg = xp.argmax if self.kind == "max" else xp.argmin
        idx = xp.expand_dims(arg(x, axis=self.axis), self.axis)
        self.indices = idx
        self.in_shape = x.shape
        values = xp.take_along_axis(x, idx, axis=self.axis)
        return values if self.keepdim else values.squeeze(self.axis)

    def backward(self, gy):
        xp = self.xp
        positions = [1] * len(self.in_shape)
        positions[self.axis] = self.in_shape[self.axis]
        chosen = (xp.arange(self.in_shape[self.axis]).reshape(positions) == self.indices).astype(gy.array.dtype)
        return _grad_to_input(gy, self.in_shape, (self.axis,), self.keepdim) * _const(gy, chosen)


def _extreme(kind: str, x: Tensor, dim, keepdim: bool):
    if dim is None:
        return Extreme(kind, None, False)(x)
    if isinstance(dim, Tensor):  # max(a, b) spelled as torch.max(a, b)
        from .elementwise import maximum, minimum

        return (maximum if kind == "max" else minimum)(x, dim)
    axis = _wrap_dim(kind, dim, x.array.ndim)
    if x.array.ndim == 0:  # a 0-d tensor is its own max along dim 0, at index 0
        return _extreme(kind, reshape(x, 1), 0, False)
    if x.array.shape[axis] == 0:
        raise IndexError(f"{kind}(): Expected reduction dim {axis} to have non-zero size")
    f = ExtremeAlongDim(kind, axis, keepdim)
    values = f(x)
    indices = Tensor._make(f.indices if keepdim else f.indices.squeeze(axis), x.device)
    return values_indices(values, indices.to(dtypes.int64))


def max(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """The largest element, or ``(values, indices)`` along ``dim``, as ``torch.max``."""
    return _extreme("max", x, dim, keepdim)


def min(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """The smallest element, or ``(values, indices)`` along ``dim``, as ``torch.min``."""
    return _extreme("min", x, dim, keepdim)


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Extreme("max", _dims("amax", x, dim), keepdim, "amax")(x)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Extreme("min", _dims("amin", x, dim), keepdim, "amin")(x)


@on_tensor_device
def _arg(kind: str, x: Tensor, dim, keepdim: bool) -> Tensor:
    xp = x.device.xp
    fn = xp.argmax if kind == "max" else xp.argmin
    if dim is not None and x.array.ndim == 0:
        _wrap_dim(f"arg{kind}", dim, 0)  # only validates: 0 and -1 name the whole 0-d tensor
        dim = None
    if dim is None and x.array.size == 0:
        raise IndexError(f"arg{kind}(): Expected reduction dim to be specified for input.numel() == 0.")
    if dim is not None and x.array.shape[_wrap_dim(f"arg{kind}", dim, x.array.ndim)] == 0:
        raise IndexError(f"arg{kind}(): Expected reduction dim {_wrap_dim(f'arg{kind}', dim, x.array.ndim)} "
                         "to have non-zero size.")
    if dim is None:
        out = fn(x.array)
        if keepdim:
            out = out.reshape((1,) * x.array.ndim)
    else:
        out = fn(x.array, axis=_wrap_dim(f"arg{kind}", dim, x.array.ndim), keepdims=keepdim)
    return Tensor._make(xp.asarray(out, dtype=xp.int64), x.device)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flattened when ``dim`` is None); int64, not differentiable."""
    return _arg("max", x, dim, keepdim)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg("min", x, dim, keepdim)


@on_tensor_device
def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` along ``dim``, computed stably by shifting by the max."""
    axes = _dims("logsumexp", x, dim)
    x = as_float(x)
    xp = x.device.xp
    if _count(x.array.shape, axes) == 0:  # nothing to sum: log(0) = -inf (no max to shift by)
        shape = tuple(1 if axes is None or i in axes else s for i, s in enumerate(x.array.shape))
        shift = Tensor._make(xp.zeros(shape, dtype=x.array.dtype), x.device)
    else:
        shift = amax(x.detach(), dim=axes, keepdim=True)
    shift = Tensor._make(xp.where(xp.isfinite(shift.array), shift.array, 0), x.device)  # all -inf rows stay -inf
    out = log(sum(exp(x - shift), dim=axes, keepdim=True)) + shift
    if keepdim:
        return out
    return reshape(out, *[s for i, s in enumerate(out.shape) if axes is not None and i not in axes])


class Softmax(ArrayFunction):
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = self.xp
        if x.size == 0:  # no max to shift by; the result is as empty as the input
            return x.copy()
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, gy, F):
        y = self.saved_result(F)
        return y * (gy - F.sum(gy * y, self.axis, True))


class LogSoftmax(ArrayFunction):
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = self.xp
        if x.size == 0:  # no max to shift by; the result is as empty as the input
            return x.copy()
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy, F):
        y = self.saved_result(F)
        return gy - F.exp(y) * F.sum(gy, self.axis, True)


def softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, stable for large inputs."""
    x = x.to(dtype) if dtype is not None else as_float(x)
    return Softmax(_wrap_dim("softmax", dim, x.array.ndim))(x)


def log_softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed without forming the softmax."""
    x = x.to(dtype) if dtype is not None else as_float(x)
    return LogSoftmax(_wrap_dim("log_softmax", dim, x.array.ndim))(x)


@on_tensor_device
def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    axes = _dims("all", x, dim)
    return Tensor._make(x.device.xp.all(x.array, axis=axes, keepdims=keepdim), x.device)


@on_tensor_device
def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    axes = _dims("any", x, dim)
    return Tensor._make(x.device.xp.any(x.array, axis=axes, keepdims=keepdim), x.device)


class Prod(ArrayFunction):
    """Product over all elements or ``axes``; the gradient of each element is the product of the others."""

    saves_inputs = (0,)
    saves_output = True

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        return x.prod(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        (x,) = self.saved_tensors
        g = _grad_to_input(gy, x.array.shape, self.axes, self.keepdim)
        y = _grad_to_input(self.saved_output, x.array.shape, self.axes, self.keepdim)
        is_zero = x.array == 0
        if not is_zero.any():
            return g * y / x  # the fast path: "product of the others" is y / x
        return g * self._grad_with_zeros(x, y, is_zero)

    def _grad_with_zeros(self, x, y, is_zero):
        """Where a group holds one zero, that zero's gradient is the product of the rest; elsewhere 0.

        Written with differentiable ops, so double backward is exact except where a
        group holds two or more zeros (PyTorch is exact there too; we return 0).
        """
        zero = _const(x, is_zero)
        x_safe = where(zero, 1.0, x)  # no 0/0 in the branch that where() discards
        shape = x.array.shape
        others = _grad_to_input(prod(x_safe, dim=self.axes, keepdim=self.keepdim), shape, self.axes, self.keepdim)
        zeros_in_group = is_zero.sum(axis=self.axes, keepdims=True)
        lone_zero = _const(x, self.xp.broadcast_to(zeros_in_group == 1, x.array.shape))
        return where(zero, where(lone_zero, others, 0.0), y / x_safe)


def prod(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Product of elements, over all of them or along ``dim``; exact gradients also where inputs are zero.

    Bool and integer products are int64, as in PyTorch (NumPy would give uint64 for unsigned inputs).

    Example:
        >>> gg.tensor([[1., 2.], [3., 4.]]).prod(dim=1)   # tensor([ 2., 12.])
    """
    if dtype is not None:
        x = x.to(dtype)
    elif x.array.dtype.kind in "biu":
        x = x.to(dtypes.int64)
    return Prod(_dims("prod", x, dim), keepdim)(x)
