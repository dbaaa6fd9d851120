"""The one place that imports CuPy (and NVML).

Everything else asks this module: ``cupy`` is the module or ``None``,
``available()`` says whether a CUDA device is usable, and ``reason()`` says
why not, in words a user can act on. Importing gpugrad never fails because
of CuPy: a missing package, a missing driver (CuPy raises
``cudaErrorInsufficientDriver`` only on first device use) or a missing NVML
all end as ``available() == False``.
"""

from __future__ import annotations

import os

_INSTALL_HINT = (
    "install the CUDA extra that matches your driver: pip install 'gpugrad[cuda12]' "
    "or 'gpugrad[cuda13]' (see docs/gpu.md), or use device='cpu'"
)

try:  # a broken CuPy install raises more than ImportError, so catch everything
    import cupy  # type: ignore[import-not-found]

    _import_error = None
except Exception as exc:  # noqa: BLE001 - any failure means "no CuPy"
    cupy = None
    _import_error = f"{type(exc).__name__}: {exc}"

try:
    import pynvml  # type: ignore[import-not-found]
except Exception:  # noqa: BLE001
    pynvml = None

_probe: tuple[int, str] | None = None


def _probe_devices() -> tuple[int, str]:
    """Count usable CUDA devices once; (0, reason) when there are none."""
    if os.environ.get("GPUGRAD_DISABLE_CUDA"):
        return 0, "CUDA is disabled by the GPUGRAD_DISABLE_CUDA environment variable"
    if cupy is None:
        return 0, f"CuPy is not installed ({_import_error}); {_INSTALL_HINT}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if count > 0:  # the driver answers lazily: touch the device to be sure it works
            with cupy.cuda.Device(0):
                cupy.zeros(1).sum().item()
    except Exception as exc:  # noqa: BLE001 - CUDARuntimeError, CompileException, missing libs...
        return 0, (
            f"CuPy is installed but no CUDA device is usable ({type(exc).__name__}: {exc}); "
            "check that an NVIDIA driver is installed and `nvidia-smi` works, or use device='cpu'"
        )
    if count == 0:
        return 0, "CuPy is installed but reports 0 CUDA devices; use device='cpu'"
    return count, ""


def device_count() -> int:
    """How many CUDA devices CuPy can use (0 without CuPy or a driver)."""
    global _probe
    if _probe is None:
        _probe = _probe_devices()
    return _probe[0]


def available() -> bool:
    return device_count() > 0


def reason() -> str:
    """Why CUDA is not usable ('' when it is)."""
    device_count()
    return _probe[1]


def nvml():
    """The initialised ``pynvml`` module, or ``None`` when NVML is missing or fails to start."""
    if pynvml is None:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVMLError_LibraryNotFound and friends
        return None
    return pynvml
