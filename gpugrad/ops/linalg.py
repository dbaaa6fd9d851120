"""Matrix products (``@``), with PyTorch's rules for 1-D operands and batch broadcasting."""

from __future__ import annotations

import numpy as np

from ..autograd.node import ArrayFunction
from ..tensor import Tensor
from .elementwise import _other_needs_grad, promote


class MatMul(ArrayFunction):
    """``a @ b``; on CUDA this is CuPy's matmul, i.e. cuBLAS."""

    saves_inputs = (0, 1)
    backward_name = "MmBackward0"
    inputs_to_save = _other_needs_grad

    def forward(self, a, b):
        self.ndims = (a.ndim, b.ndim)
        if a.ndim == 1 and b.ndim == 1:
            self.backward_name = "DotBackward0"
        elif a.ndim > 2 or b.ndim > 2:
            self.backward_name = "BmmBackward0"
        return self.xp.matmul(a, b)

    def backward(self, gy, F):
        a, b = self.saved_values(F)
        need_a, need_b = self.needs_input_grad
        a_ndim, b_ndim = self.ndims
        if a_ndim == 1 and b_ndim == 1:
            return gy * b if need_a else None, gy * a if need_b else None
        if a_ndim == 1:  # (k) @ (..., k, n): treat a as a (1, k) row
            gy2 = F.unsqueeze(gy, -2)
            ga = gy2 @ F.swap_last(b) if need_a else None  # (..., 1, k); the engine sums it to (k,)
            gb = F.unsqueeze(a, -1) @ gy2 if need_b else None
            return ga, gb
        if b_ndim == 1:  # (..., m, k) @ (k): treat b as a (k, 1) column
            gy2 = F.unsqueeze(gy, -1)
            ga = gy2 @ F.unsqueeze(b, 0) if need_a else None
            gb = F.squeeze(F.swap_last(a) @ gy2, -1) if need_b else None
            return ga, gb
        return gy @ F.swap_last(b) if need_a else None, F.swap_last(a) @ gy if need_b else None


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with broadcasting over batch dimensions, as ``torch.matmul``.

    Example:
        >>> gg.randn(8, 3, 4) @ gg.randn(4, 5)   # shape (8, 3, 5)
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): both operands must be Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.array.ndim == 0 or b.array.ndim == 0:
        raise RuntimeError(
            f"matmul(): both arguments need at least 1 dimension, got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    k_a = a.array.shape[-1]
    k_b = b.array.shape[-2] if b.array.ndim > 1 else b.array.shape[0]
    if k_a != k_b:
        raise RuntimeError(
            f"matmul(): mat1 and mat2 shapes cannot be multiplied ({_describe(a)} and {_describe(b)}): "
            f"the last dimension of the first ({k_a}) must equal the "
            f"{'second-to-last' if b.array.ndim > 1 else 'only'} dimension of the second ({k_b})"
        )
    try:
        if a.array.ndim > 2 and b.array.ndim > 2:  # only batch dims can clash (and the check costs ~5 us)
            np.broadcast_shapes(a.array.shape[:-2], b.array.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"matmul(): the batch dimensions {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} of shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together (sizes must match or be 1)"
        ) from None
    a, b = promote("matmul", a, b)
    return MatMul()(a, b)


def _describe(x: Tensor) -> str:
    return "x".join(str(s) for s in x.shape)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.array.ndim != 1 or b.array.ndim != 1:
        raise RuntimeError(f"dot(): 1D tensors expected, but got {a.array.ndim}D and {b.array.ndim}D tensors")
    return matmul(a, b)


mm = matmul
bmm = matmul


class Linear(ArrayFunction):
    """``x @ w.T + b`` as one node (PyTorch's ``AddmmBackward0`` for 2-D inputs).

    Measured faster than the composite on an MLP step: its backward writes the
    weight's gradient in the weight's own layout (``gy.T @ x``, contiguous), where
    the composite's ``x.T @ gy`` comes back transposed and must be copied.
    """

    saves_inputs = (0, 1)
    backward_name = "AddmmBackward0"

    def inputs_to_save(self):
        need_x, need_w = self.needs_input_grad[:2]
        return (0, 1) if need_x and need_w else (1,) if need_x else (0,)

    def forward(self, x, w, b=None):
        out = self.xp.matmul(x, w.T)
        if b is not None:
            out += b
        elif x.ndim == 2:
            self.backward_name = "MmBackward0"  # PyTorch's name without a bias
        return out

    def backward(self, gy, F):
        x, w = self.saved_values(F)
        needs = self.needs_input_grad
        gx = gy @ w if needs[0] else None
        gw = gb = None
        if needs[1]:
            gy2 = F.reshape(gy, (-1, gy.shape[-1]))
            gw = F.swap_last(gy2) @ F.reshape(x, (-1, x.shape[-1]))
        if len(needs) > 2 and needs[2]:
            gb = F.sum(F.reshape(gy, (-1, gy.shape[-1])), 0)
        return (gx, gw, gb) if len(needs) > 2 else (gx, gw)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` for ``weight`` of shape (out_features, in_features); any leading dims on ``x``."""
    x, weight = promote("linear", x, weight)
    if bias is None:
        return Linear()(x, weight)
    _, bias = promote("linear", x, bias)
    return Linear()(x, weight, bias)
