"""The op set, grouped by kind, and the Tensor methods and operators that call it."""

from __future__ import annotations

from ..tensor import Tensor
from . import elementwise, inplace, linalg, reduction, shape
from .elementwise import (
    abs, add, allclose, bitwise_not, clamp, cos, div, eq, erf, exp, ge, gelu, gt, isfinite, isnan, le, leaky_relu, log,
    log1p,
    logical_not, lt, maximum, minimum, mul, ne, neg, pow, relu, rsqrt, rsub, sigmoid, sign, sin, softplus, sqrt,
    square, sub, tan, tanh, where,
)
from .inplace import add_, clamp_, copy_, div_, fill_, mul_, setitem, sub_, zero_
from .linalg import dot, matmul, mm, bmm
from .reduction import (
    all, amax, amin, any, argmax, argmin, logsumexp, log_softmax, max, mean, min, prod, softmax, std, sum, var,
)
from .shape import (
    broadcast_to, cat, chunk, clone, concatenate, contiguous, expand, expand_as, flatten, getitem, narrow,
    permute, reshape, select, split, squeeze, stack, sum_to, t, transpose, unbind, unsqueeze, view, view_as,
)


def _reflect(op):
    """``other OP self`` for Python numbers on the left (``2 - t``)."""
    return lambda self, other: op(other, self)


_METHODS = {
    # arithmetic and math
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "neg": neg, "abs": abs, "exp": exp,
    "log": log, "log1p": log1p, "sqrt": sqrt, "rsqrt": rsqrt, "sin": sin, "cos": cos, "tan": tan,
    "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "erf": erf, "square": square, "clamp": clamp,
    "clip": clamp, "maximum": maximum, "minimum": minimum, "sign": sign, "isnan": isnan, "isfinite": isfinite,
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "logical_not": logical_not, "bitwise_not": bitwise_not,
    "softplus": softplus, "gelu": gelu, "leaky_relu": leaky_relu,
    # reductions
    "sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min, "amax": amax, "amin": amin,
    "argmax": argmax, "argmin": argmin, "logsumexp": logsumexp, "softmax": softmax,
    "log_softmax": log_softmax, "all": all, "any": any, "prod": prod,
    # linear algebra and shape
    "matmul": matmul, "dot": dot, "mm": mm, "bmm": bmm, "reshape": reshape, "view": view, "view_as": view_as,
    "flatten": flatten, "transpose": transpose, "permute": permute, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "split": split, "chunk": chunk,
    "narrow": narrow, "select": select, "unbind": unbind, "t": t, "contiguous": contiguous, "clone": clone,
    # in place
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "clamp_": clamp_, "fill_": fill_, "zero_": zero_,
    "copy_": copy_,
    # operators
    "__add__": elementwise._add_operator, "__radd__": _reflect(add), "__sub__": sub, "__rsub__": rsub,
    "__mul__": elementwise._mul_operator, "__rmul__": _reflect(mul), "__truediv__": div, "__rtruediv__": _reflect(div),
    "__pow__": pow, "__rpow__": _reflect(pow), "__matmul__": matmul, "__rmatmul__": _reflect(matmul),
    "__neg__": neg, "__abs__": abs, "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt,
    "__ge__": ge, "__getitem__": getitem, "__setitem__": setitem, "__invert__": bitwise_not,
    "__iadd__": add_, "__isub__": sub_, "__imul__": mul_, "__itruediv__": div_,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(shape.T, doc="All dimensions reversed.")
Tensor.mT = property(shape.mT, doc="The last two dimensions swapped.")
Tensor.__hash__ = object.__hash__  # defining __eq__ above would otherwise leave Tensor unhashable

# what ``gg.<name>`` exposes: the op functions, not the modules or Function classes
__all__ = sorted(
    name for name, value in dict(globals()).items()
    if not name.startswith("_") and callable(value) and not isinstance(value, type)
    and getattr(value, "__module__", "").startswith("gpugrad.ops")
)
