"""In-place ops: ``add_``, ``mul_``, ``x[i] = v``, ... with version bumps.

Without a graph to keep (grad mode off, or nothing requires grad) they write
straight into the array. Otherwise the op runs out of place on a copy of the
old value (so the new node may save it), the result is copied into the
tensor's memory and the tensor takes the new ``grad_fn``; nodes that saved
the tensor before notice the version bump and refuse to run backward with a
clear message.

Differs from PyTorch: the copy of the old value costs one array copy per
recorded in-place op; and a recorded in-place op on a view (``x[0:2].mul_(2)``)
changes the base's values and version but not the base's ``grad_fn``, so a
later backward through the base misses the change (PyTorch rebases the view's
base; clone the view, or write through ``x[0:2] = ...`` on the base instead).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.node import ArrayFunction
from ..autograd.grad_mode import _state
from ..tensor import Tensor, fill_value_for
from . import elementwise as ew
from .shape import IndexPut, normalize_index


def _old_value(t: Tensor) -> Tensor:
    """A second Tensor for ``t``'s current value and graph position, on a copy of its data.

    The recorded op may save its input for backward (``mul_`` needs the old
    factor); ``t``'s memory is overwritten right after, so the saved value must
    live elsewhere, with its own version counter that nothing else bumps.
    """
    old = Tensor._make(t.array.copy(), t.device, t.requires_grad)
    old.grad_fn = t.grad_fn
    return old


def _check_broadcast(op: str, t: Tensor, other) -> None:
    """``other`` must be a number or a tensor that broadcasts to ``t``'s shape (in-place results keep it)."""
    ew._check_operand(op, other)
    if not isinstance(other, Tensor) or other.array.shape == t.array.shape:  # the common cases, checked fast
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
    if other is None or t.array.dtype.kind == "f":
        return  # float is the highest category: a float tensor takes any tensor or number in place
    target = dtypes.result_type(t, other)
    if target.category > t.dtype.category:
        raise RuntimeError(
            f"{op}(): result type {target} can't be cast to the desired output type {t.dtype}; "
            f"use the out-of-place form or cast the tensor first (t = t.to({target}))"
        )


def _inplace(op: str, t: Tensor, other, compute, write, check_cast: bool = True) -> Tensor:
    """Apply an in-place op: ``compute(old)`` builds the recorded result, ``write(array)`` mutates directly.

    It runs with ``t``'s CUDA device current (``on_tensor_device`` would look at ``op``, the first argument).
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(t).__name__}")
    if _writes_at_once(t, other):  # nothing to record, cast or check (an optimizer's update)
        write(t.array)
        t._version[0] += 1
        return t
    if t.device.type == "cpu":
        return _inplace_here(op, t, other, compute, write, check_cast)
    with t.device.activate():
        return _inplace_here(op, t, other, compute, write, check_cast)


def _inplace_here(op: str, t: Tensor, other, compute, write, check_cast: bool) -> Tensor:
    if check_cast:
        _check_cast(op, t, other)
    if not isinstance(t.array, t.device.xp.ndarray):
        # ufuncs hand back scalars for 0-d inputs, and a NumPy scalar cannot be written into
        t.array = t.device.xp.asarray(t.array)
    other_requires = isinstance(other, Tensor) and other.requires_grad
    if _state.enabled and (t.requires_grad or other_requires):
        if t.requires_grad and t.grad_fn is None:
            raise RuntimeError(
                f"{op}(): a leaf Variable that requires grad is being used in an in-place operation. "
                "Do the update under `with gg.no_grad():` (as optimizers do), or use the out-of-place op."
            )
        if t._base is not None:
            raise RuntimeError(
                f"{op}(): in-place change of a view (a slice, reshape, transpose, ...) while autograd records it. "
                "PyTorch re-bases the base tensor's graph here; gpugrad does not, so the base's gradient would "
                "be wrong. Write through the base instead (base[index] = new_values) or use out-of-place ops."
            )
        result = compute(_old_value(t))
        if result.array.dtype != t.array.dtype:
            result = result.to(t.dtype)
        t.array[...] = result.array
        t.grad_fn, t.requires_grad = result.grad_fn, result.requires_grad
    else:
        if isinstance(other, Tensor) and other.device is not t.device:
            raise RuntimeError(
                f"{op}(): expected both tensors on the same device, got {t.device} and {other.device}; "
                f"move one with .to('{t.device}')"
            )
        write(t.array)
    t._version[0] += 1
    return t


def _raw(x):
    return x.array if isinstance(x, Tensor) else x


def _writes_at_once(t: Tensor, other) -> bool:
    """Whether ``t <op>= other`` can go straight into the array, skipping ``_inplace``'s checks: nothing to
    record, a float CPU tensor, and a Python number or a CPU tensor of its shape (an optimizer's update)."""
    if t.__class__ is not Tensor or t.array.__class__ is not np.ndarray or t.array.dtype.kind != "f":
        return False
    if other.__class__ is Tensor:
        if other.array.__class__ is not np.ndarray or other.array.shape != t.array.shape:
            return False
        return not (_state.enabled and (t._requires_grad or other._requires_grad))
    return (other.__class__ is float or other.__class__ is int) and not (_state.enabled and t._requires_grad)


def add_(t: Tensor, other, alpha=1) -> Tensor:
    """``t += alpha * other`` in place."""

    def write(a):
        a += _raw(other) if alpha == 1 else _raw(other) * alpha

    _check_broadcast("add_", t, other)
    return _inplace("add_", t, other, lambda old: ew.add(old, other, alpha=alpha), write)


def sub_(t: Tensor, other, alpha=1) -> Tensor:
    def write(a):
        a -= _raw(other) if alpha == 1 else _raw(other) * alpha

    _check_broadcast("sub_", t, other)
    return _inplace("sub_", t, other, lambda old: ew.sub(old, other, alpha=alpha), write)


def mul_(t: Tensor, other) -> Tensor:
    def write(a):
        a *= _raw(other)

    _check_broadcast("mul_", t, other)
    return _inplace("mul_", t, other, lambda old: ew.mul(old, other), write)


def div_(t: Tensor, other) -> Tensor:
    def write(a):
        a /= _raw(other)

    if t.array.dtype.kind != "f":
        raise RuntimeError(f"div_(): result type Float can't be cast to the desired output type {t.dtype}")
    _check_broadcast("div_", t, other)
    return _inplace("div_", t, other, lambda old: ew.div(old, other), write)


def clamp_(t: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    def write(a):
        t.device.xp.clip(a, min, max, out=a)

    target = ew.clamp_result_dtype(t, min, max)
    if target is not t.dtype and target.category > t.dtype.category:
        raise RuntimeError(f"clamp_(): result type {target} can't be cast to the desired output type {t.dtype}")

    return _inplace("clamp_", t, None, lambda old: ew.clamp(old, min, max), write)


class Overwrite(ArrayFunction):
    """The value of ``old`` after ``src`` (broadcast) is written over all of it, as fill_/zero_/copy_ record it.

    ``old`` gets a zero gradient (its values are gone, as in PyTorch), ``src`` the rest (summed by the engine
    where it was broadcast). Not ``old * 0 + src``: that would turn an inf or nan in ``old`` into nan.
    """

    def __init__(self, backward_name):
        self.backward_name = backward_name

    def forward(self, old, src):
        return self.xp.broadcast_to(self.xp.asarray(src, dtype=old.dtype), old.shape).copy()

    def backward(self, gy):
        return gy * 0.0 if self.needs_input_grad[0] else None, gy if self.needs_input_grad[1] else None


def fill_(t: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a one-element tensor)."""
    ew._check_operand("fill_", value)
    value = fill_value_for("fill_", value, t.array.dtype)

    def write(a):
        a[...] = _raw(value)

    def compute(old):
        return Overwrite("FillBackward0")(old, value.to(t.dtype) if isinstance(value, Tensor) else value)

    return _inplace("fill_", t, value, compute, write)


def zero_(t: Tensor) -> Tensor:
    """Set every element to 0 in place (what optimizers do to ``.grad`` every step)."""
    if t.__class__ is Tensor and t.array.__class__ is np.ndarray and not (t.requires_grad and _state.enabled):
        t.array.fill(0)  # the common case, a CPU tensor outside the graph: no checks to make
        t._version[0] += 1
        return t
    return fill_(t, 0)


def copy_(t: Tensor, src: Tensor) -> Tensor:
    """Copy ``src``'s values into ``t`` (broadcasting ``src``; an explicit copy may cross devices)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): expected a Tensor source, got {type(src).__name__}")
    src_here = src.to(t.device)

    def write(a):
        a[...] = src_here.array

    def compute(old):
        return Overwrite("CopyBackwards")(old, src_here.to(t.dtype))

    return _inplace("copy_", t, src_here, compute, write, check_cast=False)


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
