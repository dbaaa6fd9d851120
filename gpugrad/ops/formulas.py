"""The namespace ``F`` that a backward formula ``backward(self, gy, F)`` is written against.

One formula serves both kinds of number (see ``autograd/node.py``):

* ``ArrayMath(xp)`` when nothing is recorded (``create_graph=False``): raw
  NumPy/CuPy arrays, the array module's functions, no tensors made at all;
* ``TENSOR_MATH`` when ``create_graph=True``: tensors and gpugrad's
  differentiable ops, so the gradient can be differentiated again.

Operators (``gy * y``, ``-gy``, ``a @ b``, ``y > 0``) mean the same on both and
need no namespace; everything else goes through ``F`` with one signature.

Example:
    >>> def backward(self, gy, F):            # tanh
    ...     y = self.saved_result(F)
    ...     return gy * (1.0 - y * y)
    >>> def backward(self, gy, F):            # sin
    ...     (x,) = self.saved_values(F)
    ...     return gy * F.cos(x)
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

_FLOAT64 = np.dtype(np.float64)

from . import elementwise as _ew
from . import shape as _shape


class ArrayMath:
    """``F`` on raw arrays of the array module ``xp`` (one instance per module, see :func:`array_math`)."""

    on_arrays = True

    def __init__(self, xp):
        self.xp = xp
        self.exp, self.log = xp.exp, xp.log
        self.sin, self.cos, self.tanh, self.sign = xp.sin, xp.cos, xp.tanh, xp.sign
        self.where = xp.where
        self.array_type = getattr(xp, "ndarray", None)  # a tracer's stand-in may have none: no dot then

    def erf(self, x):
        return _ew.erf_array(self.xp, x)

    @staticmethod
    def sum(x, axes=None, keepdim=False):
        return x.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    def expand(self, x, shape):
        if x.ndim == 0 and self.xp is np:  # a full sum's or mean's gradient: a filled array costs 1/4 of a broadcast
            out = np.empty(shape, x.dtype)
            out.fill(x)
            return out
        return self.xp.broadcast_to(x, shape)

    @staticmethod
    def permute(x, axes):
        return x.transpose(axes)

    @staticmethod
    def swap_last(x):
        """The last two axes swapped (``x.mT``)."""
        return x.swapaxes(-1, -2)

    def unsqueeze(self, x, axis):
        return self.xp.expand_dims(x, axis)

    def squeeze(self, x, axis):
        return self.xp.squeeze(x, axis)

    @staticmethod
    def constant(like, array):
        """An array computed from values (masks, weights): as it is here; a constant tensor in TENSOR_MATH."""
        return array

    @staticmethod
    def raw(x):
        """The raw array of ``x`` (to compute a mask from values): ``x`` itself here."""
        return x

    sum_to = staticmethod(_shape.sum_array_to)

    def product_to(self, gy, other, shape):
        """``gy * other`` for an input of ``shape`` (a product's gradient; the engine sums it down to ``shape``).

        A float64 product that a 0-d input broadcast over (``theta[0] * x``) is summed right here as one
        BLAS dot: one pass and no temporary, instead of a full product and then NumPy's sum (float64
        only: BLAS accumulates float32 less accurately than NumPy's pairwise sum).
        """
        if shape == () and other.__class__ is self.array_type and other.dtype == _FLOAT64 and other.shape == gy.shape:
            return self.xp.vdot(gy, other)
        return gy * other


class _TensorMath:
    """``F`` on tensors: gpugrad's differentiable ops, for ``create_graph=True``."""

    on_arrays = False
    exp, log = staticmethod(_ew.exp), staticmethod(_ew.log)
    sin, cos, tanh = staticmethod(_ew.sin), staticmethod(_ew.cos), staticmethod(_ew.tanh)
    sign, where, erf = staticmethod(_ew.sign), staticmethod(_ew.where), staticmethod(_ew.erf)
    sum_to = staticmethod(_shape.sum_to)

    @staticmethod
    def sum(x, axes=None, keepdim=False):
        from .reduction import sum  # reduction builds on this module's neighbours

        return sum(x, dim=axes, keepdim=keepdim)

    @staticmethod
    def reshape(x, shape):
        return _shape.reshape(x, *shape)

    @staticmethod
    def expand(x, shape):
        return _shape.expand(x, *shape)

    @staticmethod
    def permute(x, axes):
        return _shape.permute(x, *axes)

    @staticmethod
    def swap_last(x):
        return _shape.transpose(x, -1, -2)

    unsqueeze, squeeze = staticmethod(_shape.unsqueeze), staticmethod(_shape.squeeze)

    @staticmethod
    def product_to(gy, other, shape):
        return gy * other  # recorded: the engine's sum_to is differentiable

    @staticmethod
    def constant(like, array):
        return _ew._const(like, array)

    @staticmethod
    def raw(x):
        return getattr(x, "array", x)  # a Python number saved as an input stays one


TENSOR_MATH = _TensorMath()
_ARRAY_MATH = {}


def array_math(xp) -> ArrayMath:
    """The ``ArrayMath`` of the array module ``xp``, made once (NumPy, CuPy, or a tracer's recording module)."""
    math = _ARRAY_MATH.get(xp)
    if math is None:
        math = ArrayMath(xp)
        if isinstance(xp, ModuleType):  # not a tracer's stand-in: those come and go with each trace
            _ARRAY_MATH[xp] = math
    return math
