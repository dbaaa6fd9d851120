"""``gg.cuda``: is a GPU usable, which one, and how much memory is in use.

Every function works on a machine without CuPy or a driver: ``is_available()``
is then False and ``device_count()`` 0; the others raise one clear error.

    >>> gg.cuda.is_available()
    False
    >>> gg.cuda.unavailable_reason()
    'CuPy is not installed (...); install the CUDA extra ...'
"""

from __future__ import annotations

from .backends import cupy_import
from .device import current_cuda_index, resolve, set_current_cuda_index


def is_available() -> bool:
    """True when CuPy is installed and at least one CUDA device answers; never raises."""
    return cupy_import.available()


def unavailable_reason() -> str:
    """Why CUDA is not usable, with the fix ('' when it is)."""
    return cupy_import.reason()


def device_count() -> int:
    return cupy_import.device_count()


def _require(index=None) -> int:
    if not is_available():
        raise RuntimeError(f"gg.cuda: no usable CUDA device: {unavailable_reason()}")
    if index is None:
        return current_cuda_index()
    return resolve(index).index


def current_device() -> int:
    return _require()


def set_device(index) -> None:
    set_current_cuda_index(_require(index))


def synchronize(index=None) -> None:
    """Wait for all work queued on the device (timings need this)."""
    index = _require(index)  # first: without CuPy there is no cupy.cuda to look up
    cupy = cupy_import.cupy
    with cupy.cuda.Device(index):
        cupy.cuda.Device().synchronize()


def get_device_name(index=None) -> str:
    return get_device_properties(index)["name"]


def get_device_properties(index=None) -> dict:
    """Name, total memory, compute capability and multiprocessor count of a device."""
    index = _require(index)
    props = cupy_import.cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return {
        "name": name.decode() if isinstance(name, bytes) else name,
        "total_memory": int(props["totalGlobalMem"]),
        "major": int(props["major"]),
        "minor": int(props["minor"]),
        "multi_processor_count": int(props["multiProcessorCount"]),
    }


def _pool():
    _require()
    return cupy_import.cupy.get_default_memory_pool()


def _pool_bytes(index, what: str) -> int:
    """A pool statistic of device ``index``: CuPy's pool answers for its current device."""
    index = _require(index)
    with cupy_import.cupy.cuda.Device(index):
        return getattr(_pool(), what)()


_peak: dict = {}  # device index -> the largest memory_allocated seen


def memory_allocated(index=None) -> int:
    """Bytes held by live arrays on the device (CuPy's pool ``used_bytes``)."""
    index = _require(index)
    used = _pool_bytes(index, "used_bytes")
    _peak[index] = max(_peak.get(index, 0), used)
    return used


def max_memory_allocated(index=None) -> int:
    """The largest ``memory_allocated`` seen since the last reset (sampled when the stats are read)."""
    index = _require(index)
    memory_allocated(index)
    return _peak[index]


def reset_peak_memory_stats(index=None) -> None:
    index = _require(index)
    _peak[index] = _pool_bytes(index, "used_bytes")


def memory_reserved(index=None) -> int:
    """Bytes the pool holds from the driver on the device, in use or cached."""
    return _pool_bytes(index, "total_bytes")


def empty_cache() -> None:
    """Give cached, unused blocks back to the driver, on every device."""
    _require()
    for index in range(device_count()):
        with cupy_import.cupy.cuda.Device(index):
            _pool().free_all_blocks()


def mem_get_info(index=None) -> tuple:
    """(free, total) bytes on the device, as the driver reports them."""
    index = _require(index)
    cupy = cupy_import.cupy
    with cupy.cuda.Device(index):
        return cupy.cuda.runtime.memGetInfo()


def nvml_info(index: int = 0) -> dict | None:
    """Driver, temperature, clocks and memory of a GPU from NVML, or None when NVML is missing."""
    nvml = cupy_import.nvml()
    if nvml is None:
        return None
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        name = nvml.nvmlDeviceGetName(handle)
        driver = nvml.nvmlSystemGetDriverVersion()
        return {
            "name": name.decode() if isinstance(name, bytes) else name,
            "driver": driver.decode() if isinstance(driver, bytes) else driver,
            "memory_total": int(memory.total),
            "memory_free": int(memory.free),
            "temperature_c": nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU),
            "sm_clock_mhz": nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM),
            "mem_clock_mhz": nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM),
        }
    except Exception:  # noqa: BLE001 - NVML errors differ by driver; absence of info is not fatal
        return None
