"""The op set, grouped by kind, and the Tensor methods and operators that call it."""

from __future__ import annotations

from ..device import on_own_device as _on_own_device
from ..tensor import Tensor
from . import elementwise, inplace, linalg, reduction, shape
from .keywords import torch_function as _torch_function, torch_method as _torch_method
from . import composite, contraction, division, indexing, inplace_math, manipulation, norms, scan, sorting
from . import combining, logic, more_math, rearranging, rounding, selection, tensor_methods
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
from .composite import addcdiv, addcmul, clamp_max, clamp_min, lerp
from .contraction import einsum, outer
from .division import floor_divide, fmod, remainder
from .indexing import gather, masked_fill, scatter, scatter_add
from .inplace_math import (
    abs_, addcdiv_, addcmul_, clamp_max_, clamp_min_, cos_, exp_, floor_divide_, fmod_, lerp_, log1p_, log_,
    masked_fill_, neg_, normal_, pow_, relu_, remainder_, rsqrt_, scatter_, scatter_add_, sigmoid_, sign_, sin_, sqrt_,
    square_, tan_, tanh_, tril_, triu_, uniform_,
)
from .manipulation import diag, flip, repeat, tril, triu
from .norms import norm
from .scan import cumprod, cumsum
from .sorting import argsort, sort, topk
from .combining import addmm, cdist, concat, cross, hstack, kron, meshgrid, mv, row_stack, tensordot, vstack
from .more_math import acos, arccos, arcsin, arctan, asin, atan, cosh, expm1, log2, log10, sinh
from .logic import count_nonzero, equal, isclose, isinf, logical_and, logical_or, logical_xor, nansum
from .rearranging import (
    atleast_1d, atleast_2d, atleast_3d, broadcast_tensors, column_stack, dstack, moveaxis, movedim, nan_to_num, nanmean,
    swapaxes, swapdims, tile,
)
from .rounding import arctan2, atan2, ceil, fix, floor, frac, reciprocal, round, trunc
from .selection import argwhere, bincount, diff, index_select, masked_select, nonzero, roll, searchsorted, unique
from .tensor_methods import is_floating_point, is_tensor, numel

clip = clamp


def _where_method(self, condition, other):
    """``x.where(condition, other)``: ``self`` where ``condition`` is true, else ``other``."""
    return where(condition, self, other)


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
    "neg_": neg_, "abs_": abs_, "exp_": exp_, "log_": log_, "log1p_": log1p_, "sqrt_": sqrt_, "rsqrt_": rsqrt_,
    "sin_": sin_, "cos_": cos_, "tan_": tan_, "tanh_": tanh_, "sigmoid_": sigmoid_, "relu_": relu_,
    "square_": square_, "sign_": sign_, "pow_": pow_, "clip_": clamp_, "clamp_min_": clamp_min_,
    "clamp_max_": clamp_max_, "floor_divide_": floor_divide_, "remainder_": remainder_, "fmod_": fmod_,
    "tril_": tril_, "triu_": triu_, "scatter_": scatter_, "scatter_add_": scatter_add_,
    "masked_fill_": masked_fill_, "normal_": normal_, "uniform_": uniform_, "addcmul_": addcmul_,
    "addcdiv_": addcdiv_, "lerp_": lerp_, "addcmul": addcmul, "addcdiv": addcdiv, "lerp": lerp,
    "clamp_min": clamp_min, "clamp_max": clamp_max,
    # sorting, scans, indexing, rearranging, products, norms, integer division
    "sort": sort, "argsort": argsort, "topk": topk, "cumsum": cumsum, "cumprod": cumprod, "gather": gather,
    "scatter": scatter, "scatter_add": scatter_add, "masked_fill": masked_fill, "repeat": repeat, "flip": flip,
    "diag": diag, "tril": tril, "triu": triu, "outer": outer, "ger": outer, "norm": norm,
    "floor_divide": floor_divide, "remainder": remainder, "fmod": fmod,
    # rounding, logic, selection, products and joins (issue 12)
    "round": round, "floor": floor, "ceil": ceil, "trunc": trunc, "fix": fix, "frac": frac,
    "reciprocal": reciprocal, "atan2": atan2, "arctan2": atan2, "isinf": isinf, "isclose": isclose,
    "equal": equal, "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "count_nonzero": count_nonzero, "nansum": nansum, "where": _where_method,
    "nonzero": nonzero, "argwhere": argwhere, "masked_select": masked_select, "index_select": index_select,
    "unique": unique, "bincount": bincount, "roll": roll, "diff": diff, "addmm": addmm, "mv": mv,
    "cross": cross, "tensordot": tensordot, "kron": kron, "expm1": expm1, "log2": log2, "log10": log10,
    "sinh": sinh, "cosh": cosh, "asin": asin, "arcsin": asin, "acos": acos, "arccos": acos, "atan": atan,
    "arctan": atan, "movedim": movedim, "moveaxis": movedim, "swapaxes": swapaxes, "swapdims": swapaxes,
    "tile": tile, "nan_to_num": nan_to_num, "nanmean": nanmean,
    **tensor_methods.METHODS,
    # operators
    # (the fast operators skip promotion when nothing needs it; + and * commute, so number + t is t + number)
    "__add__": elementwise._add_operator, "__radd__": elementwise._add_operator,
    "__sub__": elementwise._sub_operator, "__rsub__": rsub,
    "__mul__": elementwise._mul_operator, "__rmul__": elementwise._mul_operator,
    "__truediv__": elementwise._div_operator, "__rtruediv__": _reflect(div),
    "__pow__": pow, "__rpow__": _reflect(pow), "__matmul__": matmul, "__rmatmul__": _reflect(matmul),
    "__neg__": neg, "__abs__": abs, "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt,
    "__ge__": ge, "__getitem__": getitem, "__setitem__": setitem, "__invert__": bitwise_not,
    "__iadd__": add_, "__isub__": sub_, "__imul__": mul_, "__itruediv__": div_,
    "__floordiv__": floor_divide, "__rfloordiv__": _reflect(floor_divide), "__mod__": remainder,
    "__rmod__": _reflect(remainder), "__ifloordiv__": floor_divide_, "__imod__": remainder_,
}

# Arithmetic operators reach a Function at once, and Function.__call__ enters the operands' device;
# every other op may call the array module directly, so it runs with its first tensor's device current
# (CuPy allocates on its current device, whatever the tensor says: the device guard PyTorch has too).
_OPERATORS_THROUGH_A_FUNCTION = {
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
    "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__abs__",
    "__getitem__",  # enters the device itself where it makes index arrays
}
for _name, _fn in _METHODS.items():
    if _name.startswith("__"):  # operators take no keywords: the hottest path, wrapped only where needed
        setattr(Tensor, _name, _fn if _name in _OPERATORS_THROUGH_A_FUNCTION else _on_own_device(_fn))
    else:
        setattr(Tensor, _name, _torch_method(_fn, on_device=True))

Tensor.T = property(shape.T, doc="All dimensions reversed.")
Tensor.mT = property(shape.mT, doc="The last two dimensions swapped.")
Tensor.nbytes = property(lambda self: int(self.array.nbytes), doc="Bytes the elements take (numel * itemsize).")
Tensor.itemsize = property(lambda self: self.array.dtype.itemsize, doc="Bytes one element takes.")
Tensor.__hash__ = object.__hash__  # defining __eq__ above would otherwise leave Tensor unhashable

# what ``gg.<name>`` exposes: the op functions, not the modules or ArrayFunction classes
__all__ = sorted(
    name for name, value in dict(globals()).items()
    if not name.startswith("_") and callable(value) and not isinstance(value, type)
    and getattr(value, "__module__", "").startswith("gpugrad.ops")
)
# PyTorch's keywords (input=, other=, out=, axis=, ...) on every gg.<name>, added here once for all ops
for _name in __all__:
    globals()[_name] = _torch_function(globals()[_name], on_device=True)
