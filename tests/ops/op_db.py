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
from opinfo import DEFAULT_DOMAIN, OpInfo, Sample, booleans, fixed, integers, nonzero, uniform

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

# ============================================================== scans
def _scan_ref(fn):
    def ref(x, dim):
        return x.copy() if x.ndim == 0 else fn(x, axis=dim)

    return ref


SCAN_DIMS = (
    Sample(((2, 3, 4),), {"dim": 1}),
    Sample(((2, 3),), {"dim": -1}),
    Sample(((5,),), {"dim": 0}),
    Sample(((0,),), {"dim": 0}, name="empty"),
    Sample(((),), {"dim": 0}, name="scalar"),
)
# one zero per slice: double backward is exact there (two zeros in a slice are checked to first order)
ONE_ZERO_PER_ROW = fixed([[1.5, 0.0, 2.0, -1.0], [0.5, -2.0, 0.7, 0.0], [0.0, 1.2, -0.8, 1.5]])
SCANS = [
    OpInfo("cumsum", lambda lib, x, dim: x.cumsum(dim), _scan_ref(np.cumsum), SCAN_DIMS),
    OpInfo("cumprod", lambda lib, x, dim: lib.cumprod(x, dim), _scan_ref(np.cumprod), SCAN_DIMS + (
        Sample(((3, 4),), {"dim": 1}, name="one_zero_per_row", domains=(ONE_ZERO_PER_ROW,)),
        Sample(((3, 4),), {"dim": 0}, name="zeros_down_columns", domains=(ONE_ZERO_PER_ROW,)),
    ), domain=nonzero(0.5, 1.5)),
    OpInfo("cumprod_two_zeros", lambda lib, x, dim: x.cumprod(dim), _scan_ref(np.cumprod), (
        Sample(((2, 4),), {"dim": 1}, domains=(fixed([[0.0, 2.0, 0.0, 3.0], [1.5, 0.0, 0.0, -1.0]]),)),
        Sample(((3,),), {"dim": 0}, name="zero_last", domains=(fixed([2.0, 3.0, 0.0]),)),
    ), gradgrad=False),
]


# ============================================================== sorting
def _sort_ref(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        return x.copy(), np.array(0)
    indices = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, indices, axis=dim), indices


def _topk_ref(x, k, dim=-1, largest=True):
    values, indices = _sort_ref(x, dim, descending=largest)
    keep = (slice(None),) * (dim % x.ndim) + (slice(0, k),)
    return values[keep], indices[keep]


SORTING = [
    OpInfo("sort", lambda lib, x, **kw: lib.sort(x, **kw), _sort_ref, (
        Sample(((3, 4),)),
        Sample(((3, 4),), {"dim": 0}),
        Sample(((2, 3, 4),), {"dim": 1, "descending": True}),
        Sample(((),), {"dim": 0}, name="scalar"),
        Sample(((0,),), name="empty"),
    ), out_dtypes=(None, gg.int64)),
    # equal elements keep their order (torch only promises that with stable=True); not differentiable at ties
    OpInfo("sort_ties", lambda lib, x, **kw: lib.sort(x, **kw), _sort_ref, (
        Sample(((8,),), {"stable": True}, name="ascending"),
        Sample(((8,),), {"descending": True, "stable": True}, name="descending"),
        Sample(((2, 6),), {"dim": 0, "descending": True, "stable": True}, name="dim0"),
    ), domain=integers(0, 3), grad=False, out_dtypes=(None, gg.int64)),
    OpInfo("argsort", lambda lib, x, **kw: x.argsort(**kw), lambda x, **kw: _sort_ref(x, **kw)[1], (
        Sample(((3, 4),)),
        Sample(((3, 4),), {"dim": 0, "descending": True}),
        Sample(((8,),), {"stable": True}, name="ties", domains=(integers(0, 3),)),
        Sample(((8,),), {"descending": True, "stable": True}, name="ties_descending", domains=(integers(0, 3),)),
    ), grad=False, out_dtypes=(gg.int64,)),
    OpInfo("topk", lambda lib, x, k, **kw: lib.topk(x, k, **kw), _topk_ref, (
        Sample(((5,),), {"k": 2}),
        Sample(((3, 4),), {"k": 3, "dim": 0}),
        Sample(((3, 4),), {"k": 2, "largest": False}),
        Sample(((2, 3, 4),), {"k": 1, "dim": 1}),
        Sample(((3, 4),), {"k": 0}, name="k0"),
    ), out_dtypes=(None, gg.int64)),
]


# ============================================================== gather and scatter
def indices(high: int):
    """int64 positions in ``[0, high)`` (repeats on purpose)."""
    return lambda rng, shape: rng.integers(0, high, shape)


def _gather_ref(x, index, dim):
    block = x[tuple(slice(0, n) if d != dim % x.ndim else slice(None) for d, n in enumerate(index.shape))]
    return np.take_along_axis(block, index, axis=dim)


def _scatter_ref(x, index, src, dim, add=False):
    out = x.copy()
    for position in np.ndindex(*index.shape):
        target = list(position)
        target[dim % x.ndim] = index[position]
        value = src[position] if isinstance(src, np.ndarray) else src
        out[tuple(target)] = out[tuple(target)] + value if add else value
    return out


# each column's targets distinct along dim 0, so which write wins is not in question
DISTINCT_ROWS = fixed([[0, 1, 2, 0], [2, 0, 1, 1]])
GATHER_SCATTER = [
    OpInfo("gather", lambda lib, x, index, dim: lib.gather(x, dim, index), _gather_ref, (
        Sample(((3, 4), (3, 4)), {"dim": 1}, domains=(None, indices(4))),
        Sample(((3, 4), (2, 4)), {"dim": 0}, domains=(None, indices(3))),
        Sample(((4, 5), (2, 3)), {"dim": -1}, name="index_smaller", domains=(None, indices(5))),
        Sample(((3,), (6,)), {"dim": 0}, domains=(None, indices(3))),
        Sample(((2, 3, 4), (2, 2, 4)), {"dim": 1}, domains=(None, indices(3))),
    )),
    OpInfo("scatter", lambda lib, x, index, src, dim: x.scatter(dim, index, src), _scatter_ref, (
        Sample(((3, 4), (2, 4), (2, 4)), {"dim": 0}, domains=(None, DISTINCT_ROWS, None)),
        # PyTorch's backward fails when src is larger than index ("invalid gradient"); ours pads with zeros
        Sample(((3, 4), (2, 4), (3, 5)), {"dim": 0}, name="src_larger", domains=(None, DISTINCT_ROWS, None),
               torch=False),
        Sample(((4, 3), (4, 2), (4, 2)), {"dim": 1}, name="along_rows",
               domains=(None, fixed([[0, 2], [1, 0], [2, 1], [1, 2]]), None)),
    )),
    OpInfo("scatter_value", lambda lib, x, index, dim: x.scatter(dim, index, 1.5),
           lambda x, index, dim: _scatter_ref(x, index, 1.5, dim), (
               Sample(((3, 4), (2, 4)), {"dim": 0}, domains=(None, indices(3))),
           )),
    OpInfo("scatter_add", lambda lib, x, index, src, dim: lib.scatter_add(x, dim, index, src),
           lambda x, index, src, dim: _scatter_ref(x, index, src, dim, add=True), (
               Sample(((3, 4), (5, 4), (5, 4)), {"dim": 0}, name="repeats", domains=(None, indices(3), None)),
               Sample(((3, 4), (3, 2), (3, 3)), {"dim": 1}, name="src_larger", domains=(None, indices(4), None),
                      torch=False),  # as for scatter: PyTorch's backward fails here
               Sample(((4,), (6,), (6,)), {"dim": 0}, domains=(None, indices(4), None)),
           )),
    OpInfo("masked_fill", lambda lib, x, mask: x.masked_fill(mask, 0.5), lambda x, mask: np.where(mask, 0.5, x), (
        Sample(((2, 3), (2, 3))),
        Sample(((2, 3), (3,)), name="broadcast_mask"),
    ), domain=(uniform(-2, 2), booleans())),
]


# ============================================================== rearranging and products
def _diag_ref(x, diagonal=0):
    return np.diag(x, diagonal).copy()


MANIPULATION = [
    OpInfo("flip", lambda lib, x, dims: x.flip(dims), lambda x, dims: np.flip(x, dims), (
        Sample(((2, 3, 4),), {"dims": (0, 2)}),
        Sample(((3,),), {"dims": (0,)}),
        Sample(((2, 3),), {"dims": (-1,)}),
        Sample(((2, 3),), {"dims": ()}, name="no_dims"),
    )),
    OpInfo("repeat", lambda lib, x, sizes: x.repeat(*sizes), lambda x, sizes: np.tile(x, sizes), (
        Sample(((2, 3),), {"sizes": (2, 1)}),
        Sample(((3,),), {"sizes": (2, 2)}, name="new_leading_dim"),
        Sample(((2, 1, 3),), {"sizes": (1, 2, 1, 2)}),
        Sample(((),), {"sizes": (3,)}, name="scalar"),
        Sample(((2, 3),), {"sizes": (0, 1)}, name="zero_times"),
    )),
    OpInfo("diag", lambda lib, x, **kw: lib.diag(x, **kw), _diag_ref, (
        Sample(((3,),)),
        Sample(((3,),), {"diagonal": 1}),
        Sample(((3,),), {"diagonal": -2}),
        Sample(((3, 4),)),
        Sample(((3, 4),), {"diagonal": 1}),
        Sample(((4, 3),), {"diagonal": -1}),
        Sample(((2, 3),), {"diagonal": 5}, name="beyond"),
    )),
    OpInfo("tril", lambda lib, x, **kw: x.tril(**kw), lambda x, diagonal=0: np.tril(x, diagonal), (
        Sample(((3, 4),)),
        Sample(((2, 3, 4),), {"diagonal": 1}),
        Sample(((4, 3),), {"diagonal": -1}),
    )),
    OpInfo("triu", lambda lib, x, **kw: lib.triu(x, **kw), lambda x, diagonal=0: np.triu(x, diagonal), (
        Sample(((3, 4),)),
        Sample(((2, 3, 4),), {"diagonal": -1}),
        Sample(((4, 3),), {"diagonal": 2}),
    )),
    OpInfo("outer", lambda lib, a, b: lib.outer(a, b), np.outer, (
        Sample(((3,), (4,))),
        Sample(((1,), (2,))),
        Sample(((0,), (2,)), name="empty"),
    )),
]


def _einsum(equation, *shapes, name=None):
    return Sample(tuple(shapes), {"equation": equation}, name=name or equation)


EINSUM = [
    OpInfo("einsum", lambda lib, *xs, equation: lib.einsum(equation, *xs),
           lambda *xs, equation: np.asarray(np.einsum(equation, *xs)), (
               _einsum("ij,jk->ik", (2, 3), (3, 4), name="matmul"),
               _einsum("ij,jk", (2, 3), (3, 4), name="implicit_output"),
               _einsum("bij,bjk->bik", (2, 2, 3), (2, 3, 4), name="batched"),
               _einsum("ii->i", (3, 3), name="diagonal"),
               _einsum("ii", (3, 3), name="trace"),
               _einsum("iij->j", (3, 3, 2), name="partial_trace"),
               _einsum("ij->", (2, 3), name="sum_all"),
               _einsum("ij->ji", (2, 3), name="transpose"),
               _einsum("i,j->ij", (3,), (4,), name="outer"),
               _einsum("ij,ij->i", (2, 3), (2, 3), name="rowwise_dot"),
               _einsum("...j,jk->...k", (2, 1, 3), (3, 4), name="ellipsis"),
               _einsum("i...->...", (2, 3, 4), name="ellipsis_output"),
               _einsum("i,ij,jk->ik", (3,), (3, 3), (3, 4), name="three_operands"),
           )),
]


# ============================================================== integer-style division
AWAY_FROM_ZERO = nonzero(0.5, 2.0)
DIVISION = [
    OpInfo("remainder", lambda lib, a, b: a % b, np.remainder, BINARY[:4], domain=(uniform(-5, 5), AWAY_FROM_ZERO)),
    OpInfo("remainder_scalar", lambda lib, x: x % 1.5, lambda x: np.remainder(x, 1.5), UNARY[2:],
           domain=uniform(-5, 5)),
    OpInfo("rremainder_scalar", lambda lib, x: 2.5 % x, lambda x: np.remainder(2.5, x), UNARY[2:],
           domain=AWAY_FROM_ZERO, torch=False),  # torch: 2.5 % t is not defined for tensors
    OpInfo("fmod", lambda lib, a, b: lib.fmod(a, b), np.fmod, BINARY[:4], domain=(uniform(-5, 5), AWAY_FROM_ZERO)),
    OpInfo("fmod_scalar", lambda lib, x: x.fmod(-1.5), lambda x: np.fmod(x, -1.5), UNARY[2:], domain=uniform(-5, 5)),
    OpInfo("floor_divide", lambda lib, a, b: a // b, np.floor_divide, BINARY[:4],
           domain=(uniform(-5, 5), AWAY_FROM_ZERO), grad=False),
    OpInfo("floor_divide_scalar", lambda lib, x: x // -0.75, lambda x: np.floor_divide(x, -0.75), UNARY[2:],
           domain=uniform(-5, 5), grad=False),
    # div's rounding modes: piecewise constant, with zero gradients (not floor_divide's error), as in PyTorch
    OpInfo("div_floor", lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), np.floor_divide, BINARY[:4],
           domain=(uniform(-5, 5), AWAY_FROM_ZERO)),
    OpInfo("div_trunc", lambda lib, a, b: a.div(b, rounding_mode="trunc"), lambda a, b: np.trunc(a / b), BINARY[:4],
           domain=(uniform(-5, 5), AWAY_FROM_ZERO)),
]

COMPOSITE = [
    OpInfo("addcmul", lambda lib, x, a, b: lib.addcmul(x, a, b, value=-0.5), lambda x, a, b: x - 0.5 * a * b, (
        Sample(((2, 3), (2, 3), (2, 3))),
        Sample(((2, 3), (3,), (2, 1)), name="broadcast"),
    )),
    OpInfo("addcdiv", lambda lib, x, a, b: x.addcdiv(a, b, value=2), lambda x, a, b: x + 2 * a / b, (
        Sample(((2, 3), (2, 3), (2, 3))),
        Sample(((2, 3), (3,), (2, 1)), name="broadcast"),
    ), domain=(DEFAULT_DOMAIN, DEFAULT_DOMAIN, NONZERO)),
    OpInfo("lerp", lambda lib, x, end: lib.lerp(x, end, 0.3), lambda x, end: x + 0.3 * (end - x), BINARY[:2]),
    OpInfo("lerp_tensor_weight", lambda lib, x, end, w: x.lerp(end, w), lambda x, end, w: x + w * (end - x),
           (Sample(((2, 3), (2, 3), (2, 3))), Sample(((2, 3), (3,), (2, 1)), name="broadcast"))),
    OpInfo("clamp_min_method", lambda lib, x: x.clamp_min(-0.5), lambda x: np.maximum(x, -0.5), UNARY[2:]),
    OpInfo("clamp_max_method", lambda lib, x, hi: lib.clamp_max(x, hi), np.minimum, BINARY[:2]),
]


# ============================================================== norms
def _vector_norm_ref(x, ord=2, dim=None, keepdim=False):
    axis = tuple(dim) if isinstance(dim, (tuple, list)) else dim
    size = np.abs(x)
    if ord == math.inf:
        return np.max(size, axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return np.min(size, axis=axis, keepdims=keepdim)
    if ord == 0:
        return np.sum(size != 0, axis=axis, keepdims=keepdim).astype(np.float64)
    return np.sum(size ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)


def _matrix_norm_ref(x, ord="fro", dim=(-2, -1), keepdim=False):
    return np.asarray(np.linalg.norm(x, ord, axis=tuple(dim), keepdims=keepdim))


NORMS = [
    OpInfo("vector_norm", lambda lib, x, **kw: lib.linalg.vector_norm(x, **kw), _vector_norm_ref, (
        Sample(((3, 4),)),
        Sample(((3, 4),), {"ord": 1}),
        Sample(((3, 4),), {"ord": math.inf}),
        Sample(((3, 4),), {"ord": -math.inf, "dim": 1}),
        Sample(((3, 4),), {"ord": 3, "dim": 1}),
        Sample(((2, 3, 4),), {"ord": 0.5, "dim": (0, 2), "keepdim": True}),
        Sample(((3, 4),), {"ord": 0}),
        Sample(((5,),), {"ord": 2, "dim": -1, "keepdim": True}),
        Sample(((),), name="scalar"),
    ), domain=NONZERO),
    OpInfo("matrix_norm", lambda lib, x, **kw: lib.linalg.matrix_norm(x, **kw), _matrix_norm_ref, (
        Sample(((3, 4),)),
        Sample(((3, 4),), {"ord": 1}),
        Sample(((3, 4),), {"ord": -1}),
        Sample(((3, 4),), {"ord": math.inf}),
        Sample(((3, 4),), {"ord": -math.inf}),
        Sample(((2, 3, 4),), {"ord": 1, "dim": (0, 2), "keepdim": True}),
        Sample(((2, 3, 4),), {"ord": "fro", "dim": (2, 1)}),
    ), domain=NONZERO),
    # the spectral and nuclear norms: singular values, differentiated once
    OpInfo("matrix_norm_svd", lambda lib, x, **kw: lib.linalg.matrix_norm(x, **kw), _matrix_norm_ref, (
        Sample(((3, 4),), {"ord": "nuc"}),
        Sample(((3, 4),), {"ord": 2}),
        Sample(((4, 3),), {"ord": -2}),
        Sample(((2, 3, 4),), {"ord": "nuc", "dim": (2, 0), "keepdim": True}),
    ), gradgrad=False),
    OpInfo("linalg_norm", lambda lib, x, **kw: lib.linalg.norm(x, **kw), lambda x, ord=None, dim=None, keepdim=False:
           np.asarray(np.linalg.norm(x, ord, axis=dim, keepdims=keepdim)), (
               Sample(((3, 4),)),
               Sample(((3, 4),), {"ord": 1}),
               Sample(((5,),), {"ord": 3}),
               Sample(((3, 4),), {"dim": 0}),
               Sample(((2, 3, 4),), {"ord": math.inf, "dim": (1, 2)}),
           ), domain=NONZERO),
    OpInfo("norm", lambda lib, x, **kw: x.norm(**kw), lambda x, p=2, dim=None, keepdim=False:
           _vector_norm_ref(x, p, dim, keepdim), (
        Sample(((3, 4),)),
        Sample(((3, 4),), {"p": 1}),
        Sample(((3, 4),), {"dim": 1}),
        Sample(((2, 3, 4),), {"p": 3, "dim": (0, 2), "keepdim": True}),
        Sample(((3, 4),), {"p": math.inf, "dim": 0}),
    ), domain=NONZERO),
]


# ============================================================== in-place forms of the ops above and of math functions
def _inplace_unary(name, method, ref, domain=DEFAULT_DOMAIN):
    return OpInfo(name, lambda lib, x: getattr(x * 1, method)(), ref, (Sample(((2, 3),)), Sample(((),))),
                  domain=domain)


INPLACE_MATH = [
    _inplace_unary("neg_", "neg_", np.negative),
    _inplace_unary("abs_", "abs_", np.abs, NONZERO),
    _inplace_unary("exp_", "exp_", np.exp),
    _inplace_unary("log_", "log_", np.log, POSITIVE),
    _inplace_unary("log1p_", "log1p_", np.log1p, POSITIVE),
    _inplace_unary("sqrt_", "sqrt_", np.sqrt, POSITIVE),
    _inplace_unary("rsqrt_", "rsqrt_", lambda x: 1 / np.sqrt(x), POSITIVE),
    _inplace_unary("sin_", "sin_", np.sin),
    _inplace_unary("cos_", "cos_", np.cos),
    _inplace_unary("tan_", "tan_", np.tan, uniform(-1.2, 1.2)),
    _inplace_unary("tanh_", "tanh_", np.tanh),
    _inplace_unary("sigmoid_", "sigmoid_", lambda x: 1 / (1 + np.exp(-x))),
    _inplace_unary("relu_", "relu_", lambda x: np.maximum(x, 0), NONZERO),
    _inplace_unary("square_", "square_", np.square),
    OpInfo("pow_", lambda lib, x: (x * 1).pow_(3), lambda x: x**3, (Sample(((2, 3),)),)),
    OpInfo("pow_tensor_", lambda lib, x, y: (x * 1).pow_(y), np.power, (Sample(((2, 3), (3,))),),
           domain=(POSITIVE, uniform(-2, 2))),
    OpInfo("clamp_min_", lambda lib, x: (x * 1).clamp_min_(-0.5), lambda x: np.maximum(x, -0.5), (Sample(((2, 3),)),)),
    OpInfo("clamp_max_", lambda lib, x: (x * 1).clamp_max_(0.5), lambda x: np.minimum(x, 0.5), (Sample(((2, 3),)),)),
    OpInfo("clip_", lambda lib, x: (x * 1).clip_(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), (Sample(((2, 3),)),)),
    OpInfo("remainder_", lambda lib, x, y: (x * 1).remainder_(y), np.remainder, (Sample(((2, 3), (3,))),),
           domain=(uniform(-5, 5), AWAY_FROM_ZERO)),
    OpInfo("imod", lambda lib, x: _augmented_mod(x * 1, 1.5), lambda x: np.remainder(x, 1.5), (Sample(((2, 3),)),),
           domain=uniform(-5, 5)),
    OpInfo("fmod_", lambda lib, x, y: (x * 1).fmod_(y), np.fmod, (Sample(((2, 3), (2, 3))),),
           domain=(uniform(-5, 5), AWAY_FROM_ZERO)),
    OpInfo("tril_", lambda lib, x: (x * 1).tril_(-1), lambda x: np.tril(x, -1), (Sample(((3, 4),)),)),
    OpInfo("triu_", lambda lib, x: (x * 1).triu_(1), lambda x: np.triu(x, 1), (Sample(((2, 3, 4),)),)),
    OpInfo("scatter_", lambda lib, x, index, src: (x * 1).scatter_(0, index, src),
           lambda x, index, src: _scatter_ref(x, index, src, 0), (Sample(((3, 4), (2, 4), (2, 4))),),
           domain=(DEFAULT_DOMAIN, DISTINCT_ROWS, DEFAULT_DOMAIN)),
    OpInfo("scatter_add_", lambda lib, x, index, src: (x * 1).scatter_add_(1, index, src),
           lambda x, index, src: _scatter_ref(x, index, src, 1, add=True), (Sample(((3, 4), (3, 5), (3, 5))),),
           domain=(DEFAULT_DOMAIN, indices(4), DEFAULT_DOMAIN)),
    OpInfo("addcmul_", lambda lib, x, a, b: (x * 1).addcmul_(a, b, value=0.5), lambda x, a, b: x + 0.5 * a * b,
           (Sample(((2, 3), (2, 3), (3,))),)),
    OpInfo("addcdiv_", lambda lib, x, a, b: (x * 1).addcdiv_(a, b, value=-1), lambda x, a, b: x - a / b,
           (Sample(((2, 3), (2, 3), (2, 3))),), domain=(DEFAULT_DOMAIN, DEFAULT_DOMAIN, NONZERO)),
    OpInfo("lerp_", lambda lib, x, end: (x * 1).lerp_(end, 0.75), lambda x, end: x + 0.75 * (end - x),
           (Sample(((2, 3), (3,))),)),
    OpInfo("masked_fill_", lambda lib, x, mask: (x * 1).masked_fill_(mask, -1.0),
           lambda x, mask: np.where(mask, -1.0, x), (Sample(((2, 3), (3,))),), domain=(DEFAULT_DOMAIN, booleans())),
]


def _augmented_mod(x, other):
    x %= other
    return x

# ============================================================== issue 12: rounding, selection, products, joins
def _diff_ref(x, n=1, dim=-1):
    return np.diff(x, n=n, axis=dim)


ISSUE_12 = [
    OpInfo("round", lambda lib, x: x.round(), np.round, UNARY),
    OpInfo("round_decimals", lambda lib, x: lib.round(x, decimals=1), lambda x: np.round(x, 1), UNARY[3:5]),
    OpInfo("floor", lambda lib, x: x.floor(), np.floor, UNARY),
    OpInfo("ceil", lambda lib, x: lib.ceil(x), np.ceil, UNARY[2:]),
    OpInfo("trunc", lambda lib, x: x.trunc(), np.trunc, UNARY[2:]),
    OpInfo("frac", lambda lib, x: x.frac(), lambda x: x - np.trunc(x), UNARY, domain=nonzero(0.1, 0.9)),
    OpInfo("reciprocal", lambda lib, x: lib.reciprocal(x), lambda x: 1.0 / x, UNARY, domain=NONZERO),
    OpInfo("atan2", lambda lib, a, b: lib.atan2(a, b), np.arctan2, BINARY, domain=(NONZERO, NONZERO)),
    OpInfo("expm1", lambda lib, x: x.expm1(), np.expm1, UNARY),
    OpInfo("log2", lambda lib, x: lib.log2(x), np.log2, UNARY, domain=POSITIVE),
    OpInfo("log10", lambda lib, x: x.log10(), np.log10, UNARY, domain=POSITIVE),
    OpInfo("sinh", lambda lib, x: x.sinh(), np.sinh, UNARY),
    OpInfo("cosh", lambda lib, x: lib.cosh(x), np.cosh, UNARY),
    OpInfo("asin", lambda lib, x: x.asin(), np.arcsin, UNARY, domain=uniform(-0.9, 0.9)),
    OpInfo("acos", lambda lib, x: lib.acos(x), np.arccos, UNARY, domain=uniform(-0.9, 0.9)),
    OpInfo("atan", lambda lib, x: lib.atan(x), np.arctan, UNARY),
    OpInfo("nansum", lambda lib, x, **kw: lib.nansum(x, **kw), lambda x, **kw: np.nansum(x, axis=kw.get("dim")), (
        Sample(((2, 3),)), Sample(((2, 3),), {"dim": 1}), Sample(((4, 1, 3),), {"dim": 0}),
    )),
    OpInfo("roll", lambda lib, x, **kw: x.roll(**kw), lambda x, shifts, dims=None: np.roll(x, shifts, dims), (
        Sample(((3, 4),), {"shifts": 1, "dims": 1}),
        Sample(((3, 4),), {"shifts": (1, -2), "dims": (0, 1)}),
        Sample(((3, 4),), {"shifts": 5}, name="flattened"),
    )),
    OpInfo("diff", lambda lib, x, **kw: lib.diff(x, **kw), _diff_ref, (
        Sample(((3, 4),)), Sample(((4, 3),), {"n": 2, "dim": 0}), Sample(((5,),), {"n": 3}),
    )),
    OpInfo("index_select", lambda lib, x, index, dim: lib.index_select(x, dim, index),
           lambda x, index, dim: np.take(x, index, axis=dim), (
               Sample(((3, 4), (5,)), {"dim": 1}, domains=(None, indices(4))),
               Sample(((3, 4), (2,)), {"dim": 0}, domains=(None, indices(3))),
           )),
    OpInfo("masked_select", lambda lib, x, mask: x.masked_select(mask),
           lambda x, mask: x[np.broadcast_to(mask, x.shape)], (Sample(((2, 3), (3,))),),
           domain=(DEFAULT_DOMAIN, fixed([True, False, True]))),
    OpInfo("addmm", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2), lambda c, a, b: 0.5 * c + 2 * a @ b,
           (Sample(((2, 4), (2, 3), (3, 4))), Sample(((4,), (2, 3), (3, 4)), name="broadcast"))),
    OpInfo("mv", lambda lib, a, v: lib.mv(a, v), np.matmul, (Sample(((2, 3), (3,))),)),
    OpInfo("cross", lambda lib, a, b, dim: lib.cross(a, b, dim=dim), lambda a, b, dim: np.cross(a, b, axis=dim), (
        Sample(((4, 3), (4, 3)), {"dim": 1}), Sample(((3, 2), (3, 2)), {"dim": 0}),
    )),
    OpInfo("kron", lambda lib, a, b: lib.kron(a, b), np.kron, (Sample(((2, 3), (3, 2))), Sample(((2,), (2, 2))))),
    OpInfo("tensordot", lambda lib, a, b, dims: lib.tensordot(a, b, dims=dims),
           lambda a, b, dims: np.tensordot(a, b, axes=dims), (
               Sample(((3, 4, 5), (4, 5, 2)), {"dims": 2}),
               Sample(((3, 4), (4, 3)), {"dims": ([0, 1], [1, 0])}, name="lists"),
           )),
    OpInfo("cdist", lambda lib, a, b: lib.cdist(a, b),
           lambda a, b: np.linalg.norm(a[..., :, None, :] - b[..., None, :, :], axis=-1),
           (Sample(((4, 3), (5, 3))), Sample(((2, 3, 2), (2, 4, 2)), name="batched"))),
    OpInfo("vstack", lambda lib, a, b: lib.vstack([a, b]), lambda a, b: np.vstack([a, b]),
           (Sample(((3,), (3,))), Sample(((2, 3), (1, 3))))),
    OpInfo("hstack", lambda lib, a, b: lib.hstack([a, b]), lambda a, b: np.hstack([a, b]),
           (Sample(((3,), (2,))), Sample(((2, 3), (2, 1))))),
    OpInfo("movedim", lambda lib, x: x.movedim((0, 1), (2, 0)), lambda x: np.moveaxis(x, (0, 1), (2, 0)),
           (Sample(((2, 3, 4, 5),)),)),
    OpInfo("swapaxes", lambda lib, x: lib.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2), (Sample(((2, 3, 4),)),)),
    OpInfo("tile", lambda lib, x: x.tile((2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)),
           (Sample(((2, 3),), name="more_reps"), Sample(((2, 3, 2),), name="equal_reps"))),
    OpInfo("tile_fewer", lambda lib, x: lib.tile(x, (2,)), lambda x: np.tile(x, (2,)), (Sample(((2, 3),)),)),
    OpInfo("column_stack", lambda lib, a, b: lib.column_stack([a, b]), lambda a, b: np.column_stack([a, b]),
           (Sample(((3,), (3, 2))),)),
    OpInfo("dstack", lambda lib, a, b: lib.dstack([a, b]), lambda a, b: np.dstack([a, b]),
           (Sample(((3,), (3,))), Sample(((2, 3), (2, 3, 2))))),
    OpInfo("nanmean", lambda lib, x, **kw: x.nanmean(**kw), lambda x, **kw: np.nanmean(x, axis=kw.get("dim")), (
        Sample(((2, 3),)), Sample(((2, 3),), {"dim": 1}),
    )),
    OpInfo("meshgrid", lambda lib, a, b: lib.meshgrid(a, b, indexing="xy"),
           lambda a, b: tuple(np.meshgrid(a, b, indexing="xy")), (Sample(((2,), (3,))),)),
]

OPS = ARITHMETIC + UNARY_MATH + ACTIVATIONS + CLAMP + SELECTION + COMPARISONS + REDUCTIONS + MATMUL + SHAPE \
    + INDEXING + INPLACE
OPS += SCANS + SORTING + GATHER_SCATTER + MANIPULATION + EINSUM + DIVISION + COMPOSITE + NORMS + INPLACE_MATH
OPS += ISSUE_12

_names = [op.name for op in OPS]
assert len(_names) == len(set(_names)), "op names must be unique: they are test ids"
