"""The device report: what the numbers were measured on.

    >>> from gpugrad.bench.report import device_report, format_device_report
    >>> print(format_device_report(device_report()))     # doctest: +SKIP
    CPU      Intel(R) Xeon(R) Processor @ 2.50GHz, 2 cores (2 usable)
    Python   3.11.7, NumPy 2.4.6 (BLAS: scipy-openblas 0.3.31, 2 threads)
    ...
    GPU      no GPU: CuPy is not installed (...); install the CUDA extra ...

Every probe is guarded: a missing library or a failing query leaves its
field out (or None) instead of stopping the benchmark.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import re
import time

import numpy as np

import gpugrad as gg


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def device_report(libs=None) -> dict:
    """A JSON-ready dict: cpu, python, numpy (+ BLAS), torch, cupy/CUDA, gpus (or no_gpu with the reason)."""
    from .common import find_libraries

    libs = libs or find_libraries()
    report = {
        "gpugrad": gg.__version__,
        "platform": platform.platform(),
        "cpu": cpu_info(),
        "python": platform.python_version(),
        "numpy": {"version": np.__version__, "blas": blas_info()},
        "torch": torch_info(libs.torch),
        "cupy": cupy_info(libs.cupy),
        "gpus": [],
        "no_gpu": None,
        "thread_env": {name: os.environ[name] for name in THREAD_VARIABLES if name in os.environ},
    }
    if gg.cuda.is_available():
        report["gpus"] = [gpu_info(i) for i in range(gg.cuda.device_count())]
    else:
        report["no_gpu"] = gg.cuda.unavailable_reason()
    return report


def cpu_info() -> dict:
    """Model name and core counts (logical, and usable by this process)."""
    model = None
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "model": model or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "usable": usable,
        "load_average": load_average(),
    }


def load_average() -> list | None:
    """The 1, 5 and 15-minute load averages (None where the OS has none): other work on the machine."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


class OtherLoad:
    """How busy other processes kept the CPUs while we ran: (all CPU time - ours) / wall time, in cores.

    Read from /proc/stat (Linux); ``cores()`` is None elsewhere. Hypervisor steal counts as other load.

    Example:
        >>> meter = OtherLoad()
        >>> ...                     # run a suite
        >>> meter.cores()           # 0.03 on a quiet machine, ~2 while two test runs share it
    """

    def __init__(self):
        self._start = self._read()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # all but idle and iowait
        own = os.times()  # children included: the distributed suite's mpiexec jobs are ours, not other load
        ours = own.user + own.system + own.children_user + own.children_system
        return time.perf_counter(), busy / os.sysconf("SC_CLK_TCK"), ours

    def cores(self) -> float | None:
        now = self._read()
        if now is None or self._start is None or now[0] - self._start[0] <= 0:
            return None
        wall, busy, own = (b - a for a, b in zip(self._start, now))
        return max(busy - own, 0.0) / wall


def load_warning(other_cores: float | None, cores: int) -> str | None:
    """A warning when other processes used a noticeable share of the CPUs (the timings are noisy), else None."""
    if other_cores is None or other_cores < 0.25:
        return None
    return (
        f"other processes kept {other_cores:.1f} of {cores} cores busy during this suite: the timings are noisy, "
        "multi-threaded ones (PyTorch's OpenMP, the BLAS) most (medians, interleaving and the JSON's "
        "ratios_of_min soften this; compare with --threads 1, or rerun on a quiet machine)"
    )


def blas_info() -> dict:
    """The BLAS NumPy calls: from threadpoolctl when installed, else from ``numpy.show_config``."""
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                return {
                    "name": pool.get("internal_api"), "version": pool.get("version"),
                    "threads": pool.get("num_threads"), "source": "threadpoolctl",
                }
    except Exception:  # noqa: BLE001 - not installed, or an unexpected layout
        pass
    return _blas_from_show_config()


def _blas_from_show_config() -> dict:
    try:  # NumPy >= 1.25 gives a dict
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return {
            "name": blas.get("name"), "version": blas.get("version"), "threads": None, "source": "numpy.show_config",
        }
    except Exception:  # noqa: BLE001 - older NumPy prints text
        pass
    text = io.StringIO()
    with contextlib.suppress(Exception), contextlib.redirect_stdout(text):
        np.show_config()
    found = re.search(r"(openblas|mkl|blis|accelerate|atlas)[\w-]*", text.getvalue(), re.IGNORECASE)
    return {"name": found.group(0) if found else None, "version": None, "threads": None, "source": "numpy.show_config"}


def torch_info(torch) -> dict | None:
    if torch is None:
        return None
    info = {"version": torch.__version__, "threads": torch.get_num_threads(), "cuda": None}
    with contextlib.suppress(Exception):
        info["cuda"] = torch.version.cuda if torch.cuda.is_available() else None
    return info


def cupy_info(cupy) -> dict | None:
    if cupy is None:
        return None
    info = {"version": cupy.__version__, "cuda_runtime": None, "cuda_driver": None}
    with contextlib.suppress(Exception):
        info["cuda_runtime"] = _cuda_version(cupy.cuda.runtime.runtimeGetVersion())
    with contextlib.suppress(Exception):
        info["cuda_driver"] = _cuda_version(cupy.cuda.runtime.driverGetVersion())
    return info


def _cuda_version(code: int) -> str:
    """CUDA's integer version (12040) as text ("12.4")."""
    return f"{code // 1000}.{(code % 1000) // 10}"


def gpu_info(index: int) -> dict:
    """Name, memory, compute capability, driver, clocks and temperature of GPU ``index``."""
    info = {"index": index}
    with contextlib.suppress(Exception):
        info.update(gg.cuda.get_device_properties(index))
    with contextlib.suppress(Exception):
        free, total = gg.cuda.mem_get_info(index)
        info.update(memory_free=int(free), memory_total=int(total))
    nvml = None
    with contextlib.suppress(Exception):
        nvml = gg.cuda.nvml_info(index)
    if nvml:
        info.update(nvml)  # NVML's name, memory, driver, temperature and clocks win where both answer
    else:
        info["nvml"] = "not available (install nvidia-ml-py for driver, clocks and temperature)"
    return info


def format_device_report(report: dict) -> str:
    """The report as a few aligned lines for the terminal."""
    cpu, blas = report["cpu"], report["numpy"]["blas"]
    blas_text = " ".join(str(v) for v in (blas.get("name"), blas.get("version")) if v) or "unknown"
    if blas.get("threads"):
        blas_text += f", {blas['threads']} threads"
    lines = [
        f"gpugrad  {report['gpugrad']} on {report['platform']}",
        f"CPU      {cpu['model']}, {cpu['cores']} cores ({cpu['usable']} usable)"
        + (f", load average {cpu['load_average'][0]:.2f}" if cpu.get("load_average") else ""),
        f"Python   {report['python']}, NumPy {report['numpy']['version']} (BLAS: {blas_text})",
    ]
    if report.get("thread_env"):
        lines.append("Threads  " + ", ".join(f"{k}={v}" for k, v in report["thread_env"].items()))
    torch = report["torch"]
    if torch:
        cuda = f", CUDA {torch['cuda']}" if torch.get("cuda") else ", CPU only"
        lines.append(f"PyTorch  {torch['version']} ({torch['threads']} threads{cuda})")
    else:
        lines.append("PyTorch  not installed (its columns are left out)")
    cupy = report["cupy"]
    if cupy:
        lines.append(f"CuPy     {cupy['version']} (CUDA runtime {cupy['cuda_runtime']}, driver {cupy['cuda_driver']})")
    else:
        lines.append("CuPy     not installed")
    for gpu in report["gpus"]:
        lines.append("GPU " + _format_gpu(gpu))
    if report["no_gpu"] is not None:
        lines.append(f"GPU      no GPU: {report['no_gpu']}")
    return "\n".join(lines)


def _format_gpu(gpu: dict) -> str:
    parts = [f"{gpu['index']}    {gpu.get('name', '?')}"]
    if "memory_total" in gpu:
        parts.append(f"{gpu.get('memory_free', 0) / 2**30:.1f} of {gpu['memory_total'] / 2**30:.1f} GiB free")
    if "major" in gpu:
        parts.append(f"sm_{gpu['major']}{gpu['minor']}, {gpu.get('multi_processor_count', '?')} SMs")
    if "driver" in gpu:
        parts.append(f"driver {gpu['driver']}")
    if "sm_clock_mhz" in gpu:
        parts.append(f"clocks {gpu['sm_clock_mhz']}/{gpu['mem_clock_mhz']} MHz (SM/mem)")
    if "temperature_c" in gpu:
        parts.append(f"{gpu['temperature_c']} C")
    if "nvml" in gpu:
        parts.append(f"NVML {gpu['nvml']}")
    return ", ".join(parts)
