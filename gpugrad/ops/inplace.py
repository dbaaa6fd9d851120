"""In-place ops: ``add_``, ``mul_``, ``x[i] = v``, ... with version bumps.

Without a graph to keep (grad mode off, or nothing requires grad) they write
straight into the array. Otherwise the op runs out of place on an alias of
the old tensor, the result is copied into the tensor's memory and the tensor
takes the new ``grad_fn``; nodes that saved the old value notice the version
bump and refuse to run backward with a clear message.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from . import elementwise as ew
from .shape import IndexPut, expand, normalize_index


def _old_value(t: Tensor) -> Tensor:
    """A second Tensor for ``t``'s current value and graph position, on a copy of its data.

    The recorded op may save its input for backward (``mul_`` needs the old
    factor); ``t``'s memory is overwritten right after, so the saved value must
    live elsewhere, with its own version counter that nothing else bumps.
    """
    old = Tensor._make(t.data.copy(), t.device, t.requires_grad)
    old.grad_fn = t.grad_fn
    return old


def _check_broadcast(op: str, t: Tensor, other) -> None:
    """In-place results keep ``t``'s shape: ``other`` must broadcast to it, not the other way round."""
    if not isinstance(other, Tensor):
        return
    try:
        shape = np.broadcast_shapes(t.shape, other.shape)
    except ValueError:
        shape = None
    if shape != tuple(t.shape):
        raise RuntimeError(
            f"{op}(): output with shape {tuple(t.shape)} doesn't match the broadcast shape "
            f"{shape if shape is not None else 'of ' + str(tuple(other.shape))}; the other operand "
            f"(shape {tuple(other.shape)}) must broadcast to the tensor's shape; use the out-of-place op"
        )


def _check_cast(op: str, t: Tensor, other) -> None:
    if other is None:
        return
    target = dtypes.result_type(t, other)
    if target.category > t.dtype.category:
        raise RuntimeError(
            f"{op}(): result type {target} can't be cast to the desired output type {t.dtype}; "
            f"use the out-of-place form or cast the tensor first (t = t.to({target}))"
        )


def _inplace(op: str, t: Tensor, other, compute, write, check_cast: bool = True) -> Tensor:
    """Apply an in-place op: ``compute(alias)`` builds the recorded result, ``write(array)`` mutates directly."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(t).__name__}")
    if check_cast:
        _check_cast(op, t, other)
        _check_broadcast(op, t, other)
    if not isinstance(t.data, t.device.xp.ndarray):
        # ufuncs hand back scalars for 0-d inputs, and a NumPy scalar cannot be written into
        t.data = t.device.xp.asarray(t.data)
    other_requires = isinstance(other, Tensor) and other.requires_grad
    if _state.enabled and (t.requires_grad or other_requires):
        if t.requires_grad and t.grad_fn is None:
            raise RuntimeError(
                f"{op}(): a leaf Variable that requires grad is being used in an in-place operation. "
                "Do the update under `with gg.no_grad():` (as optimizers do), or use the out-of-place op."
            )
        result = compute(_old_value(t))
        if result.data.dtype != t.data.dtype:
            result = result.to(t.dtype)
        t.data[...] = result.data
        t.grad_fn, t.requires_grad = result.grad_fn, result.requires_grad
    else:
        if isinstance(other, Tensor) and other.device is not t.device:
            raise RuntimeError(
                f"{op}(): expected both tensors on the same device, got {t.device} and {other.device}; "
                f"move one with .to('{t.device}')"
            )
        write(t.data)
    t._version[0] += 1
    return t


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def add_(t: Tensor, other, alpha=1) -> Tensor:
    """``t += alpha * other`` in place."""

    def write(a):
        a += _raw(other) if alpha == 1 else _raw(other) * alpha

    return _inplace("add_", t, other, lambda old: ew.add(old, other, alpha=alpha), write)


def sub_(t: Tensor, other, alpha=1) -> Tensor:
    def write(a):
        a -= _raw(other) if alpha == 1 else _raw(other) * alpha

    return _inplace("sub_", t, other, lambda old: ew.sub(old, other, alpha=alpha), write)


def mul_(t: Tensor, other) -> Tensor:
    def write(a):
        a *= _raw(other)

    return _inplace("mul_", t, other, lambda old: ew.mul(old, other), write)


def div_(t: Tensor, other) -> Tensor:
    def write(a):
        a /= _raw(other)

    if t.data.dtype.kind != "f":
        raise RuntimeError(f"div_(): result type Float can't be cast to the desired output type {t.dtype}")
    return _inplace("div_", t, other, lambda old: ew.div(old, other), write)


def clamp_(t: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    def write(a):
        t.device.xp.clip(a, min, max, out=a)

    return _inplace("clamp_", t, None, lambda old: ew.clamp(old, min, max), write)


def fill_(t: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a one-element tensor)."""

    def write(a):
        a[...] = _raw(value)

    return _inplace("fill_", t, value, lambda old: expand(ew.add(old * 0, value), *t.shape), write)


def zero_(t: Tensor) -> Tensor:
    return fill_(t, 0)


def copy_(t: Tensor, src: Tensor) -> Tensor:
    """Copy ``src``'s values into ``t`` (broadcasting ``src``; an explicit copy may cross devices)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): expected a Tensor source, got {type(src).__name__}")
    src_here = src.to(t.device)

    def write(a):
        a[...] = src_here.data

    return _inplace("copy_", t, src_here, lambda old: expand(src_here.to(t.dtype), *t.shape), write, check_cast=False)


def setitem(t: Tensor, index, value) -> None:
    """``t[index] = value``; recorded as a CopySlices node when a graph is kept."""
    index = normalize_index(t, index)

    def write(a):
        a[index] = _raw(value)

    if isinstance(value, Tensor) and value.device is not t.device:
        raise RuntimeError(
            f"__setitem__(): value is on {value.device} but the tensor is on {t.device}; move it with .to('{t.device}')"
        )
    _inplace("__setitem__", t, value, lambda old: IndexPut(index)(old, value), write)
