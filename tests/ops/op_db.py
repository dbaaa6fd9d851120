"""The op set as data: every op, its NumPy reference, its inputs (see ``opinfo.py``).

Ops are written as ``lambda lib, *tensors, **kwargs`` so the same line runs
on gpugrad (``lib`` is ``gg``) and on torch for the parity checks. Shapes
cover broadcasting, 0-d, empty and size-1 inputs; domains keep inputs where
the op is smooth (positive for log/sqrt, away from 0 for abs/relu/div).
"""

from __future__ import annotations

import math

import numpy as np

import gpugrad as gg
from opinfo import OpInfo, Sample, booleans, fixed, integers, nonzero, uniform

POSITIVE = uniform(0.5, 2.0)
NONZERO = nonzero()

UNARY = tuple(Sample((s,)) for s in [(), (0,), (1,), (3,), (2, 3), (4, 1, 3)])
BINARY = tuple(Sample(s) for s in [
    ((2, 3), (2, 3)),
    ((4, 1, 3), (2, 3)),  # both sides broadcast
    ((3,), ()),           # a 0-d tensor operand
    ((1,), (3,)),
    ((0,), (1,)),         # empty
])


def _axis(x, dim):
    """``dim`` as NumPy's ``axis``: a tuple for lists, None for a 0-d array (PyTorch accepts dim 0 there)."""
    if x.ndim == 0:
        return None
    return tuple(dim) if isinstance(dim, list) else dim


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _index(lib, index):
    """An index with its NumPy arrays turned into ``lib`` tensors (ints, slices, None, ... stay)."""
    def convert(item):
        return lib.tensor(item) if isinstance(item, np.ndarray) else item

    return tuple(convert(i) for i in index) if isinstance(index, tuple) else convert(index)


def _sections(n, split_size_or_sections):
    if isinstance(split_size_or_sections, int):
        return list(range(split_size_or_sections, n, split_size_or_sections))
    return list(np.cumsum(split_size_or_sections)[:-1])


def _softmax_ref(x, dim):
    e = np.exp(x - x.max(axis=_axis(x, dim), keepdims=True))
    return e / e.sum(axis=_axis(x, dim), keepdims=True)


def _softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(np.minimum(beta * x, threshold))) / beta)


def _gelu_ref(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _extreme_ref(reduce, arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return reduce(x)
        return reduce(x, axis=dim, keepdims=keepdim), arg(x, axis=dim, keepdims=keepdim)

    return ref


def _setitem(lib, x, v, index):
    y = x * 1  # a non-leaf: in place on a leaf that requires grad is an error
    y[_index(lib, index)] = v
    return y


def _setitem_ref(x, v, index):
    y = x.copy()
    y[index] = v
    return y


def _setitem_scalar(lib, x, index, value):
    y = x * 1
    y[_index(lib, index)] = value
    return y


def _setitem_scalar_ref(x, index, value):
    y = x.copy()
    y[index] = value
    return y


# ============================================================== elementwise
ARITHMETIC = [
    OpInfo("add", lambda lib, a, b: a + b, np.add, BINARY),
    OpInfo("sub", lambda lib, a, b: a - b, np.subtract, BINARY),
    OpInfo("mul", lambda lib, a, b: a * b, np.multiply, BINARY),
    OpInfo("div", lambda lib, a, b: a / b, np.divide, BINARY, domain=(uniform(-2, 2), NONZERO)),
    OpInfo("add_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b, BINARY[:2]),
    OpInfo("sub_alpha", lambda lib, a, b: lib.sub(a, b, alpha=-0.5), lambda a, b: a + 0.5 * b, BINARY[:2]),
    OpInfo("add_scalar", lambda lib, x: x + 2.5, lambda x: x + 2.5, UNARY),
    OpInfo("radd_scalar", lambda lib, x: 2 + x, lambda x: 2 + x, UNARY[2:4]),
    OpInfo("rsub_scalar", lambda lib, x: 2.5 - x, lambda x: 2.5 - x, UNARY[2:]),
    OpInfo("rmul_scalar", lambda lib, x: -3 * x, lambda x: -3 * x, UNARY[2:4]),
    OpInfo("div_scalar", lambda lib, x: x / 4, lambda x: x / 4, UNARY[2:4]),
    OpInfo("rdiv_scalar", lambda lib, x: 2.5 / x, lambda x: 2.5 / x, UNARY, domain=NONZERO),
    OpInfo("neg", lambda lib, x: -x, np.negative, UNARY),
    # tensor ** scalar, for several kinds of exponent
    OpInfo("pow_scalar_2", lambda lib, x: x**2, lambda x: x**2, UNARY),
    OpInfo("pow_scalar_3.0", lambda lib, x: x**3.0, lambda x: x**3.0, UNARY[2:]),
    OpInfo("pow_scalar_0", lambda lib, x: x**0, lambda x: x**0, UNARY[3:5]),
    OpInfo("pow_scalar_0.5", lambda lib, x: x**0.5, np.sqrt, UNARY, domain=POSITIVE),
    OpInfo("pow_scalar_-1.5", lambda lib, x: x**-1.5, lambda x: x**-1.5, UNARY[2:], domain=POSITIVE),
    # tensor ** tensor: a positive base, so the gradient wrt the exponent (log(base)) is defined
    OpInfo("pow_tensor", lambda lib, a, b: a**b, np.power, BINARY, domain=(POSITIVE, uniform(-2, 2))),
    # scalar ** tensor
    OpInfo("rpow_scalar", lambda lib, x: 2.5**x, lambda x: 2.5**x, UNARY),
    OpInfo("rpow_scalar_int", lambda lib, x: 3**x, lambda x: 3.0**x, UNARY[3:5]),
]

UNARY_MATH = [
    OpInfo("abs", lambda lib, x: x.abs(), np.abs, UNARY, domain=NONZERO),
    OpInfo("exp", lambda lib, x: x.exp(), np.exp, UNARY),
    OpInfo("log", lambda lib, x: x.log(), np.log, UNARY, domain=POSITIVE),
    OpInfo("log1p", lambda lib, x: x.log1p(), np.log1p, UNARY, domain=uniform(-0.5, 2.0)),
    OpInfo("sqrt", lambda lib, x: x.sqrt(), np.sqrt, UNARY, domain=POSITIVE),
    OpInfo("sin", lambda lib, x: x.sin(), np.sin, UNARY),
    OpInfo("cos", lambda lib, x: x.cos(), np.cos, UNARY),
    OpInfo("tan", lambda lib, x: x.tan(), np.tan, UNARY, domain=uniform(-1.2, 1.2)),
    OpInfo("tanh", lambda lib, x: x.tanh(), np.tanh, UNARY),
    OpInfo("sigmoid", lambda lib, x: lib.sigmoid(x), lambda x: 1 / (1 + np.exp(-x)), UNARY),
    OpInfo("sigmoid_large", lambda lib, x: lib.sigmoid(x), lambda x: 1 / (1 + np.exp(-x)),
           (Sample(((4,),), domains=(fixed([-60.0, -30.0, 30.0, 60.0]),)),)),
]

ACTIVATIONS = [
    OpInfo("relu", lambda lib, x: lib.relu(x), lambda x: np.maximum(x, 0), UNARY, domain=NONZERO),
    OpInfo("leaky_relu", lambda lib, x, **kw: lib.leaky_relu(x, **kw), lambda x, negative_slope=0.01:
           np.where(x > 0, x, x * negative_slope),
           UNARY[3:] + (Sample(((2, 3),), {"negative_slope": 0.2}),), domain=NONZERO),
    OpInfo("gelu", lambda lib, x, **kw: lib.gelu(x, **kw), _gelu_ref,
           UNARY[2:] + (Sample(((2, 3),), {"approximate": "none"}),)),
    OpInfo("gelu_tanh", lambda lib, x: lib.gelu(x, approximate="tanh"), lambda x: _gelu_ref(x, "tanh"), UNARY[2:]),
    OpInfo("softplus", lambda lib, x, **kw: lib.softplus(x, **kw), _softplus_ref, UNARY[2:] + (
        Sample(((2, 3),), {"beta": 2.0}),
        Sample(((2, 3),), {"beta": 2.0, "threshold": 1.0}, name="linear_region", domains=(nonzero(0.7, 2.0),)),
    )),
]

CLAMP = [
    OpInfo("clamp_min", lambda lib, x: x.clamp(min=-0.5), lambda x: np.maximum(x, -0.5), UNARY),
    OpInfo("clamp_max", lambda lib, x: x.clamp(max=0.5), lambda x: np.minimum(x, 0.5), UNARY[2:]),
    OpInfo("clamp_both", lambda lib, x: lib.clamp(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), UNARY[2:]),
    OpInfo("clamp_tensor_both", lambda lib, x, lo, hi: lib.clamp(x, min=lo, max=hi),
           lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
           (
               Sample(((2, 3), (3,), (2, 1))),
               Sample(((4, 2, 3), (1, 3), (2, 1))),
               # PyTorch's backward cannot reduce to an x smaller than the bounds; ours can
               Sample(((3,), (2, 3), ()), name="bounds_larger_than_x", torch=False),
               Sample(((4, 1, 3), (1, 3), (2, 1)), name="all_broadcast", torch=False),
           ),
           domain=(uniform(-2, 2), uniform(-1.5, -0.1), uniform(0.1, 1.5))),
    OpInfo("clamp_tensor_min", lambda lib, x, lo: x.clamp(min=lo), np.maximum, BINARY[:4]),
    OpInfo("clamp_tensor_max", lambda lib, x, hi: x.clamp(max=hi), np.minimum, BINARY[:4]),
    OpInfo("clamp_tensor_min_scalar_max", lambda lib, x, lo: lib.clamp(x, min=lo, max=0.8),
           lambda x, lo: np.minimum(np.maximum(x, lo), 0.8), BINARY[:2], torch=False),  # torch: both or neither
]

SELECTION = [
    OpInfo("maximum", lambda lib, a, b: lib.maximum(a, b), np.maximum, BINARY),
    OpInfo("minimum", lambda lib, a, b: lib.minimum(a, b), np.minimum, BINARY),
    OpInfo("where", lambda lib, c, a, b: lib.where(c, a, b), np.where, (
        Sample(((2, 3), (2, 3), (2, 3))),
        Sample(((2, 3), (3,), (2, 1)), name="broadcast"),
        Sample(((4, 1, 1), (1, 3), ()), name="broadcast_condition"),
        Sample(((0,), (0,), (1,)), name="empty"),
    ), domain=(booleans(), uniform(-2, 2), uniform(-2, 2))),
    OpInfo("where_scalar", lambda lib, c, a: lib.where(c, a, 0.5), lambda c, a: np.where(c, a, 0.5),
           (Sample(((2, 3), (2, 3))), Sample(((2, 3), (3,)))), domain=(booleans(), uniform(-2, 2))),
]


def _comparison(name, fn, ref):
    return OpInfo(name, fn, ref, BINARY[:4] + (Sample(((3, 4), (3, 4)), name="ties"),),
                  domain=integers(-2, 3), grad=False, out_dtypes=(gg.bool,))


COMPARISONS = [
    _comparison("eq", lambda lib, a, b: a == b, np.equal),
    _comparison("ne", lambda lib, a, b: a != b, np.not_equal),
    _comparison("lt", lambda lib, a, b: a < b, np.less),
    _comparison("le", lambda lib, a, b: a <= b, np.less_equal),
    _comparison("gt", lambda lib, a, b: a > b, np.greater),
    _comparison("ge", lambda lib, a, b: a >= b, np.greater_equal),
    OpInfo("gt_scalar", lambda lib, x: x > 0.5, lambda x: x > 0.5, UNARY, grad=False, out_dtypes=(gg.bool,)),
]

# ============================================================== reductions
DIMS = (
    Sample(((2, 3, 4),)),
    Sample(((2, 3, 4),), {"dim": 1}),
    Sample(((2, 3, 4),), {"dim": -1, "keepdim": True}),
    Sample(((2, 3, 4),), {"dim": (0, 2)}),
    Sample(((2, 3, 4),), {"dim": (-1, 0), "keepdim": True}),
    Sample(((3,),), {"dim": 0}),
    Sample(((),), {"dim": 0}, name="scalar_dim0"),
)
ONE_DIM = (  # ops whose dim is a single int
    Sample(((2, 3, 4),), {"dim": 1}),
    Sample(((2, 3, 4),), {"dim": -1, "keepdim": True}),
    Sample(((2, 3, 4),), {"dim": 0, "keepdim": False}),
    Sample(((1, 3),), {"dim": 0}),
    Sample(((3,),), {"dim": 0, "keepdim": True}),
)

SOFTMAX_DIM = (
    Sample(((2, 3, 4),), {"dim": 1}),
    Sample(((2, 3, 4),), {"dim": -1}),
    Sample(((2, 3),), {"dim": 0}),
    Sample(((1, 3),), {"dim": 0}),
    Sample(((),), {"dim": 0}, name="scalar"),
)


def _sum_ref(x, dim=None, keepdim=False):
    return np.sum(x, axis=_axis(x, dim), keepdims=keepdim)


def _var_ref(x, dim=None, keepdim=False, correction=1, unbiased=None):
    ddof = {None: correction, True: 1, False: 0}[unbiased]
    return np.var(x, axis=_axis(x, dim), ddof=ddof, keepdims=keepdim)


VARIANCE = (
    Sample(((2, 3, 4),)),
    Sample(((2, 3, 4),), {"dim": 1}),
    Sample(((2, 3, 4),), {"dim": (0, 2), "keepdim": True}),
    Sample(((2, 3, 4),), {"dim": -1, "correction": 0}),
    Sample(((2, 3, 4),), {"dim": 1, "unbiased": False}),
    Sample(((2, 3, 4),), {"dim": 2, "correction": 2, "keepdim": True}),
    Sample(((5,),), {"unbiased": True}),
)

REDUCTIONS = [
    OpInfo("sum", lambda lib, x, **kw: x.sum(**kw), _sum_ref,
           DIMS + (Sample(((0,),), name="empty"), Sample(((2, 0),), {"dim": 1}, name="empty_dim"))),
    OpInfo("mean", lambda lib, x, **kw: x.mean(**kw), lambda x, dim=None, keepdim=False:
           np.mean(x, axis=_axis(x, dim), keepdims=keepdim), DIMS),
    OpInfo("var", lambda lib, x, **kw: x.var(**kw), _var_ref, VARIANCE),
    OpInfo("std", lambda lib, x, **kw: x.std(**kw), lambda x, **kw: np.sqrt(_var_ref(x, **kw)), VARIANCE),
    OpInfo("max_full", lambda lib, x: x.max(), np.max, UNARY[2:] + UNARY[:1]),
    OpInfo("min_full", lambda lib, x: x.min(), np.min, UNARY[2:] + UNARY[:1]),
    OpInfo("max_dim", lambda lib, x, **kw: x.max(**kw), _extreme_ref(np.max, np.argmax),
           ONE_DIM + (Sample(((),), {"dim": 0}, name="scalar_dim0"),), out_dtypes=(None, gg.int64)),
    OpInfo("min_dim", lambda lib, x, **kw: x.min(**kw), _extreme_ref(np.min, np.argmin), ONE_DIM,
           out_dtypes=(None, gg.int64)),
    OpInfo("amax", lambda lib, x, **kw: x.amax(**kw), lambda x, dim=(), keepdim=False:
           np.max(x, axis=None if dim == () else _axis(x, dim), keepdims=keepdim), DIMS[1:]),
    OpInfo("amin", lambda lib, x, **kw: x.amin(**kw), lambda x, dim=(), keepdim=False:
           np.min(x, axis=None if dim == () else _axis(x, dim), keepdims=keepdim), DIMS[1:]),
    OpInfo("argmax", lambda lib, x, **kw: x.argmax(**kw), lambda x, dim=None, keepdim=False:
           np.argmax(x, axis=dim, keepdims=keepdim), UNARY[2:] + ONE_DIM, grad=False, out_dtypes=(gg.int64,)),
    OpInfo("argmin", lambda lib, x, **kw: x.argmin(**kw), lambda x, dim=None, keepdim=False:
           np.argmin(x, axis=dim, keepdims=keepdim), UNARY[2:] + ONE_DIM, grad=False, out_dtypes=(gg.int64,)),
    OpInfo("logsumexp", lambda lib, x, **kw: x.logsumexp(**kw), lambda x, dim, keepdim=False:
           np.log(np.sum(np.exp(x), axis=_axis(x, dim), keepdims=keepdim)), DIMS[1:]),
    OpInfo("logsumexp_large", lambda lib, x: x.logsumexp(dim=0), lambda x: x.max() + np.log(np.exp(x - x.max()).sum()),
           (Sample(((3,),), domains=(fixed([1000.0, 999.0, -1000.0]),)),)),
    OpInfo("softmax", lambda lib, x, **kw: x.softmax(**kw), lambda x, dim: _softmax_ref(x, dim), SOFTMAX_DIM + (
        Sample(((3,),), {"dim": 0}, name="large", domains=(fixed([1000.0, 999.0, -1000.0]),)),
    )),
    OpInfo("log_softmax", lambda lib, x, **kw: x.log_softmax(**kw), lambda x, dim:
           np.log(_softmax_ref(x, dim)), SOFTMAX_DIM),
    OpInfo("prod", lambda lib, x, **kw: x.prod(**kw), lambda x, dim=None, keepdim=False:
           np.prod(x, axis=dim, keepdims=keepdim), (
               Sample(((2, 3),)),
               Sample(((2, 3, 4),), {"dim": 1}),
               Sample(((2, 3, 4),), {"dim": -1, "keepdim": True}),
               Sample(((0,),), name="empty"),
               Sample(((2, 3),), {"dim": 1}, name="one_zero_per_row",
                      domains=(fixed([[1.5, 0.0, -2.0], [0.0, 0.7, 1.2]]),)),
               Sample(((4,),), name="one_zero", domains=(fixed([1.5, -0.5, 0.0, 2.0]),)),
               Sample(((2, 3, 4),), {"dim": (0, 2)}, torch=False),
           ), domain=nonzero(0.5, 1.5)),
]

# ============================================================== linear algebra
MATMUL = [
    OpInfo("matmul", lambda lib, a, b: a @ b, np.matmul, (
        Sample(((3,), (3,)), name="vec@vec"),
        Sample(((3,), (3, 2)), name="vec@mat"),
        Sample(((2, 3), (3,)), name="mat@vec"),
        Sample(((2, 3), (3, 4)), name="mat@mat"),
        Sample(((2, 2, 3), (3, 4)), name="batch@mat"),
        Sample(((3,), (2, 3, 4)), name="vec@batch"),
        Sample(((2, 3, 4), (4,)), name="batch@vec"),
        Sample(((2, 1, 2, 3), (3, 3, 2)), name="broadcast_batches"),
        Sample(((1, 3), (3, 1)), name="outer_sizes_1"),
        Sample(((2, 0), (0, 3)), name="empty_inner"),
    ), forward_tol={gg.float32: (1e-5, 1e-5)}),
    OpInfo("mm", lambda lib, a, b: lib.mm(a, b), np.matmul, (Sample(((2, 3), (3, 4))),)),
]

# ============================================================== shape
SHAPE = [
    OpInfo("reshape", lambda lib, x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), (
        Sample(((2, 3, 4),), {"shape": (4, -1)}),
        Sample(((6,),), {"shape": (3, 1, 2)}),
        Sample(((),), {"shape": (1, 1)}),
        Sample(((0, 3),), {"shape": (3, 0)}),
    )),
    OpInfo("view", lambda lib, x: x.view(3, 2), lambda x: x.reshape(3, 2), (Sample(((2, 3),)),)),
    OpInfo("flatten", lambda lib, x, **kw: x.flatten(**kw),
           lambda x, start_dim=0, end_dim=-1: x.reshape(
               x.shape[:start_dim % x.ndim] + (-1,) + x.shape[end_dim % x.ndim + 1:]), (
               Sample(((2, 3, 4),)),
               Sample(((2, 3, 4),), {"start_dim": 1}),
               Sample(((2, 3, 4, 1),), {"start_dim": 0, "end_dim": -2}),
           )),
    OpInfo("transpose", lambda lib, x, d0, d1: x.transpose(d0, d1), lambda x, d0, d1: np.swapaxes(x, d0, d1), (
        Sample(((2, 3),), {"d0": 0, "d1": 1}),
        Sample(((2, 3, 4),), {"d0": 0, "d1": -1}),
        Sample(((3,),), {"d0": 0, "d1": -1}),
    )),
    OpInfo("permute", lambda lib, x, dims: x.permute(*dims), lambda x, dims: np.transpose(x, dims), (
        Sample(((2, 3, 4),), {"dims": (2, 0, 1)}),
        Sample(((2, 3, 4),), {"dims": (-1, -3, -2)}),
        Sample(((2, 3),), {"dims": (1, 0)}),
    )),
    OpInfo("squeeze", lambda lib, x, **kw: x.squeeze(**kw), lambda x, dim=None: np.squeeze(
        x, axis=dim if dim is None or x.shape[dim] == 1 else ()), (
        Sample(((2, 1, 3, 1),)),
        Sample(((2, 1, 3),), {"dim": 1}),
        Sample(((2, 1, 3),), {"dim": -1}, name="not_size_1"),
        Sample(((1,),)),
    )),
    OpInfo("unsqueeze", lambda lib, x, dim: x.unsqueeze(dim), lambda x, dim: np.expand_dims(x, dim), (
        Sample(((2, 3),), {"dim": 0}),
        Sample(((2, 3),), {"dim": -1}),
        Sample(((2, 3),), {"dim": 1}),
        Sample(((),), {"dim": 0}),
    )),
    OpInfo("expand", lambda lib, x, shape: x.expand(*shape),
           lambda x, shape: np.broadcast_to(x, tuple(
               x.shape[i - len(shape) + x.ndim] if s == -1 else s for i, s in enumerate(shape))), (
        Sample(((3, 1),), {"shape": (3, 4)}),
        Sample(((1, 3),), {"shape": (2, 4, -1)}),
        Sample(((),), {"shape": (2, 3)}),
    )),
    OpInfo("cat", lambda lib, *xs, dim: lib.cat(list(xs), dim=dim),
           lambda *xs, dim: np.concatenate(xs, axis=dim), (
               Sample(((2, 3), (1, 3)), {"dim": 0}),
               Sample(((2, 3), (2, 1), (2, 2)), {"dim": -1}),
               Sample(((2, 3),), {"dim": 1}),
               Sample(((0, 3), (2, 3)), {"dim": 0}),
           )),
    OpInfo("stack", lambda lib, *xs, dim: lib.stack(list(xs), dim=dim),
           lambda *xs, dim: np.stack(xs, axis=dim), (
               Sample(((2, 3), (2, 3)), {"dim": 0}),
               Sample(((2, 3), (2, 3), (2, 3)), {"dim": -1}),
               Sample(((3,), (3,)), {"dim": 1}),
           )),
    OpInfo("split", lambda lib, x, size, dim: x.split(size, dim=dim),
           lambda x, size, dim: tuple(np.split(x, _sections(x.shape[dim], size), axis=dim)), (
               Sample(((5, 2),), {"size": 2, "dim": 0}),
               Sample(((2, 6),), {"size": [1, 3, 2], "dim": -1}),
               Sample(((2, 3),), {"size": 3, "dim": 1}),
           )),
    OpInfo("chunk", lambda lib, x, chunks, dim: x.chunk(chunks, dim=dim),
           lambda x, chunks, dim: tuple(np.split(x, _sections(x.shape[dim], -(-x.shape[dim] // chunks)), axis=dim)), (
               Sample(((6, 2),), {"chunks": 3, "dim": 0}),
               Sample(((2, 5),), {"chunks": 2, "dim": -1}),
               Sample(((2, 6),), {"chunks": 4, "dim": 1}, name="fewer_than_asked"),
           )),
    OpInfo("narrow", lambda lib, x, dim, start, length: x.narrow(dim, start, length),
           lambda x, dim, start, length: np.take(x, range(start % x.shape[dim], start % x.shape[dim] + length),
                                                 axis=dim),
           (
               Sample(((4, 3),), {"dim": 0, "start": 1, "length": 2}),
               Sample(((4, 3),), {"dim": -1, "start": -2, "length": 2}),
               Sample(((4, 3),), {"dim": 1, "start": 0, "length": 0}),
           )),
    OpInfo("T", lambda lib, x: x.T, lambda x: x.T, (Sample(((2, 3),)), Sample(((3,),), torch=False),
                                                     Sample(((2, 3, 4),), torch=False))),
    OpInfo("mT", lambda lib, x: x.mT, lambda x: np.swapaxes(x, -1, -2), (Sample(((2, 3),)), Sample(((4, 2, 3),)))),
]

# ============================================================== indexing
_x = ((4, 3),)
INDEXING = [
    OpInfo("getitem", lambda lib, x, index: x[_index(lib, index)], lambda x, index: x[index], (
        Sample(_x, {"index": 1}, name="int"),
        Sample(_x, {"index": (-1, 2)}, name="negative_int"),
        Sample(_x, {"index": (slice(1, None), slice(None, None, 2))}, name="slices"),
        Sample(_x, {"index": (None, Ellipsis, 1)}, name="none_ellipsis"),
        Sample(((2, 3, 4),), {"index": (Ellipsis, slice(1, 3))}, name="ellipsis_slice"),
        Sample(_x, {"index": np.array([0, 2, 0, 0])}, name="int_array_repeated"),
        Sample(_x, {"index": (np.array([0, 1, 1]), np.array([2, 0, 2]))}, name="two_int_arrays_repeated"),
        Sample(_x, {"index": (slice(None), np.array([1, 1, 0]))}, name="slice_and_int_array"),
        Sample(_x, {"index": np.array([[0, 1], [3, 3]])}, name="2d_int_array"),
        Sample(_x, {"index": np.array([True, False, True, True])}, name="bool_rows"),
        Sample(_x, {"index": np.array([[True, False, True]] * 2 + [[False] * 3] * 2)}, name="bool_mask"),
        Sample(_x, {"index": (slice(None, None, -1), slice(None, None, -2))}, name="negative_steps", torch=False),
    )),
    OpInfo("setitem", _setitem, _setitem_ref, (
        Sample(((4, 3), (3,)), {"index": 1}, name="row"),
        Sample(((4, 3), (2, 1)), {"index": (slice(1, 3), slice(None))}, name="slice_broadcast"),
        Sample(((4, 3), (2, 3)), {"index": np.array([3, 0])}, name="int_array"),
        Sample(((4, 3), ()), {"index": (Ellipsis, 0)}, name="ellipsis_0d_value"),
    )),
    OpInfo("setitem_scalar", _setitem_scalar, _setitem_scalar_ref, (
        Sample(((4, 3),), {"index": np.array([True, False, True, False]), "value": 0.5}, name="bool_mask"),
        Sample(((4, 3),), {"index": (0, slice(None)), "value": -1.0}, name="row"),
    )),
]

# ============================================================== in place, through non-leaf tensors
INPLACE = [
    OpInfo("add_", lambda lib, x, y: (x * 1).add_(y), np.add, BINARY[:1] + (Sample(((2, 3), (3,))),)),
    OpInfo("add_alpha_", lambda lib, x, y: (x * 1).add_(y, alpha=-2), lambda x, y: x - 2 * y,
           (Sample(((2, 3), (2, 1))),)),
    OpInfo("add_scalar_", lambda lib, x: (x * 1).add_(2.5), lambda x: x + 2.5, (Sample(((2, 3),)),)),
    OpInfo("sub_", lambda lib, x, y: (x * 1).sub_(y), np.subtract, (Sample(((2, 3), (3,))),)),
    OpInfo("mul_", lambda lib, x, y: (x * 1).mul_(y), np.multiply, (Sample(((2, 3), (3,))), Sample(((3,), ())))),
    OpInfo("mul_scalar_", lambda lib, x: (x * 1).mul_(-1.5), lambda x: x * -1.5, (Sample(((2, 3),)),)),
    OpInfo("div_", lambda lib, x, y: (x * 1).div_(y), np.divide, (Sample(((2, 3), (3,))),),
           domain=(uniform(-2, 2), NONZERO)),
    OpInfo("zero_", lambda lib, x: (x * 1).zero_(), np.zeros_like, (Sample(((2, 3),)),)),
    OpInfo("fill_", lambda lib, x: (x * 1).fill_(1.5), lambda x: np.full_like(x, 1.5), (Sample(((2, 3),)),)),
    OpInfo("fill_tensor_", lambda lib, x, v: (x * 1).fill_(v), lambda x, v: np.broadcast_to(v, x.shape).copy(),
           (Sample(((2, 3), ())),)),
    OpInfo("copy_", lambda lib, x, y: (x * 1).copy_(y), lambda x, y: np.broadcast_to(y, x.shape).copy(),
           (Sample(((2, 3), (2, 3))), Sample(((2, 3), (3,))))),
    OpInfo("chain_", lambda lib, x, y: (x * 1).mul_(y).add_(x).div_(2.0).sin(),
           lambda x, y: np.sin((x * y + x) / 2), (Sample(((2, 3), (2, 3))),)),
]

OPS = ARITHMETIC + UNARY_MATH + ACTIVATIONS + CLAMP + SELECTION + COMPARISONS + REDUCTIONS + MATMUL + SHAPE \
    + INDEXING + INPLACE

_names = [op.name for op in OPS]
assert len(_names) == len(set(_names)), "op names must be unique: they are test ids"
