"""Tensor methods PyTorch scripts use for bookkeeping: ``new_zeros``/``new_ones``/``new_full``/``new_empty``/
``new_tensor``, ``reshape_as``, ``type``, ``nelement``, ``ndimension``, ``is_contiguous``, ``get_device``,
``data_ptr``; and ``gg.is_tensor``, ``gg.numel``, ``gg.is_floating_point``.

The ``new_*`` factories make a tensor with ``self``'s dtype and device unless
told otherwise, as PyTorch's do.
"""

from __future__ import annotations

from .. import creation, dtypes
from ..backends import is_cupy_array
from ..tensor import Tensor, tensor
from .shape import reshape

# PyTorch's legacy type names, as ``Tensor.type()`` returns them
_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
    "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
}
_DTYPES_BY_TYPE_NAME = {name: dtype_name for dtype_name, name in _TYPE_NAMES.items()}


def _sizes(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def _factory_args(self: Tensor, dtype, device) -> dict:
    return {"dtype": self.dtype if dtype is None else dtype, "device": self.device if device is None else device}


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``size``, with ``self``'s dtype and device unless given.

    Example:
        >>> gg.ones(2, dtype=gg.float64).new_zeros(3).dtype
        gpugrad.float64
    """
    return creation.zeros(*_sizes(size), requires_grad=requires_grad, **_factory_args(self, dtype, device))


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``size``, with ``self``'s dtype and device unless given."""
    return creation.ones(*_sizes(size), requires_grad=requires_grad, **_factory_args(self, dtype, device))


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size``, with ``self``'s dtype and device unless given."""
    return creation.empty(*_sizes(size), requires_grad=requires_grad, **_factory_args(self, dtype, device))


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere in ``size``, with ``self``'s dtype and device unless given."""
    return creation.full(tuple(size), fill_value, requires_grad=requires_grad, **_factory_args(self, dtype, device))


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` as a tensor with ``self``'s dtype and device unless given (a copy also of a Tensor,
    detached from its graph).

    Example:
        >>> gg.zeros(1, dtype=gg.float64).new_tensor([1, 2])
        tensor([1., 2.], dtype=gpugrad.float64)
    """
    if isinstance(data, Tensor):
        data = data.detach().clone()
    return tensor(data, requires_grad=requires_grad, **_factory_args(self, dtype, device))


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` reshaped to ``other``'s shape.

    Example:
        >>> gg.arange(6).reshape_as(gg.zeros(2, 3)).shape
        (2, 3)
    """
    return reshape(self, tuple(other.shape))


def type(self: Tensor, dtype=None, non_blocking: bool = False, **kwargs):  # noqa: A001 - PyTorch's name
    """Without ``dtype``: the legacy type name (``"torch.FloatTensor"``, ``"torch.cuda.LongTensor"``); with
    one (a dtype or such a name): ``self`` cast to it.

    Differs from PyTorch: the name says ``torch.`` (what scripts compare with), not ``gpugrad.``.

    Example:
        >>> gg.ones(2).type()
        'torch.FloatTensor'
        >>> gg.ones(2).type(gg.int64).dtype
        gpugrad.int64
    """
    if dtype is None:
        prefix = "torch.cuda." if self.device.type == "cuda" else "torch."
        return prefix + _TYPE_NAMES[self.dtype.name]
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        return _cast_to_type_name(self, dtype)
    return self.to(dtypes.to_dtype(dtype))


def _cast_to_type_name(self: Tensor, name: str) -> Tensor:
    *prefix, short = name.split(".")
    if short not in _DTYPES_BY_TYPE_NAME or prefix[:1] not in ([], ["torch"], ["gpugrad"]):
        raise ValueError(f"type(): invalid type {name!r}; use e.g. 'torch.FloatTensor' or a dtype such as "
                         "gg.float32")
    target = dtypes.to_dtype(_DTYPES_BY_TYPE_NAME[short])
    if "cuda" in prefix and self.device.type != "cuda":
        return self.to("cuda", target)
    if "cuda" not in prefix and self.device.type == "cuda":
        return self.to("cpu", target)
    return self.to(target)


def nelement(self: Tensor) -> int:
    """The number of elements (``numel``)."""
    return self.numel()


def ndimension(self: Tensor) -> int:
    """The number of dimensions (``dim``)."""
    return self.dim()


def is_contiguous(self: Tensor, memory_format=None) -> bool:
    """True if the elements lie in row-major order without gaps (what ``contiguous()`` makes)."""
    return bool(self.array.flags.c_contiguous)


def get_device(self: Tensor) -> int:
    """The CUDA ordinal of the tensor's device, or -1 on the CPU."""
    return -1 if self.device.type == "cpu" else self.device.index


def data_ptr(self: Tensor) -> int:
    """The address of the first element (a device address for a CUDA tensor)."""
    if is_cupy_array(self.array):
        return int(self.array.data.ptr)
    return int(self.array.ctypes.data)


def is_tensor(obj) -> bool:
    """True if ``obj`` is a gpugrad Tensor (or a Parameter).

    Example:
        >>> gg.is_tensor(gg.ones(1)), gg.is_tensor([1.0])
        (True, False)
    """
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:  # noqa: A002
    """The number of elements of ``input``.

    Example:
        >>> gg.numel(gg.zeros(2, 3))
        6
    """
    return input.numel()


def is_floating_point(input: Tensor) -> bool:  # noqa: A002
    """True if ``input``'s dtype is a floating point type.

    Example:
        >>> gg.is_floating_point(gg.ones(1)), gg.is_floating_point(gg.ones(1, dtype=gg.int64))
        (True, False)
    """
    return input.is_floating_point()


METHODS = {
    "new_zeros": new_zeros, "new_ones": new_ones, "new_empty": new_empty, "new_full": new_full,
    "new_tensor": new_tensor, "reshape_as": reshape_as, "type": type, "nelement": nelement,
    "ndimension": ndimension, "is_contiguous": is_contiguous, "get_device": get_device, "data_ptr": data_ptr,
}
