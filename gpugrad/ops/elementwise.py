"""Elementwise ops: arithmetic, math functions, activations, comparisons.

Each op is a small ArrayFunction (forward on arrays, backward with gpugrad ops)
followed by its lowercase wrapper. Binary ops broadcast; the engine sums
each gradient back to its input's shape, so backward formulas stay plain.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..autograd.node import ArrayFunction
from ..tensor import Tensor, check_same_device
from ..device import on_tensor_device

_NUMBER = (int, float, bool)
_PLAIN_NUMBERS = (int, float)  # never upcast a float tensor (bool is left to the full rules)


# ----------------------------------------------------------- type promotion
def _check_operand(op: str, x) -> None:
    if not isinstance(x, Tensor) and not isinstance(x, _NUMBER) and not _is_numpy_scalar(x):
        raise TypeError(
            f"{op}(): expected a Tensor or a Python number, got {type(x).__name__}; "
            "wrap arrays with gg.tensor(...) (on the same device) first"
        )


def _is_numpy_scalar(x) -> bool:
    return isinstance(x, np.generic) and x.dtype.kind in "biuf"


def _as_number(x):
    """A NumPy scalar as the Python number it holds: PyTorch promotes ``t * np.float64(2)`` like ``t * 2.0``."""
    return x.item() if _is_numpy_scalar(x) else x


def promote(op: str, a, b, floating: bool = False):
    """Cast tensor operands to PyTorch's result dtype (a Python number never upcasts a tensor of its category).

    With ``floating`` (true division, math functions) an integer result becomes the default float.
    """
    a_t, b_t = isinstance(a, Tensor), isinstance(b, Tensor)
    # the common cases first (this runs on every binary op): nothing to cast
    if a_t and b_t:
        if a.array.dtype == b.array.dtype and (not floating or a.array.dtype.kind == "f"):
            return a, b
    elif a_t and type(b) in _PLAIN_NUMBERS and a.array.dtype.kind == "f":
        return a, b
    elif b_t and type(a) in _PLAIN_NUMBERS and b.array.dtype.kind == "f":
        return a, b
    _check_operand(op, a)
    _check_operand(op, b)
    a, b = _as_number(a), _as_number(b)
    target = dtypes.result_type(a, b)
    if floating and target.category != dtypes.FLOAT:
        target = dtypes.get_default_dtype()
    if a_t and a.array.dtype != target.np:
        a = a.to(target)
    if b_t and b.array.dtype != target.np:
        b = b.to(target)
    if not a_t:
        a = _scalar(a, target)
    if not b_t:
        b = _scalar(b, target)
    return a, b


def _raise_broadcast_error(op: str, *operands) -> None:
    """Raise a clear error if the tensor operands' shapes do not broadcast (NumPy's ValueError names no op).

    Called only after the op failed, so the check costs nothing on the normal path.
    """
    shapes = [tuple(x.shape) for x in operands if isinstance(x, Tensor)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"{op}(): shapes {' and '.join(map(str, shapes))} cannot be broadcast together: each trailing "
            "dimension must be equal or 1 in every operand (reshape/unsqueeze one, or fix the shapes)"
        ) from None


def _apply(op: str, function: ArrayFunction, *operands) -> Tensor:
    """``function(*operands)``, with NumPy's bare broadcasting ValueError turned into one naming ``op``."""
    try:
        return function(*operands)
    except ValueError:
        _raise_broadcast_error(op, *operands)
        raise


def _scalar(value, target: dtypes.dtype):
    """A Python number of the kind ``target`` holds, so NumPy/CuPy keep the tensor's dtype."""
    if target.category == dtypes.FLOAT:
        return float(value)
    if target.category == dtypes.INT:
        return int(value)
    return bool(value)


def as_float(x: Tensor) -> Tensor:
    """``x`` itself if floating, else cast to the default float (what PyTorch does for sin(int_tensor))."""
    if x.array.dtype.kind == "f":
        return x
    return x.to(dtypes.get_default_dtype())


def _const(x: Tensor, array) -> Tensor:
    """A non-differentiable tensor on ``x``'s device (masks and weights used in backward)."""
    return Tensor._make(array, x.device)


# ----------------------------------------------------------- device & dtype
class ToCopy(ArrayFunction):
    """Move to another device and/or cast; the gradient goes back the same way."""

    def __init__(self, device, dtype):
        self.target_device, self.target_dtype = device, dtype

    def forward(self, x):
        self.source_device = self.device
        self.source_dtype = dtypes.from_numpy_dtype(x.dtype)
        if self.target_device is self.device:
            return x.astype(self.target_dtype.np, copy=True)
        moved = self.target_device.put(x)
        with self.target_device.activate():  # cast where the result lives: CuPy works on its current device
            return moved.astype(self.target_dtype.np, copy=False)

    def backward(self, gy, F):
        if not F.on_arrays:
            return gy.to(self.source_device, self.source_dtype)
        return self.source_device.put(gy).astype(self.source_dtype.np, copy=False)  # the engine made it current

    def __call__(self, x):
        out = super().__call__(x)
        out.device = self.target_device  # forward ran with x's device; the result lives on the target
        return out


def to_copy(x: Tensor, device, dtype) -> Tensor:
    """``x`` on ``device`` as ``dtype`` (what ``Tensor.to`` calls when something changes)."""
    out = ToCopy(device, dtype)(x)
    if not dtype.is_floating_point:  # integer/bool results never require grad
        out.requires_grad, out.grad_fn = False, None
    return out


# ----------------------------------------------------------- arithmetic
class Add(ArrayFunction):
    def forward(self, a, b):
        return a + b

    def backward(self, gy, F):
        return gy, gy


class Sub(ArrayFunction):
    def forward(self, a, b):
        return a - b

    def backward(self, gy, F):
        return gy, -gy if self.needs_input_grad[1] else None


class Rsub(ArrayFunction):
    """``other - x`` for two tensors: ``torch.rsub(x, other)``, ``x.__rsub__(other)`` (PyTorch's RsubBackward0)."""

    def forward(self, x, other):
        return other - x

    def backward(self, gy, F):
        return -gy if self.needs_input_grad[0] else None, gy if self.needs_input_grad[1] else None


class RsubScalar(ArrayFunction):
    """``c - x`` for a Python number ``c``: what ``5 - t`` calls (PyTorch's RsubBackward1)."""

    backward_name = "RsubBackward1"

    def __init__(self, other):
        self.other = other

    def forward(self, x):
        return self.other - x

    def backward(self, gy, F):
        return -gy


def _other_needs_grad(function) -> tuple:
    """For products: input i is read only to form the gradient of the other input."""
    need_a, need_b = function.needs_input_grad
    return (0, 1) if need_a and need_b else (1,) if need_a else (0,)


class Mul(ArrayFunction):
    saves_inputs = (0, 1)
    inputs_to_save = _other_needs_grad

    def forward(self, a, b):
        return a * b

    def backward(self, gy, F):
        a, b = self.saved_values(F)
        need_a, need_b = self.needs_input_grad
        return (F.product_to(gy, b, self.input_shape(0)) if need_a else None,
                F.product_to(gy, a, self.input_shape(1)) if need_b else None)


class Div(ArrayFunction):
    saves_inputs = (0, 1)

    def inputs_to_save(self):
        return (0, 1) if self.needs_input_grad[1] else (1,)

    def forward(self, a, b):
        return a / b

    def backward(self, gy, F):
        a, b = self.saved_values(F)
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(ArrayFunction):
    def forward(self, x):
        return -x

    def backward(self, gy, F):
        return -gy


class Pow(ArrayFunction):
    """``x ** c`` for a Python number ``c``."""

    saves_inputs = (0,)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        return x**self.exponent

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        c = self.exponent
        if c == 0:
            return gy * 0.0
        if c == 2:  # the common square: one op fewer, and x + x is 2x exactly (NumPy's array-with-number ops cost more)
            return gy * (x + x)
        return gy * c * x ** (c - 1)


class PowTensor(ArrayFunction):
    """``a ** b`` with a tensor exponent."""

    saves_inputs = (0, 1)
    saves_output = True
    backward_name = "PowBackward1"

    def forward(self, a, b):
        return a**b

    def backward(self, gy, F):
        a, b = self.saved_values(F)
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = gy * self.saved_result(F) * F.log(_where_positive(F, a)) if self.needs_input_grad[1] else None
        return ga, gb


class RPow(ArrayFunction):
    """``c ** x`` for a Python number base ``c``."""

    saves_output = True
    backward_name = "PowBackward2"

    def __init__(self, base):
        self.base = base

    def forward(self, x):
        return self.xp.asarray(self.base, dtype=x.dtype) ** x

    def backward(self, gy, F):
        return gy * self.saved_result(F) * math.log(self.base) if self.base > 0 else gy * 0.0


def _where_positive(F, a):
    """``a`` with non-positive entries replaced by 1, so log() of a base that was 0 contributes 0, not NaN."""
    return F.where(F.constant(a, F.raw(a) > 0), a, 1.0)


def _fast_operator(name: str, function_cls, full, kinds: str | None = None):
    """The operator ``tensor <op> b`` (the hottest path): operands that need no promotion go straight to the op.

    Those are two tensors of one dtype (of ``kinds``, any if None), or a float tensor and a Python int
    or float; everything else takes ``full``, the public op (promotion, checks).
    """

    def operator(a, b) -> Tensor:
        if isinstance(b, Tensor):
            dtype, other = a.array.dtype, b.array.dtype
            fast = (dtype is other or dtype == other) and (kinds is None or dtype.kind in kinds)
        else:
            fast = type(b) in _PLAIN_NUMBERS and a.array.dtype.kind == "f"
        if not fast:
            return full(a, b)
        try:
            return function_cls()(a, b)
        except ValueError:
            _raise_broadcast_error(name, a, b)
            raise

    operator.__name__ = f"_{name}_operator"
    return operator


def _scale_by_alpha(op: str, a, b, alpha):
    """``alpha * b``; as in PyTorch a float ``alpha`` is refused when both operands are integral."""
    if isinstance(alpha, float) and dtypes.result_type(_as_number(a), _as_number(b)).category != dtypes.FLOAT:
        raise RuntimeError(
            f"{op}(): For integral input tensors, argument alpha must not be a floating point number "
            f"(got alpha={alpha}); convert a tensor first (.float()) or pass an integer alpha"
        )
    return mul(b, alpha) if isinstance(b, Tensor) else _as_number(b) * alpha


def add(a, b, alpha=1) -> Tensor:
    """``a + alpha * b`` with broadcasting."""
    if alpha != 1:
        b = _scale_by_alpha("add", a, b, alpha)
    a, b = promote("add", a, b)
    return _apply("add", Add(), a, b)


def _refuse_bool_subtraction(a, b) -> None:
    """PyTorch's rule: no ``-`` with a bool operand (``True - mask`` is ambiguous); it points to ``~``/``^``."""
    bools = [isinstance(v, bool) or isinstance(v, Tensor) and v.dtype.category == dtypes.BOOL for v in (a, b)]
    if all(bools):
        raise RuntimeError("sub: subtracting two bool tensors is not supported (as in PyTorch); use the `^` "
                           "operator or gg.logical_xor() instead")
    if any(bools):
        raise RuntimeError("sub: subtraction with a bool tensor or bool is not supported (as in PyTorch); to invert "
                           "a mask use the `~` operator or gg.logical_not(), else convert it first (.float())")


def sub(a, b, alpha=1) -> Tensor:
    """``a - alpha * b`` with broadcasting."""
    _refuse_bool_subtraction(a, b)
    if alpha != 1:
        b = _scale_by_alpha("sub", a, b, alpha)
    a, b = promote("sub", a, b)
    return _apply("sub", Sub(), a, b)


def rsub(x, other, alpha=1) -> Tensor:
    """``other - alpha * x`` with broadcasting: subtraction with the operands reversed, PyTorch's ``torch.rsub``.

    PyTorch's ``5 - x`` calls it (``x.__rsub__(5)``); the node is named as in PyTorch: ``RsubBackward1``
    for a number ``other``, ``RsubBackward0`` for a tensor.

    Example:
        >>> t = gg.tensor([1.0, 2.0], requires_grad=True)
        >>> rsub(t, 5)
        tensor([4., 3.], grad_fn=<RsubBackward1>)
    """
    _refuse_bool_subtraction(other, x)
    if alpha != 1:
        x = _scale_by_alpha("rsub", other, x, alpha)
    x, other = promote("rsub", x, other)
    if isinstance(other, Tensor) or not isinstance(x, Tensor):
        return _apply("rsub", Rsub(), x, other)
    return RsubScalar(other)(x)


def mul(a, b) -> Tensor:
    a, b = promote("mul", a, b)
    return _apply("mul", Mul(), a, b)


_add_operator = _fast_operator("add", Add, add)
_sub_operator = _fast_operator("sub", Sub, sub, kinds="iufc")  # sub() refuses bool operands, as PyTorch does
_mul_operator = _fast_operator("mul", Mul, mul)


def div(a, b, rounding_mode=None) -> Tensor:
    """True division; integer inputs give the default float dtype, as in PyTorch.

    ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient (integers stay integers; see ``ops/division.py``).
    """
    if rounding_mode is not None:
        from .division import div_rounded  # division builds on this module

        return div_rounded(a, b, rounding_mode)
    a, b = promote("div", a, b, floating=True)
    return _apply("div", Div(), a, b)


_div_operator = _fast_operator("div", Div, div, kinds="fc")  # integers divide to the default float


def neg(x: Tensor) -> Tensor:
    if x.array.dtype.kind == "b":
        raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not supported (as in PyTorch); to "
                           "invert a mask use the `~` operator or gg.logical_not() instead")
    return Neg()(x)


def pow(x, exponent) -> Tensor:  # noqa: A001 - PyTorch's name
    """``x ** exponent``; either side may be a Python number."""
    if type(exponent) in _PLAIN_NUMBERS and isinstance(x, Tensor) and x.array.dtype.kind == "f":
        return Pow(exponent)(x)  # the common case (x ** 2 on floats): nothing to promote
    if isinstance(x, Tensor) and not isinstance(exponent, Tensor):
        _check_operand("pow", exponent)
        exponent = _as_number(exponent)  # a NumPy float64 scalar would upcast float32 data
        target = dtypes.result_type(x, exponent)  # bool ** 2 is int64, bool ** 2.0 float, as in PyTorch
        if target is dtypes.bool_:  # bool ** bool (PyTorch allows a Python bool exponent): x, or all True
            xp = x.device.xp
            return Tensor._make(x.array.copy() if exponent else xp.ones(x.array.shape, dtype=bool), x.device)
        return Pow(exponent)(x.to(target))
    if not isinstance(x, Tensor):
        _check_operand("pow", x)
        base = _as_number(x)
        target = dtypes.result_type(base, exponent)
        _refuse_bool_pow(target)
        return RPow(base)(exponent.to(target))  # 2 ** bool_tensor is int64 [2, 1], not NumPy's bool/int8
    x, exponent = promote("pow", x, exponent)
    _refuse_bool_pow(x.dtype)
    return _apply("pow", PowTensor(), x, exponent)


def _refuse_bool_pow(dtype) -> None:
    if dtype is dtypes.bool_:
        raise NotImplementedError(
            "pow(): \"pow\" not implemented for 'Bool' (both operands are bool); convert one with .long() or .float()")


# ----------------------------------------------------------- unary math
class Abs(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return gy * F.sign(x)


class Exp(ArrayFunction):
    saves_output = True

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, gy, F):
        return gy * self.saved_result(F)


class Log(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return gy / x


class Log1p(ArrayFunction):
    saves_inputs = (0,)
    backward_name = "Log1PBackward0"  # PyTorch's spelling

    def forward(self, x):
        return self.xp.log1p(x)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return gy / (x + 1.0)


class Sqrt(ArrayFunction):
    saves_output = True

    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, gy, F):
        return gy / (self.saved_result(F) * 2.0)


class Sin(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return gy * F.cos(x)


class Cos(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return -gy * F.sin(x)


class Tan(ArrayFunction):
    saves_output = True

    def forward(self, x):
        return self.xp.tan(x)

    def backward(self, gy, F):
        y = self.saved_result(F)
        return gy * (y * y + 1.0)


class Tanh(ArrayFunction):
    saves_output = True

    def forward(self, x):
        return self.xp.tanh(x)

    def backward(self, gy, F):
        y = self.saved_result(F)
        return gy * (1.0 - y * y)


class Sigmoid(ArrayFunction):
    saves_output = True

    def forward(self, x):
        # exp(-|x|) never overflows, and z/(1+z) keeps full relative accuracy for very negative x
        # (0.5 + 0.5*tanh(x/2) cancels there: sigmoid(-30) came out with a relative error of 1e-3, or 0)
        # (one division, shared by both branches: 1/(1+z) for x >= 0, z/(1+z) below)
        xp = self.xp
        with np.errstate(under="ignore"):  # exp(-|x|) -> 0 is the right limit
            z = xp.exp(-xp.abs(x))
        return (xp.where(x >= 0, 1.0, z) / (1.0 + z)).astype(x.dtype, copy=False)

    def backward(self, gy, F):
        y = self.saved_result(F)
        return gy * y * (1.0 - y)


def _unary(cls):
    def op(x: Tensor) -> Tensor:
        return cls()(as_float(x))

    op.__name__ = cls.__name__.lower()
    op.__doc__ = f"Elementwise {op.__name__}; integer tensors are computed in the default float dtype."
    return op


exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tan = _unary(Tan)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    return Abs()(x)


def square(x: Tensor) -> Tensor:
    return pow(x, 2)  # not x * x: PyTorch's grad_fn here is PowBackward0


def rsqrt(x: Tensor) -> Tensor:
    return div(1.0, sqrt(x))


# ----------------------------------------------------------- activations
class Relu(ArrayFunction):
    saves_output = True

    def forward(self, x):
        return self.xp.maximum(x, 0)

    def backward(self, gy, F):
        y = self.saved_result(F)
        return gy * F.constant(y, F.raw(y) > 0)


class LeakyRelu(ArrayFunction):
    saves_inputs = (0,)

    def __init__(self, negative_slope):
        self.slope = negative_slope

    def forward(self, x):
        return self.xp.where(x > 0, x, x * self.slope)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        raw = F.raw(x)
        return gy * F.constant(x, self.xp.where(raw > 0, 1.0, self.slope).astype(raw.dtype))


class Gelu(ArrayFunction):
    """GELU, exact (erf) by default or PyTorch's ``approximate="tanh"``."""

    saves_inputs = (0,)

    def __init__(self, approximate: str):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return x * _gelu_cdf_array(self.xp, x, self.approximate)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return gy * gelu_derivative(x, self.approximate, F)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_cdf_array(xp, x, approximate):
    if approximate == "tanh":
        return 0.5 * (1.0 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
    return 0.5 * (1.0 + erf_array(xp, x * (1.0 / math.sqrt(2.0))))


def gelu_derivative(x, approximate: str, F):
    """d gelu / dx as a formula (``F``: see ops/formulas.py), so GELU is twice differentiable."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        t = F.tanh(inner)
        d_inner = (x * x * (3 * 0.044715) + 1.0) * _SQRT_2_OVER_PI
        return (t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * d_inner
    cdf = F.erf(x * (1.0 / math.sqrt(2.0))) * 0.5 + 0.5
    pdf = F.exp(x * x * -0.5) * (1.0 / math.sqrt(2.0 * math.pi))
    return cdf + x * pdf


class Erf(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return erf_array(self.xp, x)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        return gy * F.exp(-(x * x)) * (2.0 / math.sqrt(math.pi))


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638;
# the coefficients of his SPECFUN routine CALERF (netlib.org/specfun/erf), highest power first, each
# denominator monic with its leading 1 left out.
# erf(x) = x * P(x^2) / Q(x^2) for small |x| (Cody's interval is |x| <= 0.46875)
_ERF_SMALL_P = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
                3.20937758913846947e03)
_ERF_SMALL_Q = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
# x * P/Q = x + x * (P - Q)/Q: adding x last keeps the ratio's rounding out of the leading digits (3 ulp -> 2)
_ERF_SMALL_P_MINUS_Q = (_ERF_SMALL_P[0] - 1.0,) + tuple(p - q for p, q in zip(_ERF_SMALL_P[1:], _ERF_SMALL_Q))
# erfc(y) = exp(-y^2) * P(y) / Q(y) (Cody's interval is 0.46875 <= y <= 4)
_ERFC_P = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03,
           1.23033935479799725e03)
_ERFC_Q = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
           3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
# Cody hands over to erfc at 0.46875; erf goes on to 0.5, where the small-|x| formula is still good to 4e-19
# (checked with mpmath), because between erfinv(0.5) = 0.477 and 0.5, 1 - erfc loses a bit to rounding.
_ERF_SMALL_LIMIT = 0.5
# erfc(6) = 2e-17 is under half an ulp of 1.0 in float64, so erf(|x| >= 6) rounds to +-1; clamping |x| there
# keeps inf and overflow out of the arithmetic.
_ERF_ROUNDS_TO_ONE = 6.0


def erf_array(xp, x):
    """erf on an array: CuPy's kernel on CUDA; on the CPU, W. J. Cody's rational approximations in NumPy ufuncs.

    The CPU version is ufuncs and ``where`` only (no value reads, no writes), so gg.compile and gg.Graph
    trace it like any other op, and SciPy is not needed. Against ``math.erf`` it is within 2 ulp for float64
    and 3 ulp for float32 (computed in float32); float16 is computed in float32 and rounded once.

    Two of Cody's three pieces suffice for erf (his third, for y > 4, serves erfc's relative accuracy):
    the y <= 4 rational carried on to y = 6 stays within 7e-13 of exp(y^2) erfc(y), an absolute error
    below 1e-25 in erfc and so invisible in erf = 1 - erfc. For the same reason exp(-y^2) is computed
    plainly, not split as exp(-s^2) exp(-(y - s)(y + s)) as in CALERF (measured: no change in erf).

    Example:
        >>> float(erf_array(np, np.array([0.5]))[0])
        0.5204998778130465
    """
    if xp.__name__ == "cupy":
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    if x.dtype == np.float16:  # float16 arithmetic is too coarse for the rationals: compute in float32, round once
        return erf_array(xp, x.astype(np.float32)).astype(np.float16)
    with np.errstate(under="ignore"):  # x * x and erf(x) ~ 1.13 x underflow for tiny x, harmlessly
        # both pieces run on every element (no value-dependent indexing, so it traces), each on its input
        # clamped to where it is finite
        x_small = xp.minimum(xp.maximum(x, -_ERF_SMALL_LIMIT), _ERF_SMALL_LIMIT)  # keeps the sign, even of -0.0
        small = x_small + x_small * _rational(x_small * x_small, _ERF_SMALL_P_MINUS_Q, _ERF_SMALL_Q)
        y = xp.minimum(xp.abs(x), _ERF_ROUNDS_TO_ONE)
        erfc = xp.exp(-(y * y)) * _rational(y, _ERFC_P, _ERFC_Q)
        large = xp.where(x < 0, erfc - 1.0, 1.0 - erfc)  # where, not copysign: graph fusion knows where
        return xp.where(y <= _ERF_SMALL_LIMIT, small, large)


def _rational(t, num, den):
    """``num(t) / den(t)`` by Horner's rule; coefficients highest power first, ``den`` monic without its 1."""
    p = t * num[0] + num[1]
    for c in num[2:]:
        p = p * t + c
    q = t + den[0]
    for c in den[1:]:
        q = q * t + c
    return p / q


def erf(x: Tensor) -> Tensor:
    return Erf()(as_float(x))


class Softplus(ArrayFunction):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``, as in PyTorch.

    float16 is computed in float32 and rounded once, as PyTorch does: float16's exp overflows past 11.09,
    below the default threshold of 20.
    """

    saves_inputs = (0,)

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        # very negative inputs underflow: exp(bx) to 0 (log1p(0) = 0 is right), float16's result to 0 or a subnormal
        with np.errstate(under="ignore"):
            if x.dtype == np.float16:
                return self._softplus(x.astype(np.float32)).astype(np.float16)
            return self._softplus(x)

    def _softplus(self, x):
        xp, bx = self.xp, x * self.beta
        # log1p(exp(bx)) overflows for large bx; the linear branch is exact there to float precision
        soft = xp.log1p(xp.exp(xp.minimum(bx, self.threshold))) / self.beta
        return xp.where(bx > self.threshold, x, soft).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        # float16 in float32, as in forward: float16's own sigmoid is off by up to 4e-4, all of a slope like 1e-4
        if x.array.dtype == np.float16:
            linear = _const(x, x.array.astype(np.float32) * self.beta > self.threshold)
            slope = gy.to(dtypes.float32) * sigmoid(x.to(dtypes.float32) * self.beta)
            with np.errstate(under="ignore"):  # tiny slopes round to float16 subnormals or 0, rightly
                return where(linear, gy, slope.to(dtypes.float16))
        linear = _const(x, x.array * self.beta > self.threshold)
        return where(linear, gy, gy * sigmoid(x * self.beta))


class Clamp(ArrayFunction):
    saves_inputs = (0,)
    backward_name = "ClampBackward1"  # PyTorch's name for number bounds (ClampBackward0 is for tensor bounds)

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        return self.xp.clip(x, self.low, self.high).astype(x.dtype, copy=False)

    def backward(self, gy, F):
        (x,) = self.saved_values(F)
        raw = F.raw(x)
        inside = self.xp.ones(raw.shape, dtype=bool)
        if self.low is not None:
            inside &= raw >= self.low
        if self.high is not None:
            inside &= raw <= self.high
        return gy * F.constant(x, inside.astype(raw.dtype))


def relu(x: Tensor) -> Tensor:
    return Relu()(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu(negative_slope)(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU; ``approximate="tanh"`` uses the tanh formula, as in PyTorch."""
    return Gelu(approximate)(as_float(x))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta`` elementwise, linear (``x``) where ``beta * x > threshold``; PyTorch's softplus.

    float16 inputs are computed in float32 and rounded once, as in PyTorch.

    Example:
        >>> gg.softplus(gg.tensor([0.0, 15.0, 30.0], dtype=gg.float16))
        tensor([ 0.6934, 15.    , 30.    ], dtype=gpugrad.float16)
    """
    return Softplus(beta, threshold)(as_float(x))


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``.

    ``min`` and ``max`` may be numbers or tensors (broadcast with ``x``); a tensor bound
    gets the gradient where it is the result. As in PyTorch, ``max`` wins when ``min > max``.

    Example:
        >>> gg.clamp(gg.tensor([-2., 0.5, 3.]), min=0.0, max=1.0)   # tensor([0.0, 0.5, 1.0])
    """
    if min is None and max is None:
        raise ValueError("clamp(): at least one of 'min' or 'max' must not be None")
    x = x.to(clamp_result_dtype(x, min, max))  # int data clamped to 0.5 is float, as in PyTorch
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # where(), not maximum(): at a tie PyTorch gives x the whole gradient, not half
        out = x
        if min is not None:
            out = where(lt(out, min), min, out)
        if max is not None:
            out = where(gt(out, max), max, out)
        return out
    return Clamp(min, max)(x)


clip = clamp


def clamp_result_dtype(x: Tensor, low, high):
    """PyTorch's dtype of ``clamp(x, low, high)``: ``x``'s promoted with the bounds (Python numbers as scalars)."""
    bounds = [_as_number(b) for b in (low, high) if b is not None]
    for b in bounds:
        _check_operand("clamp", b)
    return dtypes.result_type(x, *bounds)


# ----------------------------------------------------------- binary selections
class Maximum(ArrayFunction):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        return self.xp.maximum(a, b)

    def backward(self, gy, F):
        a, b = self.saved_values(F)
        return _split_by_weight(F, gy, a, b, self.xp.greater)


class Minimum(ArrayFunction):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        return self.xp.minimum(a, b)

    def backward(self, gy, F):
        a, b = self.saved_values(F)
        return _split_by_weight(F, gy, a, b, self.xp.less)


def _split_by_weight(F, gy, a, b, wins):
    """Gradient to the winning side; ties split evenly, as PyTorch does for maximum/minimum."""
    a_data, b_data = F.raw(a), F.raw(b)
    dtype = F.raw(gy).dtype
    weight = wins(a_data, b_data).astype(dtype) + (a_data == b_data).astype(dtype) * 0.5
    w = F.constant(gy, weight)
    return gy * w, gy * (1.0 - w)


def maximum(a, b) -> Tensor:
    a, b = promote("maximum", a, b)
    return _apply("maximum", Maximum(), a, b)


def minimum(a, b) -> Tensor:
    a, b = promote("minimum", a, b)
    return _apply("minimum", Minimum(), a, b)


class Where(ArrayFunction):
    def forward(self, condition, a, b):
        self.condition = condition
        return self.xp.where(condition, a, b)

    def backward(self, gy, F):
        mask = F.constant(gy, self.condition)
        zero = gy * 0.0
        return None, F.where(mask, gy, zero), F.where(mask, zero, gy)


def where(condition: Tensor, a, b) -> Tensor:
    """Elementwise ``a`` where ``condition`` is true, else ``b``; gradients flow to the chosen side."""
    if not isinstance(condition, Tensor) or condition.array.dtype.kind != "b":
        raise TypeError("where(): condition must be a bool Tensor (e.g. x > 0)")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two numbers: PyTorch's dtype, not NumPy's
        _check_operand("where", a)
        a = Tensor._make(condition.device.xp.asarray(a, dtype=dtypes.result_type(a, b).np), condition.device)
    a, b = promote("where", a, b)
    return _apply("where", Where(), condition, a, b)


# ----------------------------------------------------------- comparisons (no grad)
def _compare(name: str, ufunc_name: str):
    @on_tensor_device
    def op(a, b) -> Tensor:
        a, b = promote(name, a, b)
        first = a if isinstance(a, Tensor) else b
        device = check_same_device(op, (a, b))
        xp = device.xp
        a_data = a.array if isinstance(a, Tensor) else a
        b_data = b.array if isinstance(b, Tensor) else b
        try:
            return Tensor._make(getattr(xp, ufunc_name)(a_data, b_data), first.device)
        except ValueError:
            _raise_broadcast_error(name, a, b)
            raise

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` as a bool tensor (not differentiable)."
    return op


eq = _compare("eq", "equal")
ne = _compare("ne", "not_equal")
lt = _compare("lt", "less")
le = _compare("le", "less_equal")
gt = _compare("gt", "greater")
ge = _compare("ge", "greater_equal")


@on_tensor_device
def logical_not(x: Tensor) -> Tensor:
    return Tensor._make(x.device.xp.logical_not(x.array), x.device)


def bitwise_not(x: Tensor) -> Tensor:
    """``~x``: logical not of a bool tensor, two's-complement not of an integer one (floats raise, as in PyTorch).

    Example:
        >>> ~gg.tensor([1, 2])   # tensor([-2, -3])
    """
    if x.array.dtype.kind == "f":
        raise TypeError(
            f"~ (operator.invert) is only implemented on integer and Boolean-type tensors, got {x.dtype}; "
            "for a mask use x == 0, or logical_not(x)")
    return Tensor._make(x.device.xp.invert(x.array), x.device)


@on_tensor_device
def isnan(x: Tensor) -> Tensor:
    return Tensor._make(x.device.xp.isnan(x.array), x.device)


@on_tensor_device
def isfinite(x: Tensor) -> Tensor:
    return Tensor._make(x.device.xp.isfinite(x.array), x.device)


@on_tensor_device
def sign(x: Tensor) -> Tensor:
    return Tensor._make(x.device.xp.sign(x.array), x.device)


@on_tensor_device
def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    check_same_device(allclose, (a, b))
    return bool(a.device.xp.allclose(a.array, b.array, rtol=rtol, atol=atol))
