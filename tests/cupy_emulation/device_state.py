"""The emulated machine: two CUDA devices without peer access, the current device and stream per thread.

Device memory is memory of the CUDA-on-CPU emulator (tests/kernels/cuda_emu): every
allocation sits between guard pages and starts filled with 0xFF bytes (NaN), as fresh
GPU memory holds garbage, and RawModule kernels can take its addresses.
"""

from __future__ import annotations

import ctypes
import importlib
import sys
import threading
import weakref
from pathlib import Path

import numpy as np

DEVICE_COUNT = 2
DEVICE_NAME = "gpugrad emulated CUDA device (emulated, not a GPU)"
TOTAL_MEMORY = 16 * 2**30  # what memGetInfo reports; the host's own memory is the real bound
COMPUTE_CAPABILITY = (9, 0)

_local = threading.local()
_library = None
_library_lock = threading.Lock()


def current_device() -> int:
    return getattr(_local, "device", 0)


def set_current_device(index: int) -> None:
    check_device_index(index)
    _local.device = index


def check_device_index(index: int) -> None:
    from .cuda import runtime

    if not isinstance(index, (int, np.integer)) or not 0 <= index < DEVICE_COUNT:
        raise runtime.CUDARuntimeError(101, f"cudaErrorInvalidDevice: invalid device ordinal ({index!r})")


def stream_stack() -> dict:
    """Per thread: device -> list of streams made current with ``with stream:`` (innermost last)."""
    stacks = getattr(_local, "streams", None)
    if stacks is None:
        stacks = _local.streams = {}
    return stacks


def emulator_library():
    """The CUDA emulator (built by g++ once and cached on disk), loaded on first use."""
    global _library
    if _library is None:
        with _library_lock:
            if _library is None:
                kernels_dir = Path(__file__).resolve().parents[1] / "kernels"
                if str(kernels_dir) not in sys.path:
                    sys.path.insert(0, str(kernels_dir))
                build = importlib.import_module("cuda_emu.build")
                backend = importlib.import_module("cuda_emu.backend")
                _library = backend.EmulatorLibrary(build.build())
    return _library


def raw_allocate(nbytes: int):
    """``(address, keeper)``: ``nbytes`` of poisoned emulator memory, freed when ``keeper`` is collected.

    Not freed at interpreter exit: arrays still alive then may be read by other finalizers.
    """
    library = emulator_library()
    nbytes = max(int(nbytes), 0)
    with library.lock:
        address = library.lib.gg_emu_malloc(nbytes)
    if not address:
        raise MemoryError(f"the CUDA emulator could not allocate {nbytes} bytes")
    keeper = np.frombuffer((ctypes.c_ubyte * nbytes).from_address(address), np.uint8) if nbytes else \
        np.empty(0, np.uint8)
    weakref.finalize(keeper, library._free, address).atexit = False
    return address, keeper


def view_bytes(address: int, nbytes: int, keeper) -> np.ndarray:
    """A uint8 NumPy view of ``nbytes`` at ``address`` (even for 0 bytes) that keeps ``keeper`` alive."""
    return np.asarray(_Window(address, nbytes, keeper))


class _Window:
    """Exposes device memory to NumPy through the array interface; NumPy keeps it as the base."""

    def __init__(self, address, nbytes, keeper):
        self.keeper = keeper
        self.__array_interface__ = {"data": (int(address), False), "shape": (int(nbytes),), "typestr": "|u1",
                                    "version": 3}
