"""More elementwise math PyTorch scripts use: ``expm1``, ``log2``, ``log10``, ``sinh``, ``cosh``, ``asin``,
``acos``, ``atan``.

The same shape as the math ops in ``elementwise.py``: forward on arrays, backward with
gpugrad ops (so twice differentiable); integer tensors compute in the default float dtype.
"""

from __future__ import annotations

import math

from ..autograd.node import ArrayFunction
from .elementwise import _unary


class Expm1(ArrayFunction):
    saves_output = True

    def forward(self, x):
        return self.xp.expm1(x)

    def backward(self, gy):
        return gy * (self.saved_output + 1.0)


class Log2(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.log2(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (x * math.log(2.0))


class Log10(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.log10(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (x * math.log(10.0))


class Sinh(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.sinh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * cosh(x)


class Cosh(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.cosh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * sinh(x)


class Asin(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.arcsin(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * (1.0 - x * x).rsqrt()


class Acos(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.arccos(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return -gy * (1.0 - x * x).rsqrt()


class Atan(ArrayFunction):
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.arctan(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (1.0 + x * x)


expm1 = _unary(Expm1)
log2 = _unary(Log2)
log10 = _unary(Log10)
sinh = _unary(Sinh)
cosh = _unary(Cosh)
asin = arcsin = _unary(Asin)
acos = arccos = _unary(Acos)
atan = arctan = _unary(Atan)
