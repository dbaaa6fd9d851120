"""gpugrad's own CUDA kernels: where the sources are, how they are compiled, and a checked launcher for each.

The CUDA C++ sources live in ``kernels/`` at the top of the repository (shipped inside the package
as ``gpugrad/_kernels``). Each kernel is a template over the element type; the catalog below
(``KERNELS``) names every kernel and the file it lives in, and ``spec.expression(dtype)`` gives the
instantiation CuPy compiles (``name_expressions``), e.g. ``"softmax_forward<float>"``.

Launchers take a *launch backend* first. The backend allocates device arrays and runs a kernel;
the launcher does everything else: it checks the arguments (array kind, dtype, contiguity, shape,
device), so a wrong call raises instead of computing garbage, and it picks the grid, block and
shared memory. Two backends implement the interface:

- :class:`CupyBackend` (here): NVRTC through ``cupy.RawModule``, compiled once per
  (device, source file, dtype) and cached, launched on the current stream.
- the CPU emulator in ``tests/kernels/cuda_emu``: the same sources compiled with g++, run with
  real barriers and warp shuffles. It goes through these very launchers, so the tests cover the
  launch configuration and the argument checks too.

    >>> from gpugrad.backends import kernels
    >>> backend = kernels.cupy_backend()          # None without a usable GPU
    >>> y = kernels.softmax_forward(backend, x)   # x: a C-contiguous float32/float64 cupy array
"""

from __future__ import annotations

import collections
import functools
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cupy_import, transfers

# ---------------------------------------------------------------------------------------------
# The catalog

CUDA_TYPES = {"float32": "float", "float64": "double"}
FLOAT_DTYPES = tuple(np.dtype(name) for name in CUDA_TYPES)


@dataclass(frozen=True)
class KernelSpec:
    """One templated kernel: its name, the file it lives in, and the element types it is built for."""

    name: str
    source: str
    dtypes: tuple[str, ...] = tuple(CUDA_TYPES)

    def expression(self, dtype) -> str:
        """The instantiation's name, as CuPy's ``name_expressions`` and the emulator spell it."""
        dtype = np.dtype(dtype)
        if dtype.name not in self.dtypes:
            raise TypeError(f"kernel {self.name} is built for {', '.join(self.dtypes)}, not {dtype.name}")
        return f"{self.name}<{CUDA_TYPES[dtype.name]}>"


KERNELS: dict[str, KernelSpec] = {
    spec.name: spec
    for spec in (
        KernelSpec("sum_last_axis", "reduce.cu"),
        KernelSpec("sum_all_partial", "reduce.cu"),
        KernelSpec("softmax_forward", "softmax.cu"),
        KernelSpec("log_softmax_forward", "softmax.cu"),
        KernelSpec("softmax_backward", "softmax.cu"),
        KernelSpec("log_softmax_backward", "softmax.cu"),
        KernelSpec("bce_with_logits_forward_backward", "loss_bce.cu"),
        KernelSpec("mse_loss_forward_backward", "loss_mse.cu"),
        KernelSpec("sgd_multi_tensor", "optim_sgd.cu"),
        KernelSpec("adam_multi_tensor", "optim_adam.cu"),
    )
}

# What the backend hands NVRTC besides the -arch flag CuPy adds for the device.
NVRTC_OPTIONS = ("--std=c++17",)


def source_files() -> list[str]:
    """The .cu files that hold catalog kernels, sorted."""
    return sorted({spec.source for spec in KERNELS.values()})


def all_name_expressions() -> list[str]:
    """Every instantiation of every kernel, e.g. ``["sum_last_axis<float>", "sum_last_axis<double>", ...]``."""
    return [spec.expression(dtype) for spec in KERNELS.values() for dtype in spec.dtypes]


def instantiation_unit(source: str) -> str:
    """A CUDA translation unit that includes ``source`` and instantiates each of its catalog kernels.

    Taking a kernel template's address instantiates it for the device, as CuPy's name_expressions
    do; nvcc (ci/compile_kernels.sh) compiles this to check every instantiation the backend uses.
    """
    expressions = [spec.expression(dtype) for spec in KERNELS.values() if spec.source == source
                   for dtype in spec.dtypes]
    if not expressions:
        raise ValueError(f"kernels/{source} has no kernel in gpugrad.backends.kernels.KERNELS: add its kernels there")
    lines = [f"#include \"{source}\"", "", "void* gg_instantiations[] = {"]
    lines += [f"    reinterpret_cast<void*>(&{expression})," for expression in expressions]
    return "\n".join(lines + ["};", ""])


# ---------------------------------------------------------------------------------------------
# Sources


def kernel_source_dir() -> Path:
    """The folder with the .cu sources.

    ``$GPUGRAD_KERNEL_DIR`` wins; then ``gpugrad/_kernels`` (the copy in a wheel, or the symlink to
    ``kernels/`` in a checkout and an editable install); then ``kernels/`` beside the package.
    """
    candidates = [os.environ.get("GPUGRAD_KERNEL_DIR")]
    package_dir = Path(__file__).resolve().parent.parent
    candidates += [package_dir / "_kernels", package_dir.parent / "kernels"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "common.cuh").is_file():
            return Path(candidate)
    raise FileNotFoundError(
        "gpugrad's CUDA kernel sources are missing (looked in $GPUGRAD_KERNEL_DIR, gpugrad/_kernels and kernels/); "
        "reinstall gpugrad or set GPUGRAD_KERNEL_DIR to the repository's kernels/ folder"
    )


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')


def load_source(name: str) -> str:
    """The text of a kernel file with its local ``#include "..."`` files pasted in (each once).

    Pasting instead of passing ``-I`` keeps CuPy's compile cache honest: it hashes the source text,
    so an edit to a header must change the text it sees.
    """
    source_dir = kernel_source_dir()
    seen: set[str] = set()

    def expand(file_name: str) -> list[str]:
        if file_name in seen:
            return []
        seen.add(file_name)
        lines = []
        for line in (source_dir / file_name).read_text().splitlines():
            match = _INCLUDE.match(line)
            if match:
                lines += expand(match.group(1))
            elif line.strip() != "#pragma once":
                lines.append(line)
        return lines

    return "\n".join(expand(name)) + "\n"


# ---------------------------------------------------------------------------------------------
# Launch backends


class LaunchBackend:
    """What a launcher needs from a device: arrays, uploads and kernel launches.

    Arrays are the backend's own kind (``cupy.ndarray`` for CuPy, guarded NumPy arrays for the
    emulator); ``device`` is an integer ordinal.
    """

    name = "abstract"

    def is_array(self, array) -> bool:
        """Whether ``array`` is a device array of this backend."""
        raise NotImplementedError

    def device_id(self, array) -> int:
        raise NotImplementedError

    def empty(self, shape, dtype, device: int):
        """An uninitialised C-contiguous device array."""
        raise NotImplementedError

    def upload(self, host: np.ndarray, device: int):
        """A device copy of a NumPy array."""
        raise NotImplementedError

    def broadcast_contiguous(self, array, shape):
        """A C-contiguous device copy of ``array`` broadcast to ``shape`` (same device)."""
        raise NotImplementedError

    def launch(self, kernel: KernelSpec, dtype, grid: tuple, block: tuple, args: tuple, shared_mem: int,
               device: int) -> None:
        """Run ``kernel``'s ``dtype`` instantiation; scalars in ``args`` must be NumPy scalars of the right type."""
        raise NotImplementedError


class KernelCompileError(RuntimeError):
    """NVRTC rejected a kernel source; the message holds its log."""


class CupyBackend(LaunchBackend):
    """Launches on a real GPU through ``cupy.RawModule``."""

    name = "cupy"

    def __init__(self):
        if cupy_import.cupy is None:
            raise RuntimeError(f"the CuPy kernel backend needs CuPy: {cupy_import.reason()}")
        self.cupy = cupy_import.cupy
        self._compiles: dict[tuple[str, int], bool] = {}

    def is_array(self, array) -> bool:
        return isinstance(array, self.cupy.ndarray)

    def device_id(self, array) -> int:
        return array.device.id

    def empty(self, shape, dtype, device: int):
        with self.cupy.cuda.Device(device):
            return self.cupy.empty(shape, dtype=dtype)

    def upload(self, host: np.ndarray, device: int):
        transfers.record("h2d", host.nbytes)
        with self.cupy.cuda.Device(device):
            return self.cupy.asarray(host)

    def broadcast_contiguous(self, array, shape):
        with self.cupy.cuda.Device(array.device.id):
            return self.cupy.ascontiguousarray(self.cupy.broadcast_to(array, shape))

    def launch(self, kernel, dtype, grid, block, args, shared_mem, device):
        function = _cupy_function(device, kernel.source, np.dtype(dtype).name, kernel.expression(dtype))
        with self.cupy.cuda.Device(device):
            function(grid, block, args, shared_mem=shared_mem)

    def compiles(self, dtype, device: int) -> bool:
        """Whether every kernel source compiles for ``dtype`` on ``device``.

        Memoized, answer and all: a failure warns once with the reason, and callers keep using
        their CuPy code instead of retrying the compile on every call.
        """
        key = (np.dtype(dtype).name, device)
        if key not in self._compiles:
            try:
                for source in source_files():
                    _cupy_module(device, source, key[0])
                self._compiles[key] = True
            except Exception as exc:  # noqa: BLE001 - a missing NVRTC, a driver error: either way no fused kernels
                warnings.warn(f"gpugrad's fused CUDA kernels are off for {key[0]} on cuda:{device}: {exc}",
                              RuntimeWarning, stacklevel=2)
                self._compiles[key] = False
        return self._compiles[key]


@functools.lru_cache(maxsize=None)
def _cupy_module(device: int, source: str, dtype_name: str):
    """One compiled module per (device, source file, dtype) with all of that file's kernels."""
    cupy = cupy_import.cupy
    expressions = [spec.expression(dtype_name) for spec in KERNELS.values()
                   if spec.source == source and dtype_name in spec.dtypes]
    with cupy.cuda.Device(device):
        module = cupy.RawModule(code=load_source(source), options=NVRTC_OPTIONS, name_expressions=expressions)
        try:
            module.compile()
        except cupy.cuda.compiler.CompileException as exc:
            raise KernelCompileError(f"NVRTC could not compile kernels/{source} for {dtype_name}: {exc}") from exc
    return module


@functools.lru_cache(maxsize=None)
def _cupy_function(device: int, source: str, dtype_name: str, expression: str):
    return _cupy_module(device, source, dtype_name).get_function(expression)


_cupy_backend: CupyBackend | None = None


def cupy_backend() -> CupyBackend | None:
    """The shared CuPy backend, or None when CuPy has no usable GPU."""
    global _cupy_backend
    if _cupy_backend is None and cupy_import.available():
        _cupy_backend = CupyBackend()
    return _cupy_backend


def compile_with_nvrtc(archs=("80", "90"), sources=None) -> dict[str, str]:
    """Compile every kernel instantiation with NVRTC for each arch, without a GPU; returns the logs.

    CuPy's own compile calls ask the current device for its architecture even when given one, so
    they fail on a machine without a GPU. This goes to CuPy's NVRTC bindings directly, with the
    options the backend uses plus the two CuPy adds (``-arch=sm_XX`` and
    ``--device-as-default-execution-space``). Needs CuPy and NVRTC (``pip install cupy-cuda13x``).

    Returns:
        ``{"softmax.cu sm_90 float32": log}`` for every compile whose log is not empty (warnings).

    Raises:
        KernelCompileError: on the first source that does not compile.
    """
    from cupy.cuda import nvrtc  # the raw bindings: no device lookup

    logs = {}
    for source in sources or source_files():
        code = load_source(source)
        for arch in archs:
            for dtype_name in CUDA_TYPES:
                program = nvrtc.createProgram(code, source, [], [])
                try:
                    for spec in KERNELS.values():
                        if spec.source == source:
                            nvrtc.addNameExpression(program, spec.expression(dtype_name))
                    options = [*NVRTC_OPTIONS, f"-arch=sm_{arch}", "--device-as-default-execution-space"]
                    try:
                        nvrtc.compileProgram(program, options)
                    except nvrtc.NVRTCError as exc:
                        raise KernelCompileError(
                            f"NVRTC could not compile kernels/{source} for sm_{arch} {dtype_name}: {exc}\n"
                            f"{nvrtc.getProgramLog(program)}"
                        ) from exc
                    log = nvrtc.getProgramLog(program).strip()
                    if log:
                        logs[f"{source} sm_{arch} {dtype_name}"] = log
                finally:
                    nvrtc.destroyProgram(program)
    return logs


# ---------------------------------------------------------------------------------------------
# Launch configuration

WARP_SIZE = 32
MAX_THREADS = 1024
ELEMENTWISE_THREADS = 256
# At most MAX_THREADS blocks, so one block can finish their partial sums in a second pass.
MAX_ELEMENTWISE_BLOCKS = 1024
MAX_ROW_BLOCKS = 65535
MULTI_TENSOR_THREADS = 256
MULTI_TENSOR_CHUNK = 8192


def threads_for(work: int, limit: int = MAX_THREADS) -> int:
    """The smallest power of two >= work, at least a warp, at most ``limit``."""
    threads = WARP_SIZE
    while threads < work and threads < limit:
        threads *= 2
    return threads


def blocks_for(work: int, threads: int, limit: int) -> int:
    return max(1, min(-(-work // threads), limit))


def reduction_shared_mem(threads: int, dtype) -> int:
    """Bytes of shared memory the block reductions need: one value per warp."""
    return threads // WARP_SIZE * np.dtype(dtype).itemsize


# ---------------------------------------------------------------------------------------------
# Argument checks


def _check_arrays(op: str, backend: LaunchBackend, **arrays) -> tuple[np.dtype, int]:
    """Check that every non-None array is a C-contiguous device array, float32/float64, one dtype, one device.

    Returns:
        (dtype, device) shared by the arrays.
    """
    dtype = device = None
    first = None
    for name, array in arrays.items():
        if array is None:
            continue
        if not backend.is_array(array):
            raise TypeError(
                f"gpugrad kernel {op}: {name} must be a {backend.name} device array, got {type(array).__module__}."
                f"{type(array).__name__}; move it to the device first"
            )
        if array.dtype not in FLOAT_DTYPES:
            raise TypeError(f"gpugrad kernel {op}: {name} has dtype {array.dtype}; the kernels take float32 or float64")
        if not array.flags.c_contiguous:
            raise ValueError(
                f"gpugrad kernel {op}: {name} (shape {array.shape}, strides {array.strides}) is not C-contiguous; "
                "pass xp.ascontiguousarray(...) of it"
            )
        if dtype is None:
            dtype, device, first = array.dtype, backend.device_id(array), name
            continue
        if array.dtype != dtype:
            raise TypeError(
                f"gpugrad kernel {op}: {name} has dtype {array.dtype} but {first} has {dtype}; cast one of them"
            )
        if backend.device_id(array) != device:
            raise ValueError(
                f"gpugrad kernel {op}: {name} is on device {backend.device_id(array)} but {first} is on device "
                f"{device}; move them to one device"
            )
    return dtype, device


def _check_same_shape(op: str, reference_name: str, reference, **arrays) -> None:
    for name, array in arrays.items():
        if array is not None and array.shape != reference.shape:
            raise ValueError(
                f"gpugrad kernel {op}: {name} has shape {array.shape} but {reference_name} has shape "
                f"{reference.shape}; they must match"
            )


def _scalar(dtype, value):
    """A NumPy scalar of the kernel's element type: CuPy would pass a Python float as a double."""
    return np.dtype(dtype).type(value)


# ---------------------------------------------------------------------------------------------
# Reductions


def sum_last_axis(backend: LaunchBackend, x, *, mean: bool = False):
    """Sum (or mean) over the last axis of a C-contiguous array; returns shape ``x.shape[:-1]``.

    The mean of an empty axis is NaN, as in NumPy and PyTorch.

    Example:
        >>> kernels.sum_last_axis(backend, x, mean=True)   # == x.mean(axis=-1)
    """
    dtype, device = _check_arrays("sum_last_axis", backend, x=x)
    if x.ndim == 0:
        raise ValueError("gpugrad kernel sum_last_axis: x is 0-d; it needs a last axis (use sum_all)")
    cols = x.shape[-1]
    rows = math.prod(x.shape[:-1])
    out = backend.empty(x.shape[:-1], dtype, device)
    if rows == 0:
        return out
    scale = (1.0 / cols if cols else math.nan) if mean else 1.0
    threads = threads_for(cols)
    backend.launch(KERNELS["sum_last_axis"], dtype, (min(rows, MAX_ROW_BLOCKS), 1, 1), (threads, 1, 1),
                   (x, out, np.int64(rows), np.int64(cols), _scalar(dtype, scale)),
                   reduction_shared_mem(threads, dtype), device)
    return out


def sum_all(backend: LaunchBackend, x, *, mean: bool = False):
    """Sum (or mean) of all elements of a C-contiguous array, as a 0-d device array.

    Two launches of ``sum_all_partial``: per-block partial sums, then one block over them.

    Example:
        >>> float(kernels.sum_all(backend, x))   # == x.sum()
    """
    dtype, device = _check_arrays("sum_all", backend, x=x)
    scale = (1.0 / x.size if x.size else math.nan) if mean else 1.0
    return _sum_finish(backend, dtype, device, x, x.size, scale)


def _sum_finish(backend, dtype, device, values, count: int, scale: float):
    """Sum ``count`` contiguous ``values`` times ``scale`` into a 0-d array (two passes when needed)."""
    out = backend.empty((), dtype, device)
    if count > MAX_THREADS:
        threads = ELEMENTWISE_THREADS
        blocks = blocks_for(count, threads, MAX_ELEMENTWISE_BLOCKS)
        partials = backend.empty((blocks,), dtype, device)
        backend.launch(KERNELS["sum_all_partial"], dtype, (blocks, 1, 1), (threads, 1, 1),
                       (values, partials, np.int64(count), _scalar(dtype, 1.0)),
                       reduction_shared_mem(threads, dtype), device)
        values, count = partials, blocks
    threads = threads_for(count)
    backend.launch(KERNELS["sum_all_partial"], dtype, (1, 1, 1), (threads, 1, 1),
                   (values, out, np.int64(count), _scalar(dtype, scale)), reduction_shared_mem(threads, dtype), device)
    return out


# ---------------------------------------------------------------------------------------------
# Softmax


def _rows_and_cols(x) -> tuple[int, int]:
    if x.ndim == 0:
        raise ValueError("softmax needs at least one dimension")
    return math.prod(x.shape[:-1]), x.shape[-1]


def softmax_forward(backend: LaunchBackend, x, *, log: bool = False):
    """softmax (or log_softmax with ``log=True``) over the last axis of a C-contiguous array.

    Example:
        >>> y = kernels.softmax_forward(backend, logits, log=True)   # == log_softmax(logits, dim=-1)
    """
    name = "log_softmax_forward" if log else "softmax_forward"
    dtype, device = _check_arrays(name, backend, x=x)
    rows, cols = _rows_and_cols(x)
    y = backend.empty(x.shape, dtype, device)
    if rows and cols:
        threads = threads_for(cols)
        backend.launch(KERNELS[name], dtype, (min(rows, MAX_ROW_BLOCKS), 1, 1), (threads, 1, 1),
                       (x, y, np.int64(rows), np.int64(cols)), reduction_shared_mem(threads, dtype), device)
    return y


def softmax_backward(backend: LaunchBackend, y, grad_y, *, log: bool = False):
    """The gradient of softmax (or log_softmax) over the last axis, from its output ``y`` and ``grad_y``.

    Example:
        >>> grad_x = kernels.softmax_backward(backend, y, grad_y)
    """
    name = "log_softmax_backward" if log else "softmax_backward"
    dtype, device = _check_arrays(name, backend, y=y, grad_y=grad_y)
    _check_same_shape(name, "y", y, grad_y=grad_y)
    rows, cols = _rows_and_cols(y)
    grad_x = backend.empty(y.shape, dtype, device)
    if rows and cols:
        threads = threads_for(cols)
        backend.launch(KERNELS[name], dtype, (min(rows, MAX_ROW_BLOCKS), 1, 1), (threads, 1, 1),
                       (y, grad_y, grad_x, np.int64(rows), np.int64(cols)), reduction_shared_mem(threads, dtype),
                       device)
    return grad_x


# ---------------------------------------------------------------------------------------------
# Losses

REDUCTIONS = ("none", "mean", "sum")


def repeat_period(op: str, name: str, array, shape) -> int:
    """The period with which ``array`` repeats over an array of ``shape``; its shape must be a suffix of shape."""
    trimmed = tuple(array.shape)
    while trimmed and trimmed[0] == 1:
        trimmed = trimmed[1:]
    if len(trimmed) > len(shape) or (trimmed and tuple(shape[len(shape) - len(trimmed):]) != trimmed):
        raise ValueError(
            f"gpugrad kernel {op}: {name} of shape {array.shape} does not repeat evenly over the input's shape "
            f"{tuple(shape)}; broadcast it to the input's shape first (backend.broadcast_contiguous)"
        )
    return max(1, math.prod(trimmed))


def _loss_launch(backend, kernel_name, dtype, device, shape, inputs, reduction, compute_grad):
    """Shared by the fused losses: allocate outputs, launch, finish the reduction."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"gpugrad kernel {kernel_name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    n = math.prod(shape)
    grad = backend.empty(shape, dtype, device) if compute_grad else None
    per_element = backend.empty(shape, dtype, device) if reduction == "none" else None
    grad_scale = 1.0 / n if reduction == "mean" and n else 1.0
    threads = ELEMENTWISE_THREADS
    blocks = blocks_for(n, threads, MAX_ELEMENTWISE_BLOCKS)
    partials = backend.empty((blocks,), dtype, device) if reduction != "none" else None
    if n:
        backend.launch(KERNELS[kernel_name], dtype, (blocks, 1, 1), (threads, 1, 1),
                       (*inputs, per_element, partials, grad, np.int64(n), _scalar(dtype, grad_scale)),
                       reduction_shared_mem(threads, dtype), device)
    if reduction == "none":
        return per_element, grad
    scale = (1.0 / n if n else math.nan) if reduction == "mean" else 1.0
    return _sum_finish(backend, dtype, device, partials, blocks if n else 0, scale), grad


def bce_with_logits(backend: LaunchBackend, logits, target, *, weight=None, pos_weight=None, reduction="mean",
                    compute_grad: bool = True):
    """Fused ``binary_cross_entropy_with_logits``: the loss and d loss / d logits in one pass.

    ``weight`` and ``pos_weight`` (optional) must repeat evenly over ``logits``: their shapes, less
    leading 1s, are a suffix of its shape (a per-class ``pos_weight`` of shape ``(C,)`` is).

    Returns:
        (loss, grad): loss is per element for ``reduction="none"``, else a 0-d array; grad is the
        gradient of that loss for an upstream gradient of 1 (None unless ``compute_grad``).
        The gradient for ``target`` is not computed.

    Example:
        >>> loss, grad = kernels.bce_with_logits(backend, logits, target, pos_weight=pw)
    """
    op = "bce_with_logits_forward_backward"
    dtype, device = _check_arrays(op, backend, logits=logits, target=target, weight=weight, pos_weight=pos_weight)
    _check_same_shape(op, "logits", logits, target=target)
    weight_period = repeat_period(op, "weight", weight, logits.shape) if weight is not None else 1
    pos_weight_period = repeat_period(op, "pos_weight", pos_weight, logits.shape) if pos_weight is not None else 1
    inputs = (logits, target, weight, np.int64(weight_period), pos_weight, np.int64(pos_weight_period))
    return _loss_launch(backend, op, dtype, device, logits.shape, inputs, reduction, compute_grad)


def mse_loss(backend: LaunchBackend, input, target, *, reduction="mean", compute_grad: bool = True):
    """Fused ``mse_loss``: the loss and d loss / d input in one pass (the gradient for target is its negative).

    Returns:
        (loss, grad) as in :func:`bce_with_logits`.

    Example:
        >>> loss, grad = kernels.mse_loss(backend, prediction, target, reduction="sum")
    """
    op = "mse_loss_forward_backward"
    dtype, device = _check_arrays(op, backend, input=input, target=target)
    _check_same_shape(op, "input", input, target=target)
    return _loss_launch(backend, op, dtype, device, input.shape, (input, target), reduction, compute_grad)


# ---------------------------------------------------------------------------------------------
# Multi-tensor optimizer steps


class _TableCache:
    """Device copies of recent multi-tensor tables.

    A table holds only pointers and sizes, so equal contents mean an equal table: keyed by the
    bytes, an entry can never be stale, and steady training (same parameter and state arrays
    every step) uploads nothing.
    """

    def __init__(self, capacity: int = 16):
        self.capacity = capacity
        self.entries: collections.OrderedDict = collections.OrderedDict()

    def get(self, backend, device, tensor_table: np.ndarray, block_table_of):
        key = (id(backend), device, tensor_table.tobytes())
        entry = self.entries.get(key)
        if entry is None or entry[0] is not backend:
            entry = (backend, backend.upload(tensor_table, device), backend.upload(block_table_of(), device))
            self.entries[key] = entry
            if len(self.entries) > self.capacity:
                self.entries.popitem(last=False)
        self.entries.move_to_end(key)
        return entry[1], entry[2]


_tables = _TableCache()


def _check_tensor_lists(op: str, backend, lists: dict) -> tuple[np.dtype, int]:
    """Check parallel lists of arrays (None entries allowed where a list is optional)."""
    lengths = {name: len(arrays) for name, arrays in lists.items() if arrays is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"gpugrad kernel {op}: the lists differ in length: {lengths}")
    dtype = device = None
    params = lists["params"]
    for i in range(len(params)):
        entries = {f"{name}[{i}]": arrays[i] for name, arrays in lists.items() if arrays is not None}
        entry_dtype, entry_device = _check_arrays(op, backend, **entries)
        _check_same_shape(op, f"params[{i}]", params[i], **entries)
        if dtype is None:
            dtype, device = entry_dtype, entry_device
        elif (entry_dtype, entry_device) != (dtype, device):
            raise TypeError(
                f"gpugrad kernel {op}: params[{i}] is {entry_dtype} on device {entry_device} but params[0] is {dtype} "
                f"on device {device}; one launch takes one dtype on one device (gpugrad.backends.fused groups them)"
            )
    return dtype, device


def _pointer(array) -> int:
    if array is None:
        return 0
    data = getattr(array, "data", None)
    ptr = getattr(data, "ptr", None)  # cupy
    return int(ptr) if ptr is not None else int(array.__array_interface__["data"][0])


def _multi_tensor_launch(backend, kernel_name, dtype, device, columns: list[list], sizes: list[int], scalars):
    """Upload the (tensor, chunk) tables and run a multi-tensor kernel over every non-empty tensor."""
    chunks = np.array([-(-size // MULTI_TENSOR_CHUNK) for size in sizes], dtype=np.int64)
    if not chunks.sum():
        return
    rows = [[_pointer(array) for array in column] + [size] for column, size in zip(zip(*columns), sizes)]
    tensor_table = np.array(rows, dtype=np.uint64)

    def block_table():
        tensor_of_block = np.repeat(np.arange(len(sizes)), chunks)
        chunk_of_block = np.arange(chunks.sum()) - np.repeat(np.cumsum(chunks) - chunks, chunks)
        return np.stack([tensor_of_block, chunk_of_block], axis=1).astype(np.int32)

    tensors, blocks = _tables.get(backend, device, tensor_table, block_table)
    backend.launch(KERNELS[kernel_name], dtype, (int(chunks.sum()), 1, 1), (MULTI_TENSOR_THREADS, 1, 1),
                   (tensors, blocks, np.int64(MULTI_TENSOR_CHUNK), *scalars), 0, device)


def sgd_multi_tensor(backend: LaunchBackend, params, grads, momentum_buffers, *, lr, momentum, dampening, nesterov,
                     weight_decay, maximize, first_step) -> None:
    """One SGD step over lists of arrays of one dtype on one device, in one launch (updates in place).

    PyTorch's semantics: with ``first_step`` the momentum buffers are set to the gradient (no
    dampening); ``momentum_buffers`` may be None when ``momentum == 0``.

    Example:
        >>> kernels.sgd_multi_tensor(backend, params, grads, bufs, lr=0.1, momentum=0.9, dampening=0.0,
        ...                          nesterov=False, weight_decay=0.0, maximize=False, first_step=False)
    """
    op = "sgd_multi_tensor"
    if momentum != 0 and momentum_buffers is None:
        raise ValueError(f"gpugrad kernel {op}: momentum={momentum} needs momentum_buffers")
    buffers = momentum_buffers if momentum != 0 else None
    dtype, device = _check_tensor_lists(op, backend, {"params": params, "grads": grads, "momentum_buffers": buffers})
    if not params:
        return
    columns = [params, grads, buffers if buffers is not None else [None] * len(params)]
    scalars = (*(_scalar(dtype, v) for v in (lr, momentum, dampening, weight_decay)),
               np.int32(bool(nesterov)), np.int32(bool(maximize)), np.int32(bool(first_step)))
    _multi_tensor_launch(backend, op, dtype, device, columns, [p.size for p in params], scalars)


def adam_multi_tensor(backend: LaunchBackend, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step, lr,
                      beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize) -> None:
    """One Adam (``decoupled=False``) or AdamW (``decoupled=True``) step over lists of arrays, in one launch.

    ``step`` is the step count after the increment (1 on the first step); ``max_exp_avg_sqs`` may be
    None unless ``amsgrad``. The bias corrections are computed here in double precision.

    Example:
        >>> kernels.adam_multi_tensor(backend, params, grads, m, v, None, step=1, lr=1e-3, beta1=0.9,
        ...                           beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False,
        ...                           amsgrad=False, maximize=False)
    """
    op = "adam_multi_tensor"
    if step < 1:
        raise ValueError(f"gpugrad kernel {op}: step must be >= 1 (the count after the increment), got {step}")
    if amsgrad and max_exp_avg_sqs is None:
        raise ValueError(f"gpugrad kernel {op}: amsgrad=True needs max_exp_avg_sqs")
    maxima = max_exp_avg_sqs if amsgrad else None
    dtype, device = _check_tensor_lists(op, backend, {"params": params, "grads": grads, "exp_avgs": exp_avgs,
                                                      "exp_avg_sqs": exp_avg_sqs, "max_exp_avg_sqs": maxima})
    if not params:
        return
    step_size = lr / (1.0 - beta1**step)
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    columns = [params, grads, exp_avgs, exp_avg_sqs, maxima if maxima is not None else [None] * len(params)]
    scalars = (*(_scalar(dtype, v) for v in (lr, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt)),
               np.int32(bool(decoupled)), np.int32(bool(amsgrad)), np.int32(bool(maximize)))
    _multi_tensor_launch(backend, op, dtype, device, columns, [p.size for p in params], scalars)
