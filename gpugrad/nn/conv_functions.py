"""Convolution and pooling as functions: ``F.conv1d``/``conv2d``, ``F.max_pool1d``/``2d``, ``F.avg_pool1d``/``2d``,
``F.adaptive_avg_pool1d``/``2d``, ``F.unfold`` and ``F.fold`` (the 1-D forms run the 2-D ones over a height of 1).

All are built on the sliding windows of ``gpugrad.ops.window`` (copied out in
im2col's layout, folded back in backward), plus ordinary differentiable ops:
a convolution is a matmul over the windows, max pooling a max over each
window, average pooling a sum divided by the window's count. So the same code
runs on NumPy and CuPy, and gradients (and double backward) come from the
primitives.

    >>> import gpugrad.nn.functional as F
    >>> x, w = gg.randn(8, 1, 28, 28), gg.randn(6, 1, 5, 5)
    >>> F.max_pool2d(F.conv2d(x, w, padding=2).relu(), 2).shape
    (8, 6, 14, 14)
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..ops.linalg import matmul
from ..ops.window import WindowMax, WindowSpec, fold_windows, unfold_windows
from ..tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "fold", "max_pool1d",
    "max_pool2d", "unfold",
]


def _pair(op: str, name: str, value, count: int = 2) -> tuple:
    """An int or a sequence of ``count`` ints as a tuple (PyTorch's ``_pair``), with an error naming the argument."""
    values = (value,) * count if isinstance(value, int) else tuple(value)
    if len(values) != count or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{op}(): {name} must be an int or a tuple of {count} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _check_input(op: str, x: Tensor, spatial: int) -> tuple:
    """``x`` as a batched tensor, and whether it came without the batch dimension."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{op}(): expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input, "
            f"but got input of size: {list(x.shape)}"
        )
    return (x.unsqueeze(0), True) if x.ndim == spatial + 1 else (x, False)


# ----------------------------------------------------------- convolution
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) of (N, C_in, H, W) by weight (C_out, C_in/groups, kH, kW).

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) without the batch dimension.
        weight: (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: an int or (sH, sW).
        padding: an int, (pH, pW), ``"valid"`` (no padding) or ``"same"`` (output as large as
            the input; stride 1 only; an odd total goes on the bottom/right, as PyTorch).
        groups: split the channels into this many independent convolutions.

    Example:
        >>> F.conv2d(gg.randn(2, 3, 8, 8), gg.randn(4, 3, 3, 3), padding="same").shape
        (2, 4, 8, 8)
    """
    x, unbatched = _check_input("conv2d", input, 2)
    out = _convolve("conv2d", x, weight, bias, _pair("conv2d", "stride", stride),
                    padding, _pair("conv2d", "dilation", dilation), groups)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution of (N, C_in, L) by weight (C_out, C_in/groups, k); arguments as ``conv2d``'s, one int each.

    Runs as a 2-D convolution over a height of 1.

    Example:
        >>> F.conv1d(gg.randn(2, 3, 10), gg.randn(4, 3, 3), stride=2).shape
        (2, 4, 4)
    """
    x, unbatched = _check_input("conv1d", input, 1)
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        raise RuntimeError(f"conv1d(): weight must be 3-D (C_out, C_in/groups, k), got {_shape_of(weight)}")
    stride, dilation = _pair("conv1d", "stride", stride, 1), _pair("conv1d", "dilation", dilation, 1)
    padding = padding if isinstance(padding, str) else (0,) + _pair("conv1d", "padding", padding, 1)
    out = _convolve("conv1d", x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride, padding,
                    (1,) + dilation, groups).squeeze(2)
    return out.squeeze(0) if unbatched else out


def _shape_of(x) -> str:
    return str(list(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def _convolve(op: str, x: Tensor, weight: Tensor, bias, stride: tuple, padding, dilation: tuple,
              groups: int) -> Tensor:
    """The batched 2-D convolution: per group, weight (C_out/G, K) times window columns (K, N*oH*oW).

    Columns are laid out as PyTorch's im2col, (C*kH*kW, N*oH*oW): the copy that makes them
    moves whole rows of the input (measured ~2x faster than copying rows of windows).
    """
    _check_conv_operands(op, x, weight, bias, groups)
    out_channels, kernel = weight.shape[0], weight.shape[2:]
    spec = WindowSpec(kernel, stride, dilation, _conv_pads(op, padding, kernel, stride, dilation))
    _check_fits(op, x, spec)
    windows = unfold_windows(x, spec)  # (C, kH, kW, N, oH, oW)
    channels, kh, kw, n, oh, ow = windows.shape
    columns = windows.reshape(groups, channels // groups * kh * kw, n * oh * ow)
    out = matmul(weight.reshape(groups, out_channels // groups, -1), columns).reshape(out_channels, n, oh, ow)
    if bias is not None:
        out = out + bias.reshape(out_channels, 1, 1, 1)
    return out.permute(1, 0, 2, 3).contiguous()  # NCHW in memory, as PyTorch's: NumPy runs elementwise ops on it several times faster


def _check_conv_operands(op: str, x: Tensor, weight: Tensor, bias, groups: int) -> None:
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise RuntimeError(f"{op}(): weight must be 4-D (C_out, C_in/groups, kH, kW), got {_shape_of(weight)}")
    for name, t in [("weight", weight)] + ([("bias", bias)] if bias is not None else []):
        if t.device is not x.device:
            raise RuntimeError(f"{op}(): input is on {x.device} but {name} is on {t.device}; move them to one "
                               f"device with .to(device) (e.g. model.to(x.device))")
        if t.dtype != x.dtype:
            raise RuntimeError(f"{op}(): input type ({x.dtype}) and {name} type ({t.dtype}) should be the same; "
                               f"cast one with .to(dtype) (e.g. x.float() or model.double())")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point input, got {x.dtype}; convert it with .float()")
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(f"{op}(): groups must be a positive int dividing C_out={weight.shape[0]}, got {groups}")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"{op}(): given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to "
            f"have {weight.shape[1] * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"{op}(): bias must have shape ({weight.shape[0]},) (one per output channel), "
                           f"got {list(bias.shape)}")


def _conv_pads(op: str, padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """((top, bottom), (left, right)) from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"{op}(): invalid padding string {padding!r}, should be one of ['valid', 'same']")
        if stride != (1, 1):
            raise ValueError(f"{op}(): padding='same' is not supported for strided convolutions (stride={stride})")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((total // 2, total - total // 2) for total in totals)  # the odd one out goes after, as PyTorch
    pads = _pair(op, "padding", padding)
    if min(pads) < 0:
        raise RuntimeError(f"{op}(): negative padding is not supported, got padding={padding}")
    return tuple((p, p) for p in pads)


def _check_fits(op: str, x: Tensor, spec: WindowSpec) -> None:
    if min(spec.stride) < 1 or min(spec.dilation) < 1:
        raise RuntimeError(f"{op}(): stride and dilation must be positive, got stride={spec.stride}, "
                           f"dilation={spec.dilation}")
    if spec.out_size(x.shape[2], 0) < 1 or spec.out_size(x.shape[3], 1) < 1:
        padded = [x.shape[2 + a] + sum(spec.pads[a]) for a in (0, 1)]
        reach = [spec.dilation[a] * (spec.kernel[a] - 1) + 1 for a in (0, 1)]
        raise RuntimeError(
            f"{op}(): calculated padded input size per channel: ({padded[0]} x {padded[1]}). Kernel size "
            f"(with dilation): ({reach[0]} x {reach[1]}). Kernel size can't be greater than actual input size "
            f"(input {list(x.shape)})"
        )


# ----------------------------------------------------------- pooling
def _pool_spec(op: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool) -> WindowSpec:
    """The windows of a pooling op; ``ceil_mode`` adds padding after, so a last partial window fits."""
    kernel = _pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _pair(
        op, "stride", stride)
    pads, dilation = _pair(op, "padding", padding), _pair(op, "dilation", dilation)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}(): kernel_size, stride and dilation must be positive, got kernel_size={kernel}, "
                         f"stride={stride}, dilation={dilation}")
    for p, k in zip(pads, kernel):
        if p < 0 or p > k // 2:  # PyTorch's rule (half of the kernel, whatever the dilation)
            raise RuntimeError(f"{op}(): pad should be smaller than or equal to half of kernel size, but got "
                               f"padding={pads} for kernel_size={kernel}")
    after = [_ceil_extra(x.shape[2 + a], kernel[a], stride[a], pads[a], dilation[a]) if ceil_mode else 0
             for a in (0, 1)]
    spec = WindowSpec(kernel, stride, dilation, tuple((p, p + e) for p, e in zip(pads, after)))
    _check_fits(op, x, spec)
    return spec


def _pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (with ceil_mode, a last window must start inside the input or left padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _ceil_extra(size: int, k: int, s: int, p: int, d: int) -> int:
    """Padding to add after the input so that ceil_mode's last window fits."""
    out = _pool_out_size(size, k, s, p, d, True)
    return max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p))


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The largest value of each window of (N, C, H, W) (or (C, H, W)); padding never wins.

    ``stride`` defaults to ``kernel_size``. The gradient goes to one maximum per
    window (the first), as PyTorch's. With ``return_indices`` also returns each
    maximum's flat index into its H*W plane (int64), as PyTorch.

    Example:
        >>> F.max_pool2d(gg.randn(1, 1, 4, 4), 2).shape
        (1, 1, 2, 2)
    """
    x, unbatched = _check_input("max_pool2d", input, 2)
    spec = _pool_spec("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    maximum = WindowMax(spec, pad_value=_lowest(x.dtype), keep_winners=return_indices)
    values = maximum(x)
    if return_indices:
        indices = _plane_indices(maximum.chosen, spec, x.shape[3], x.device)
        return (values.squeeze(0), indices.squeeze(0)) if unbatched else (values, indices)
    return values.squeeze(0) if unbatched else values


def _lowest(dtype: dtypes.dtype):
    return -math.inf if dtype.is_floating_point else np.iinfo(dtype.np).min


def _plane_indices(offsets, spec: WindowSpec, width: int, device) -> Tensor:
    """Offsets within each window (row-major over kH*kW) as flat indices into the unpadded H*W plane."""
    xp = device.xp
    kw = spec.kernel[1]
    offsets = offsets.astype(dtypes.int64.np)  # they come as int8: offset * dilation could overflow it
    oh, ow = offsets.shape[-2:]
    row_start = xp.arange(oh).reshape(oh, 1) * spec.stride[0] - spec.pads[0][0]
    col_start = xp.arange(ow).reshape(1, ow) * spec.stride[1] - spec.pads[1][0]
    rows = row_start + (offsets // kw) * spec.dilation[0]
    cols = col_start + (offsets % kw) * spec.dilation[1]
    return Tensor._make((rows * width + cols).astype(dtypes.int64.np), device)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window of (N, C, H, W) (or (C, H, W)).

    ``stride`` defaults to ``kernel_size``. With ``count_include_pad`` (the
    default) zero padding counts in the divisor; the extra windows ``ceil_mode``
    adds only count what overlaps the input and padding, as PyTorch.

    Example:
        >>> F.avg_pool2d(gg.ones(1, 1, 4, 4), 2, padding=1, count_include_pad=False)
        tensor([[[[1., 1., 1.],
                  [1., 1., 1.],
                  [1., 1., 1.]]]])
    """
    x, unbatched = _check_input("avg_pool2d", input, 2)
    spec = _pool_spec("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    sums = unfold_windows(x, spec).sum(dim=(1, 2)).permute(1, 0, 2, 3)
    if divisor_override:
        out = sums / divisor_override
    else:
        counts = _window_counts(spec, x.shape[2:], sums.shape[2:], count_include_pad)
        out = sums / Tensor._make(x.device.put(counts.astype(x.dtype.np)), x.device)
    return out.squeeze(0) if unbatched else out


def _window_counts(spec: WindowSpec, in_size: tuple, out_size: tuple, count_include_pad: bool) -> np.ndarray:
    """(oH, oW): how many positions of each window count in its mean (a product of the per-axis counts)."""
    per_axis = []
    for a in (0, 1):
        pad, k = spec.pads[a][0], spec.kernel[a]
        start = np.arange(out_size[a]) * spec.stride[a] - pad
        end = np.minimum(start + k, in_size[a] + pad)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, in_size[a])
        per_axis.append(end - start)
    return np.outer(per_axis[0], per_axis[1])


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (oH, oW) whatever the input's size (``None`` keeps that dimension).

    Window i along a dimension of size S covers [floor(i*S/o), ceil((i+1)*S/o)), as PyTorch.
    Each 2-D window mean is a row mean of column means, so this is two small matmuls
    with averaging matrices: ``A_h @ x @ A_w.T``.

    Example:
        >>> F.adaptive_avg_pool2d(gg.randn(2, 3, 7, 9), (1, 1)).shape
        (2, 3, 1, 1)
    """
    x, unbatched = _check_input("adaptive_avg_pool2d", input, 2)
    sizes = (output_size, output_size) if isinstance(output_size, int) or output_size is None else output_size
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d(): output_size must be an int or a pair, got {output_size!r}")
    out_h, out_w = (x.shape[2 + a] if s is None else int(s) for a, s in enumerate(sizes))
    if out_h < 1 or out_w < 1:
        raise RuntimeError(f"adaptive_avg_pool2d(): output_size must be positive, got {output_size!r}")
    rows = _averaging_matrix(x.shape[2], out_h, x)
    cols = _averaging_matrix(x.shape[3], out_w, x)
    out = matmul(matmul(rows, x), cols.mT)
    return out.squeeze(0) if unbatched else out


def _averaging_matrix(size: int, out: int, like: Tensor) -> Tensor:
    """(out, size): row i averages adaptive window i of a dimension of ``size``."""
    matrix = np.zeros((out, size), dtype=like.dtype.np)
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return Tensor._make(like.device.put(matrix), like.device)


# ----------------------------------------------------------- 1-D pooling: 2-D pooling over a height of 1
def _as_2d(op: str, name: str, value, fill: int):
    """A 1-D pooling argument as its 2-D form with a leading ``fill`` (None stays None)."""
    return None if value is None else (fill,) + _pair(op, name, value, 1)


def _pool1d(op: str, pool2d, input: Tensor, *args):
    x, unbatched = _check_input(op, input, 1)
    out = pool2d(x.unsqueeze(2), *args)
    out = tuple(o.squeeze(2) for o in out) if isinstance(out, tuple) else out.squeeze(2)
    if unbatched:
        out = tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    return out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``max_pool2d`` over (N, C, L) (or (C, L)); indices index into L.

    Example:
        >>> F.max_pool1d(gg.randn(2, 3, 10), 2).shape
        (2, 3, 5)
    """
    op = "max_pool1d"
    return _pool1d(op, max_pool2d, input, _as_2d(op, "kernel_size", kernel_size, 1), _as_2d(op, "stride", stride, 1),
                   _as_2d(op, "padding", padding, 0), _as_2d(op, "dilation", dilation, 1), ceil_mode, return_indices)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """``avg_pool2d`` over (N, C, L) (or (C, L)).

    Example:
        >>> F.avg_pool1d(gg.randn(2, 3, 10), 3, 2, 1).shape
        (2, 3, 5)
    """
    op = "avg_pool1d"
    return _pool1d(op, avg_pool2d, input, _as_2d(op, "kernel_size", kernel_size, 1), _as_2d(op, "stride", stride, 1),
                   _as_2d(op, "padding", padding, 0), ceil_mode, count_include_pad)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """``adaptive_avg_pool2d`` over (N, C, L) (or (C, L)) to length ``output_size``.

    Example:
        >>> F.adaptive_avg_pool1d(gg.randn(2, 3, 10), 4).shape
        (2, 3, 4)
    """
    size = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    return _pool1d("adaptive_avg_pool1d", adaptive_avg_pool2d, input, (1, size))


# ----------------------------------------------------------- PyTorch's im2col / col2im
def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of (N, C, H, W) as columns: (N, C*kH*kW, L), as ``torch.nn.functional.unfold``.

    Example:
        >>> F.unfold(gg.randn(2, 3, 4, 4), 2).shape
        (2, 12, 9)
    """
    x, unbatched = _check_input("unfold", input, 2)
    spec = WindowSpec(_pair("unfold", "kernel_size", kernel_size), _pair("unfold", "stride", stride),
                      _pair("unfold", "dilation", dilation), tuple((p, p) for p in _pair("unfold", "padding", padding)))
    _check_fits("unfold", x, spec)
    windows = unfold_windows(x, spec)
    c, kh, kw, n, oh, ow = windows.shape
    out = windows.permute(3, 0, 1, 2, 4, 5).reshape(n, c * kh * kw, oh * ow)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The inverse layout of ``unfold``: (N, C*kH*kW, L) columns summed into (N, C, H, W), as PyTorch.

    Example:
        >>> F.fold(gg.ones(1, 4, 4), (3, 3), 2)[0, 0]
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """
    x, unbatched = _check_input("fold", input, 1)
    size = _pair("fold", "output_size", output_size)
    spec = WindowSpec(_pair("fold", "kernel_size", kernel_size), _pair("fold", "stride", stride),
                      _pair("fold", "dilation", dilation), tuple((p, p) for p in _pair("fold", "padding", padding)))
    kh, kw = spec.kernel
    oh, ow = spec.out_size(size[0], 0), spec.out_size(size[1], 1)
    n, rows, blocks = x.shape
    if rows % (kh * kw) or blocks != oh * ow:
        raise RuntimeError(
            f"fold(): expected input of shape (N, C*{kh}*{kw}, {oh * ow}) for output_size={size}, kernel_size="
            f"{spec.kernel}, dilation={spec.dilation}, padding={spec.pads[0][0], spec.pads[1][0]}, "
            f"stride={spec.stride}; got {list(input.shape)}"
        )
    windows = x.reshape(n, rows // (kh * kw), kh, kw, oh, ow).permute(1, 2, 3, 0, 4, 5)
    out = fold_windows(windows, spec, (n, rows // (kh * kw)) + size)
    return out.squeeze(0) if unbatched else out
