"""Array backends: NumPy for "cpu", CuPy for "cuda:N".

Ops never import NumPy or CuPy to compute; they receive arrays and use the
array module of the tensor's device (``device.xp``). This package owns the
few things that really differ between the two: moving arrays between host
and device (explicit and counted) and running an op on the right GPU.
"""

from __future__ import annotations

import numpy as np

from . import cudnn, cupy_import, mps  # noqa: F401 - cudnn, mps: the probes PyTorch scripts make

cupy = cupy_import.cupy


class TransferCounter:
    """Counts host<->device copies so benchmarks and the profiler can read them.

    ``listeners`` are called as ``fn(kind, nbytes)`` with kind "h2d" or "d2h";
    the profiler adds one to learn where each copy came from.
    """

    def __init__(self):
        self.listeners = []
        self.reset()

    def reset(self) -> None:
        self.counts = {"h2d": 0, "d2h": 0, "d2d": 0}
        self.bytes = {"h2d": 0, "d2h": 0, "d2d": 0}

    def record(self, kind: str, nbytes: int) -> None:
        self.counts[kind] += 1
        self.bytes[kind] += int(nbytes)
        for listener in self.listeners:
            listener(kind, nbytes)


transfers = TransferCounter()


def is_cupy_array(array) -> bool:
    return cupy is not None and isinstance(array, cupy.ndarray)


def has_values(array) -> bool:
    """Whether ``array`` holds values that can be read (not a tracing proxy of gg.compile / gg.Graph).

    Ops skip value checks (bounds, zero divisors) on proxies: a traced graph cannot branch on values.
    """
    return isinstance(array, np.ndarray) or is_cupy_array(array)


def _traced_copy(array):
    """A recorded copy when ``array`` is a tracing proxy (a compiled step runs on one device), else None."""
    from ..graph.tracer import TracedArray

    return array.copy() if isinstance(array, TracedArray) else None


def to_host(array) -> np.ndarray:
    """A NumPy array with the values of ``array``; a device array is copied (and counted)."""
    if isinstance(array, np.ndarray):
        return array
    if is_cupy_array(array):
        transfers.record("d2h", array.nbytes)
        return array.get()
    traced = _traced_copy(array)
    return traced if traced is not None else np.asarray(array)


def to_cuda(array, index: int):
    """A CuPy array on device ``index`` with the values of ``array`` (counted)."""
    if is_cupy_array(array):
        if array.device.id == index:
            return array
        transfers.record("d2d", array.nbytes)
        with cupy.cuda.Device(index):
            return cupy.array(array, copy=True)
    traced = _traced_copy(array)
    if traced is not None:
        return traced
    host = np.asarray(array)
    transfers.record("h2d", host.nbytes)
    with cupy.cuda.Device(index):
        return cupy.asarray(host)
