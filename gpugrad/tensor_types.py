"""PyTorch's legacy CPU tensor types: ``gg.FloatTensor``, ``gg.LongTensor``, ... (constructors and isinstance).

    >>> gg.FloatTensor([1, 2])        # data, cast: tensor([1., 2.])
    >>> gg.LongTensor(2, 3).shape     # sizes: an uninitialized (2, 3) int64 tensor
    (2, 3)
    >>> isinstance(gg.ones(2), gg.FloatTensor)
    True

They are not classes of their own (every tensor is a ``gg.Tensor``); as in
PyTorch, ``isinstance`` checks the dtype and that the tensor is on the CPU.
New code should write ``gg.tensor(data, dtype=...)`` or ``gg.empty(*sizes, dtype=...)``.
"""

from __future__ import annotations

from . import dtypes
from .creation import empty
from .device import device as parse_device
from .tensor import Tensor, tensor

__all__ = ["BoolTensor", "DoubleTensor", "FloatTensor", "IntTensor", "LongTensor"]


class _LegacyType(type):
    """The metaclass: calling a type constructs a tensor of its dtype; isinstance checks dtype and device."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device.type == "cpu"

    def __call__(cls, *args, device=None):
        if device is not None and parse_device(device).type != "cpu":
            raise RuntimeError(
                f"{cls.__name__}: legacy constructor expects device type: cpu but device type: "
                f"{parse_device(device).type} was passed; use gg.tensor(data, dtype={cls.dtype}, device=...)"
            )
        if not args:
            return empty(0, dtype=cls.dtype)
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            return empty(*args, dtype=cls.dtype)  # sizes (a tuple or list would be data, as in PyTorch)
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}(): expected sizes (ints) or one data argument, got {len(args)} arguments")
        data = args[0]
        if isinstance(data, Tensor):
            if data.dtype != cls.dtype or data.device.type != "cpu":
                raise TypeError(
                    f"{cls.__name__}(): expected a cpu tensor of dtype {cls.dtype}, got {data.dtype} on "
                    f"{data.device}; convert it with .to({cls.dtype})"
                )
            return data.detach()  # shares memory, as PyTorch's legacy constructor does
        return tensor(data, dtype=cls.dtype)


def _legacy_type(name: str, dtype: dtypes.dtype) -> type:
    doc = f"PyTorch's legacy constructor of CPU tensors of dtype {dtype}; see the module docstring."
    return _LegacyType(name, (), {"dtype": dtype, "is_cuda": False, "__doc__": doc, "__module__": "gpugrad"})


FloatTensor = _legacy_type("FloatTensor", dtypes.float32)
DoubleTensor = _legacy_type("DoubleTensor", dtypes.float64)
LongTensor = _legacy_type("LongTensor", dtypes.int64)
IntTensor = _legacy_type("IntTensor", dtypes.int32)
BoolTensor = _legacy_type("BoolTensor", dtypes.bool_)
