"""``cupy.cuda.memory``: pooled device memory with CuPy's limit API and its out-of-memory rules.

As in CuPy (cupy/cuda/memory.pyx): a pool keeps freed blocks cached; an allocation that
would pass the pool's limit (``set_limit(size=|fraction=)`` or ``CUPY_GPU_MEMORY_LIMIT``)
first frees the cached blocks, collects garbage and frees again, and only then raises
``OutOfMemoryError(size, total, limit)``; pooled memory holds its pool weakly, and a
dropped pool frees its blocks (here: poisons them, so a dangling array reads NaN
instead of crashing the test process).
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import weakref

from . import device_state

_ROUND = 512  # CuPy rounds every allocation up to 512 bytes


class OutOfMemoryError(MemoryError):
    """CuPy's message: ``Out of memory allocating N bytes (allocated so far: M bytes[, limit set to: L bytes]).``"""

    def __init__(self, size, total, limit=0):
        message = f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes"
        message += f", limit set to: {limit:,} bytes)." if limit else ")."
        super().__init__(message)


class BaseMemory:
    """A device allocation: ``ptr``, ``size``, ``device_id``."""

    def __init__(self, ptr: int, size: int, device_id: int):
        self.ptr, self.size, self.device_id = int(ptr), int(size), int(device_id)

    @property
    def device(self):
        from .cuda import Device

        return Device(self.device_id)


class Memory(BaseMemory):
    """Memory allocated directly (``cupy.cuda.memory.alloc`` without a pool)."""

    def __init__(self, size: int):
        ptr, self._keeper = device_state.raw_allocate(size)
        super().__init__(ptr, size, device_state.current_device())


class UnownedMemory(BaseMemory):
    """Memory someone else owns; ``owner`` is kept alive as long as this object."""

    def __init__(self, ptr, size, owner, device_id=None):
        super().__init__(ptr, size, device_state.current_device() if device_id is None else device_id)
        self.owner = owner


class PooledMemory(BaseMemory):
    """A block of a pool; gives its bytes back to the pool's cache when collected."""

    def __init__(self, pool, block, size, device_id):
        super().__init__(block.ptr, size, device_id)
        self.block = block
        self.pool = weakref.ref(pool)  # weak, as in CuPy: a dropped pool frees its blocks
        weakref.finalize(self, _release, self.pool, block, device_id).atexit = False


def _release(pool_ref, block, device_id):
    pool = pool_ref()
    if pool is not None:
        pool._free(block, device_id)


class _Block:
    """Emulator memory of one allocation, poisoned when its pool is dropped."""

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        self.ptr, self.keeper = device_state.raw_allocate(nbytes)

    def poison(self) -> None:
        self.keeper[...] = 0xFF


class MemoryPointer:
    """A pointer into device memory: ``mem`` (who owns it), ``ptr``, ``device_id``."""

    def __init__(self, mem, offset):
        self.mem, self.ptr = mem, mem.ptr + int(offset)
        self.device_id = mem.device_id

    @property
    def device(self):
        return self.mem.device

    def __add__(self, offset):
        return MemoryPointer(self.mem, self.ptr - self.mem.ptr + int(offset))

    def __int__(self):
        return self.ptr


def _parse_limit_string(limit=None) -> dict:
    """``CUPY_GPU_MEMORY_LIMIT`` as CuPy reads it: bytes (``"1000"``) or a share (``"50%"``)."""
    if limit is None:
        limit = os.environ.get("CUPY_GPU_MEMORY_LIMIT")
    size = fraction = None
    if limit is not None:
        if limit.endswith("%"):
            fraction = float(limit[:-1]) / 100.0
        else:
            size = int(limit)
    return {"size": size, "fraction": fraction}


class MemoryPool:
    """CuPy's device memory pool: per device used, cached and total bytes, and an optional limit."""

    def __init__(self, allocator=None):
        self._lock = threading.RLock()
        self._used = [0] * device_state.DEVICE_COUNT
        self._cached = [0] * device_state.DEVICE_COUNT
        self._blocks = weakref.WeakSet()
        default = _parse_limit_string()
        self._limit = [_limit_bytes(default["size"], default["fraction"])] * device_state.DEVICE_COUNT
        weakref.finalize(self, _poison_all, self._blocks).atexit = False
        _pools.append(weakref.ref(self))

    def malloc(self, size):
        """A MemoryPointer to ``size`` bytes on the current device (raises OutOfMemoryError past the limit)."""
        device = device_state.current_device()
        rounded = -(-int(size) // _ROUND) * _ROUND if size else 0
        with self._lock:
            if not self._fits(device, rounded):
                self.free_all_blocks()
                gc.collect()
                self.free_all_blocks()
                if not self._fits(device, rounded):
                    raise OutOfMemoryError(rounded, self.total_bytes(), self._limit[device])
            block = _Block(rounded)
            self._used[device] += rounded
            self._blocks.add(block)
        return MemoryPointer(PooledMemory(self, block, int(size), device), 0)

    def _fits(self, device, size) -> bool:
        limit = self._limit[device]
        total = self._used[device] + self._cached[device]
        return (not limit or total + size <= limit) and _device_total_in_use() + size <= device_state.TOTAL_MEMORY

    def _free(self, block, device) -> None:
        with self._lock:
            self._used[device] -= block.nbytes
            self._cached[device] += block.nbytes

    def free_all_blocks(self, stream=None):
        with self._lock:
            self._cached = [0] * device_state.DEVICE_COUNT

    def free_all_free(self):
        self.free_all_blocks()

    def n_free_blocks(self):
        return 0

    def used_bytes(self):
        return self._used[device_state.current_device()]

    def free_bytes(self):
        return self._cached[device_state.current_device()]

    def total_bytes(self):
        device = device_state.current_device()
        return self._used[device] + self._cached[device]

    def set_limit(self, size=None, fraction=None):
        if size is not None and fraction is not None:
            raise ValueError("size and fraction cannot be specified at one time")
        if fraction is not None and not 0 <= fraction <= 1:
            raise ValueError(f"memory limit fraction out of range: {fraction}")
        if size is not None and size < 0:
            raise ValueError(f"memory limit size out of range: {size}")
        self._limit[device_state.current_device()] = _limit_bytes(size, fraction)

    def get_limit(self):
        return self._limit[device_state.current_device()]


def _limit_bytes(size, fraction) -> int:
    if fraction:
        return int(device_state.TOTAL_MEMORY * fraction)
    return int(size or 0)


def _poison_all(blocks) -> None:
    for block in list(blocks):
        block.poison()


_pools: list = []  # every pool made, to answer memGetInfo


def _device_total_in_use() -> int:
    device = device_state.current_device()
    return sum(p._used[device] + p._cached[device] for p in list(_pools_alive()))


def _pools_alive():
    _pools[:] = [ref for ref in _pools if ref() is not None]
    return [ref() for ref in _pools]


class PinnedMemoryPool:
    """Host (pinned) memory pool; the emulation has no pinned memory, only the accounting API."""

    def __init__(self, allocator=None):
        pass

    def free_all_blocks(self):
        pass

    def n_free_blocks(self):
        return 0

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0


_default_pool = None
_default_pinned_pool = None
_local = threading.local()


def get_default_memory_pool() -> MemoryPool:
    global _default_pool
    if _default_pool is None:
        _default_pool = MemoryPool()
    return _default_pool


def get_default_pinned_memory_pool() -> PinnedMemoryPool:
    global _default_pinned_pool
    if _default_pinned_pool is None:
        _default_pinned_pool = PinnedMemoryPool()
    return _default_pinned_pool


def get_allocator():
    """The current thread's allocator: a callable ``size -> MemoryPointer``."""
    return getattr(_local, "allocator", None) or get_default_memory_pool().malloc


def set_allocator(allocator=None):
    _local.allocator = allocator


@contextlib.contextmanager
def using_allocator(allocator=None):
    previous = getattr(_local, "allocator", None)
    _local.allocator = allocator
    try:
        yield
    finally:
        _local.allocator = previous


def alloc(size) -> MemoryPointer:
    return get_allocator()(size)


def mem_get_info() -> tuple[int, int]:
    used = _device_total_in_use()
    return device_state.TOTAL_MEMORY - used, device_state.TOTAL_MEMORY
