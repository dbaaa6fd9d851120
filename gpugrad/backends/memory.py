"""GPU memory at the op boundary: out-of-memory retry and a readable error."""

from __future__ import annotations

from .cupy_import import cupy


class OutOfMemoryError(RuntimeError):
    """Raised when a CUDA op cannot get memory even after the pool's cached blocks were freed."""


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB"


def run_with_oom_retry(function, device, arrays):
    """Run ``function.forward(*arrays)`` on ``device``; on CuPy's OOM free cached blocks and retry once."""
    with cupy.cuda.Device(device.index):
        try:
            return function.forward(*arrays)
        except cupy.cuda.memory.OutOfMemoryError:
            pool = cupy.get_default_memory_pool()
            pool.free_all_blocks()
            try:
                return function.forward(*arrays)
            except cupy.cuda.memory.OutOfMemoryError as exc:
                raise OutOfMemoryError(_oom_message(function, device, arrays, pool, exc)) from exc


def _oom_message(function, device, arrays, pool, exc) -> str:
    free, total = cupy.cuda.runtime.memGetInfo()
    shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
    return (
        f"CUDA out of memory in {type(function).__name__} on {device} (inputs {shapes}): {exc}. "
        f"In use by tensors: {_mib(pool.used_bytes())}; held by gpugrad's pool: {_mib(pool.total_bytes())}; "
        f"free on the device: {_mib(free)} of {_mib(total)}. "
        "Try a smaller batch, free tensors you no longer need (del t), run evaluation under gg.no_grad(), "
        "or call gg.cuda.empty_cache() if other programs share the GPU."
    )
