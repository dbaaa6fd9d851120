"""The CUDA emulator as a launch backend (gpugrad.backends.kernels.LaunchBackend), through ctypes.

Device arrays are NumPy arrays whose memory the emulator allocated between guard pages and
filled with 0xFF bytes (NaN), so the launchers in gpugrad.backends.kernels run unchanged: the same
argument checks, the same grid, block and shared-memory choices, the same kernel sources. A plain
NumPy array is a *host* array here, and passing one to a launcher is an error, as passing a NumPy
array to a CuPy kernel would be.

    >>> library = EmulatorLibrary(build.build())
    >>> backend = EmulatorBackend(library, schedule="reverse")
    >>> x = backend.upload(np.arange(6.0).reshape(2, 3), device=0)
    >>> kernels.sum_last_axis(backend, x)
    array([ 3., 12.])
"""

from __future__ import annotations

import ctypes
import threading
import weakref

import numpy as np

from gpugrad.backends.kernels import KernelSpec, LaunchBackend

SCHEDULES = ("forward", "reverse")


class EmulatorError(RuntimeError):
    """A launch the emulator refused or a kernel that misbehaved; ``kind`` says which."""

    kind = "error"


class LaunchConfigError(EmulatorError):
    kind = "launch configuration"


class KernelArgumentError(EmulatorError, TypeError):
    kind = "argument"


class BarrierError(EmulatorError):
    kind = "barrier"


class WarpCollectiveError(EmulatorError):
    kind = "warp collective"


class MemoryFault(EmulatorError):
    kind = "memory"


_ERRORS = {1: LaunchConfigError, 2: KernelArgumentError, 3: BarrierError, 4: WarpCollectiveError, 5: MemoryFault}


class EmulatorLibrary:
    """The compiled emulator (a shared library) and its C API."""

    def __init__(self, path):
        # PyDLL keeps the GIL during calls: a garbage-collected array's free can never run in the
        # middle of a launch on another thread.
        self.lib = lib = ctypes.PyDLL(str(path))
        lib.gg_emu_malloc.restype = ctypes.c_void_p
        lib.gg_emu_malloc.argtypes = [ctypes.c_ulonglong]
        lib.gg_emu_free.argtypes = [ctypes.c_void_p]
        lib.gg_emu_is_device_range.argtypes = [ctypes.c_void_p, ctypes.c_ulonglong]
        lib.gg_emu_kernel_name.restype = ctypes.c_char_p
        lib.gg_emu_kernel_signature.restype = ctypes.c_char_p
        lib.gg_emu_last_error.restype = ctypes.c_char_p
        lib.gg_emu_launch.argtypes = [
            ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint), ctypes.c_ulonglong,
            ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_uint64), ctypes.c_int,
        ]
        self.lock = threading.Lock()

    def kernel_signatures(self) -> dict[str, str]:
        """Every registered instantiation and its parameter types, e.g. ``{"sum_all_partial<float>": "..."}``."""
        lib = self.lib
        return {
            lib.gg_emu_kernel_name(i).decode(): lib.gg_emu_kernel_signature(i).decode()
            for i in range(lib.gg_emu_kernel_count())
        }

    def allocate(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        with self.lock:
            address = self.lib.gg_emu_malloc(nbytes)
        if not address:
            raise MemoryError(f"the CUDA emulator could not allocate {nbytes} bytes")
        buffer = (ctypes.c_ubyte * nbytes).from_address(address)
        weakref.finalize(buffer, self._free, address)
        return np.frombuffer(buffer, dtype=dtype).reshape(shape)

    def _free(self, address: int) -> None:
        with self.lock:
            self.lib.gg_emu_free(address)

    def is_device_range(self, address: int, nbytes: int) -> bool:
        return bool(self.lib.gg_emu_is_device_range(address, nbytes))

    def launch(self, expression: str, grid, block, args, shared_mem: int, schedule: str) -> None:
        """Run a registered kernel; raises an EmulatorError subclass with the emulator's message."""
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        types, values = zip(*(self._marshal(i, arg) for i, arg in enumerate(args))) if args else ((), ())
        type_array = (ctypes.c_char_p * max(1, len(types)))(*[t.encode() for t in types])
        value_array = (ctypes.c_uint64 * max(1, len(values)))(*values)
        grid3 = (ctypes.c_uint * 3)(*_dim3(grid))
        block3 = (ctypes.c_uint * 3)(*_dim3(block))
        with self.lock:
            code = self.lib.gg_emu_launch(expression.encode(), grid3, block3, int(shared_mem), len(types), type_array,
                                          value_array, SCHEDULES.index(schedule))
            message = self.lib.gg_emu_last_error().decode()
        if code:
            raise _ERRORS.get(code, EmulatorError)(f"{message} [{schedule} schedule]")

    def _marshal(self, index: int, arg) -> tuple[str, int]:
        """(type name, 8 bytes as an int) for one argument, converted the way CuPy converts it."""
        if arg is None:
            return "null", 0
        if isinstance(arg, np.ndarray):
            address = arg.__array_interface__["data"][0]
            if not self.is_device_range(address, arg.nbytes):
                raise KernelArgumentError(
                    f"argument {index} is a host NumPy array (shape {arg.shape}), not emulator device memory; "
                    "allocate it with backend.empty/backend.upload"
                )
            return f"{arg.dtype.name}*", address
        if isinstance(arg, (bool, int)):  # CuPy: every Python int (bool included) becomes int64
            arg = np.int64(arg)
        elif isinstance(arg, float):  # ... and every Python float a double
            arg = np.float64(arg)
        if not isinstance(arg, np.generic) or arg.dtype.itemsize > 8:
            raise KernelArgumentError(f"argument {index} of type {type(arg).__name__} cannot be passed to a kernel")
        return arg.dtype.name, int.from_bytes(arg.tobytes().ljust(8, b"\0"), "little")


def _dim3(size) -> tuple[int, int, int]:
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    return tuple(int(n) for n in size + (1,) * (3 - len(size)))


class EmulatorBackend(LaunchBackend):
    """The launch backend that runs kernels in the emulator, with one thread schedule.

    Args:
        library: the loaded EmulatorLibrary.
        schedule: "forward" (threads 0..n-1 and blocks in order) or "reverse"; a kernel missing a
            barrier usually reads poison in one of the two.
    """

    name = "cuda-emu"

    def __init__(self, library: EmulatorLibrary, schedule: str = "forward"):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        self.library = library
        self.schedule = schedule
        self.launches: list[tuple[str, tuple, tuple, int]] = []  # (expression, grid, block, shared_mem)

    def __repr__(self) -> str:
        return f"EmulatorBackend(schedule={self.schedule!r})"

    def is_array(self, array) -> bool:
        return isinstance(array, np.ndarray) and self.library.is_device_range(
            array.__array_interface__["data"][0], array.nbytes)

    def device_id(self, array) -> int:
        return 0

    def empty(self, shape, dtype, device: int = 0) -> np.ndarray:
        return self.library.allocate(shape, dtype)

    def upload(self, host, device: int = 0) -> np.ndarray:
        host = np.asarray(host)
        array = self.library.allocate(host.shape, host.dtype)
        array[...] = host
        return array

    def broadcast_contiguous(self, array, shape) -> np.ndarray:
        return self.upload(np.broadcast_to(array, shape))

    def launch(self, kernel: KernelSpec, dtype, grid, block, args, shared_mem, device=0) -> None:
        expression = kernel.expression(dtype)
        self.launches.append((expression, tuple(grid), tuple(block), int(shared_mem)))
        self.library.launch(expression, grid, block, args, shared_mem, self.schedule)

    def launch_expression(self, expression: str, grid, block, args, shared_mem: int = 0) -> None:
        """Launch any registered instantiation by name (the broken fixtures use this)."""
        self.library.launch(expression, grid, block, args, shared_mem, self.schedule)
