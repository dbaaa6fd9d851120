"""In-place forms of math functions and of the newer ops: ``exp_``, ``relu_``, ``pow_``, ``scatter_``, ...

Each is its out-of-place op written back into the tensor through
``inplace._inplace``, so it records, bumps versions and refuses leaf tensors
that require grad exactly as ``add_`` does. As in PyTorch, a result the tensor's
dtype cannot hold (``exp_`` on an integer tensor) is an error, not a cast.
"""

from __future__ import annotations

from ..creation import _generator
from ..tensor import Tensor
from . import composite, division, elementwise as ew, indexing, manipulation
from .inplace import Overwrite, _inplace


def _same_category(op: str, t: Tensor, result: Tensor) -> Tensor:
    if result.dtype.category > t.dtype.category:
        raise RuntimeError(f"{op}(): result type {result.dtype} can't be cast to the desired output type {t.dtype}; "
                           f"use the out-of-place op or convert first (t = t.to({result.dtype}))")
    return result


def _in_place(name: str, function, takes_tensor_operand: bool = False):
    """``t.<name>(*args)``: ``function(t, *args)`` written into ``t``.

    With ``takes_tensor_operand`` the last positional argument may be a tensor that requires grad (pow_'s
    exponent, scatter_'s src): the op is then recorded even if ``t`` needs no grad.
    """

    def op(t: Tensor, *args, **kwargs) -> Tensor:
        def compute(old):
            return _same_category(name, t, function(old, *args, **kwargs))

        def write(array):
            array[...] = compute(Tensor._make(array, t.device)).array

        other = args[-1] if takes_tensor_operand and args and isinstance(args[-1], Tensor) else None
        return _inplace(name, t, other, compute, write, check_cast=False)

    op.__name__ = name
    op.__doc__ = f"In-place ``{function.__name__}``: writes the result into the tensor and returns it."
    return op


# unary math and activations
neg_ = _in_place("neg_", ew.neg)
abs_ = _in_place("abs_", ew.abs)
exp_ = _in_place("exp_", ew.exp)
log_ = _in_place("log_", ew.log)
log1p_ = _in_place("log1p_", ew.log1p)
sqrt_ = _in_place("sqrt_", ew.sqrt)
rsqrt_ = _in_place("rsqrt_", ew.rsqrt)
sin_ = _in_place("sin_", ew.sin)
cos_ = _in_place("cos_", ew.cos)
tan_ = _in_place("tan_", ew.tan)
tanh_ = _in_place("tanh_", ew.tanh)
sigmoid_ = _in_place("sigmoid_", ew.sigmoid)
relu_ = _in_place("relu_", ew.relu)
square_ = _in_place("square_", ew.square)
sign_ = _in_place("sign_", ew.sign)
# with an operand
pow_ = _in_place("pow_", ew.pow, takes_tensor_operand=True)
clamp_min_ = _in_place("clamp_min_", composite.clamp_min, takes_tensor_operand=True)
clamp_max_ = _in_place("clamp_max_", composite.clamp_max, takes_tensor_operand=True)
floor_divide_ = _in_place("floor_divide_", division.floor_divide, takes_tensor_operand=True)
remainder_ = _in_place("remainder_", division.remainder, takes_tensor_operand=True)
fmod_ = _in_place("fmod_", division.fmod, takes_tensor_operand=True)
addcmul_ = _in_place("addcmul_", composite.addcmul, takes_tensor_operand=True)
addcdiv_ = _in_place("addcdiv_", composite.addcdiv, takes_tensor_operand=True)
lerp_ = _in_place("lerp_", composite.lerp, takes_tensor_operand=True)
# rearrangements
tril_ = _in_place("tril_", manipulation.tril)
masked_fill_ = _in_place("masked_fill_", indexing.masked_fill, takes_tensor_operand=True)
scatter_ = _in_place("scatter_", indexing.scatter, takes_tensor_operand=True)
scatter_add_ = _in_place("scatter_add_", indexing.scatter_add, takes_tensor_operand=True)
triu_ = _in_place("triu_", manipulation.triu)


# ----------------------------------------------------------- random fills
def _fill_with(name: str, t: Tensor, sample) -> Tensor:
    """Overwrite ``t`` with ``sample`` (an array of its shape); recorded as a node giving ``t`` a zero gradient."""
    if not t.dtype.is_floating_point:
        raise RuntimeError(f"{name}(): expected a floating point tensor, got {t.dtype}")
    values = sample.astype(t.array.dtype, copy=False)

    def write(array):
        array[...] = values

    return _inplace(name, t, None, lambda old: Overwrite(name.capitalize().rstrip("_") + "Backward0")(old, values),
                    write, check_cast=False)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill ``t`` with samples of N(mean, std**2), in place (``w.data.normal_(0, 0.02)``)."""
    if generator is not None:
        raise TypeError("normal_(): generator= is not supported; seed with gg.manual_seed")
    if std < 0:
        raise RuntimeError(f"normal_(): expects std >= 0.0, but found std {std}")
    draw = _generator(t.device).standard_normal(t.array.shape, dtype="float64")
    return _fill_with("normal_", t, draw * std + mean)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:  # PyTorch's from=, to=
    """Fill ``t`` with samples of U(a, b), in place."""
    if generator is not None:
        raise TypeError("uniform_(): generator= is not supported; seed with gg.manual_seed")
    if a > b:
        raise RuntimeError(f"uniform_(): expects 'from' <= 'to', but found from={a} > to={b}")
    draw = _generator(t.device).random(t.array.shape, dtype="float64")
    return _fill_with("uniform_", t, draw * (b - a) + a)


