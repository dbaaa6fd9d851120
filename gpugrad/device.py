"""Devices: where a tensor's array lives and which array module computes on it.

    >>> import gpugrad as gg
    >>> gg.device("cpu")
    device(type='cpu')
    >>> gg.device("auto")          # cuda:0 when a GPU is usable, else cpu
    device(type='cpu')

Device objects are interned, so ``a.device is b.device`` is the fast check
ops use, and a device compares equal to its string form (``t.device == "cpu"``).

``gg.device("cuda")`` can be built and inspected on a machine without a GPU,
as in PyTorch; the error (with its reason and fix) comes when something is
allocated on it. Code that allocates resolves devices with :func:`resolve`.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from . import backends
from .backends import cupy_import


class Device:
    """A place arrays live: ``Device("cpu")`` or ``Device("cuda", 1)``.

    Attributes:
        type: "cpu" or "cuda".
        index: the CUDA ordinal, or None for the CPU.
        xp: the array module (numpy or cupy) ops use on this device.
    """

    __slots__ = ("type", "index", "xp", "_name")

    def __init__(self, type_: str, index: int | None = None):
        self.type = type_
        self.index = index
        self._name = type_ if index is None else f"{type_}:{index}"
        self.xp = np if type_ == "cpu" else cupy_import.cupy

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self._name

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (ValueError, RuntimeError):
                return False
        return self is other or isinstance(other, Device) and self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __reduce__(self):
        return (device, (self._name,))

    def put(self, array):
        """A copy of ``array`` (NumPy or CuPy) on this device, or ``array`` itself if it is already here."""
        if self.type == "cpu":
            return backends.to_host(array)
        return backends.to_cuda(array, self.index)

    def activate(self):
        """A context in which new CuPy arrays land on this device (nothing to do for the CPU).

        CuPy allocates on its *current* device, not on the device of the tensor being made, so
        every factory and cast for ``cuda:N`` runs inside ``with dev.activate():``.
        """
        if self.type == "cpu":
            return contextlib.nullcontext()
        return cupy_import.cupy.cuda.Device(self.index)

    def holds(self, array) -> bool:
        """Whether ``array`` is an array of this device."""
        if self.type == "cpu":
            return isinstance(array, np.ndarray)
        return backends.is_cupy_array(array) and array.device.id == self.index


def on_tensor_device(function):
    """Run ``function`` with the CUDA device of its first tensor argument current (the CPU: as it is).

    For code that calls the array module directly instead of through a ``Function`` (which
    enters the device itself): CuPy allocates on, and only accepts arrays of, its current
    device, so an op on ``cuda:1`` tensors must make ``cuda:1`` current, as PyTorch's device
    guards do.
    """

    @functools.wraps(function)
    def on_device(*args, **kwargs):
        if args and getattr(args[0], "device", None) is _CPU:  # the common case, kept cheap
            return function(*args, **kwargs)
        return call_on_tensor_device(function, args, kwargs)

    return on_device


def on_own_device(method):
    """``on_tensor_device`` for a Tensor method (``t == u``, ``t.sub_(u)``): the device is ``self``'s, so no
    lookup among the arguments (operators and in-place methods are hot)."""

    @functools.wraps(method)
    def on_device(self, *args, **kwargs):
        if self.device is _CPU:
            return method(self, *args, **kwargs)
        with self.device.activate():
            return method(self, *args, **kwargs)

    return on_device


def call_on_tensor_device(function, args, kwargs):
    """``function(*args, **kwargs)`` with the CUDA device of the first tensor among them current."""
    for arg in (*args, *kwargs.values()) if kwargs else args:
        where = getattr(arg, "device", None)
        if where.__class__ is Device:
            if where.type == "cpu":
                break
            with where.activate():
                return function(*args, **kwargs)
    return function(*args, **kwargs)


_CPU = Device("cpu")
_cuda_devices: dict[int, Device] = {}
_default_device = _CPU


def _cuda(index: int) -> Device:
    if not cupy_import.available():
        raise RuntimeError(f"cannot use device 'cuda:{index}': {cupy_import.reason()}")
    count = cupy_import.device_count()
    if not 0 <= index < count:
        raise RuntimeError(
            f"cannot use device 'cuda:{index}': this machine has {count} CUDA device(s), "
            f"valid indices are 0..{count - 1}"
        )
    if index not in _cuda_devices:
        _cuda_devices[index] = Device("cuda", index)
    return _cuda_devices[index]


def device(spec="cpu", index: int | None = None) -> Device:
    """A device: ``"cpu"``, ``"cuda"`` (= the current CUDA device, 0 unless set), ``"cuda:1"`` or ``"auto"``.

    A CUDA device can be built and inspected without a usable GPU (as ``torch.device``);
    allocating on it then raises, saying why CUDA is not usable and what to do.

    Args:
        spec: a string as above, a Device, or an int (a CUDA ordinal, as in PyTorch).
        index: the CUDA ordinal, when ``spec`` is ``"cuda"``.

    Raises:
        ValueError: for a string that names no device.

    Example:
        >>> d = gg.device("cuda")          # fine on a machine with no GPU
        >>> d.type, d.index
        ('cuda', 0)
        >>> gg.zeros(2, device=d)          # there, this raises
        RuntimeError: cannot use device 'cuda:0': CuPy is not installed (...); install the CUDA extra ...
    """
    return _parse(spec, index, _cuda_or_unusable)


def resolve(spec="cpu", index: int | None = None) -> Device:
    """The interned, usable Device for ``spec`` (as :func:`device`), for code that allocates on it.

    Raises:
        RuntimeError: for a CUDA device when CUDA is not usable, with the reason and the fix.
    """
    if isinstance(spec, Device) and (spec.type == "cpu" or _cuda_devices.get(spec.index) is spec):
        return spec  # the common case: an interned device
    return _parse(spec, index, _cuda)


def _cuda_or_unusable(index: int) -> Device:
    """The CUDA device ``index``, or a Device naming it that cannot allocate (no usable GPU)."""
    try:
        return _cuda(index)
    except RuntimeError:
        return Device("cuda", index)


def _parse(spec, index, cuda) -> Device:
    """Parse a device spec; ``cuda(index)`` makes CUDA devices (strict or not)."""
    if isinstance(spec, Device):
        return spec if spec.type == "cpu" else cuda(spec.index)
    if isinstance(spec, int) and not isinstance(spec, bool):
        return cuda(spec)
    if not isinstance(spec, str):
        raise TypeError(f"device(): expected a string like 'cpu' or 'cuda:0', got {type(spec).__name__}")
    text = spec.strip().lower()
    if text == "cpu" and index is None:
        return _CPU
    if text == "auto":
        return cuda(0) if cupy_import.available() else _CPU
    kind, _, ordinal = text.partition(":")
    if kind == "cuda":
        if ordinal and index is not None:
            raise ValueError(f"device(): {spec!r} already names an index; do not also pass index={index}")
        if ordinal:
            if not ordinal.isdigit():
                raise ValueError(f"device(): bad CUDA index in {spec!r}; write 'cuda' or 'cuda:N' with N >= 0")
            return cuda(int(ordinal))
        return cuda(index if index is not None else current_cuda_index())
    raise ValueError(f"device(): unknown device {spec!r}; expected 'cpu', 'cuda', 'cuda:N' or 'auto'")


_current_cuda = 0


def current_cuda_index() -> int:
    return _current_cuda


def set_current_cuda_index(index: int) -> None:
    global _current_cuda
    _cuda(index)
    _current_cuda = index


def get_default_device() -> Device:
    """The device new tensors are created on when none is given (cpu unless set)."""
    return _default_device


def set_default_device(spec) -> None:
    """Set the device factory functions (``zeros``, ``tensor``, ...) use by default.

    Example:
        >>> gg.set_default_device("auto")   # the GPU when there is one
    """
    global _default_device
    _default_device = resolve(spec)


def cpu() -> Device:
    return _CPU
