"""What every suite shares: the run configuration, the optional baselines, and data on each device.

Suites write their reference ("hand-written NumPy") code once against an array
module ``xp``; on a CUDA device the same code runs with CuPy and is reported as
the ``cupy`` implementation. The same NumPy data is copied to every
implementation, so all of them compute the same thing.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import gpugrad as gg

from .timing import Case, Impl


@dataclass
class Config:
    """How much to run.

    Attributes:
        mode: "full"; "quick" (the whole default set in under a minute on 2 cores);
            "tiny" (the smallest sizes and 2 samples: for tests, numbers meaningless).
        repeat: samples per implementation, overriding each suite's default.
    """

    mode: str = "full"
    repeat: int | None = None

    def pick(self, full, quick, tiny):
        """The value for this mode: ``config.pick(full=..., quick=..., tiny=...)``."""
        return {"full": full, "quick": quick, "tiny": tiny}[self.mode]

    def repeats(self, full: int, quick: int) -> int:
        return self.repeat or self.pick(full, quick, 2)

    @property
    def min_time(self) -> float:
        """The shortest sample, in seconds; calls shorter than this are looped."""
        return self.pick(0.02, 0.005, 0.0002)

    @property
    def settle(self) -> float:
        """Untimed seconds before timing a multi-threaded implementation (see ``Case.interleave``)."""
        return self.pick(0.2, 0.1, 0.0)


@dataclass
class Suite:
    """A benchmark suite: the cases it times and how to read them.

    Attributes:
        cases: ``cases(config, devices, libs) -> list[Case]``.
        unit: what one sample's seconds are per, for the table ("per call", "per 500 epochs").
        metric: an extra column, ``(label, value(measurement) -> float or None)``, e.g.
            ("GB/s", ...) from ``Case.work``, or None.
        sweep: the cases vary in size, so ``--plot`` draws them.
        summarize: ``summarize(measurements, config) -> list[str]``: notes printed under the table.
        repeat: ``repeat(config) -> int``: samples per implementation.
    """

    name: str
    title: str
    cases: Callable
    repeat: Callable
    unit: str = "per call"
    metric: tuple | None = None
    sweep: bool = False
    summarize: Callable = lambda measurements, config: []


@dataclass
class Libraries:
    """The optional libraries found: PyTorch and CuPy (modules or None)."""

    torch: object = None
    cupy: object = None
    torch_cuda: bool = False
    errors: dict = field(default_factory=dict)

    def baselines(self, device: str) -> list:
        """Names of the non-gpugrad implementations available on ``device``."""
        names = ["numpy" if device == "cpu" else "cupy"]
        if self.torch is not None and (device == "cpu" or self.torch_cuda):
            names.append("torch")
        return names


def find_libraries() -> Libraries:
    """Import PyTorch and CuPy if installed; never raises."""
    libs = Libraries()
    for name in ("torch", "cupy"):
        try:
            setattr(libs, name, importlib.import_module(name))
        except Exception as exc:  # noqa: BLE001 - a broken install is just "not available"
            libs.errors[name] = f"{type(exc).__name__}: {exc}"
    if libs.torch is not None:
        try:
            libs.torch_cuda = bool(libs.torch.cuda.is_available())
        except Exception:  # noqa: BLE001
            libs.torch_cuda = False
    return libs


def gpu_to_time() -> tuple[bool, str]:
    """``(usable, why not)``: a real GPU to benchmark; the test suite's emulated CuPy is refused."""
    if not gg.cuda.is_available():
        return False, gg.cuda.unavailable_reason()
    from ..backends import cupy

    if getattr(cupy, "__gpugrad_emulated__", False):
        return False, "CuPy here is the test suite's emulation (not a GPU); GPU timings from it would mean nothing"
    return True, ""


def available_devices(choice: str = "all") -> list:
    """Device names to benchmark for ``--device cpu|cuda|all``; "cuda" without a GPU raises with the reason."""
    if choice == "cpu":
        return ["cpu"]
    usable, reason = gpu_to_time()
    if choice == "cuda":
        if not usable:
            raise RuntimeError(f"--device cuda: no usable GPU: {reason}")
        return ["cuda:0"]
    if choice == "all":
        return ["cpu", "cuda:0"] if usable else ["cpu"]
    raise ValueError(f"--device: expected cpu, cuda or all, got {choice!r}")


# ------------------------------------------------------------ data per implementation
def xp_for(device: str, libs: Libraries):
    """NumPy for "cpu", CuPy for a CUDA device."""
    return np if device == "cpu" else libs.cupy


def to_raw(array: np.ndarray, device: str, libs: Libraries):
    """``array`` as a NumPy array (cpu) or a CuPy array on the GPU."""
    return array if device == "cpu" else libs.cupy.asarray(array)


def to_gg(array: np.ndarray, device: str, requires_grad: bool = False):
    return gg.tensor(array, device=device, requires_grad=requires_grad)


def to_torch(array: np.ndarray, device: str, libs: Libraries, requires_grad: bool = False):
    return libs.torch.tensor(array, device=device, requires_grad=requires_grad)


def sync_for(impl: str, device: str, libs: Libraries) -> Callable[[], None]:
    """The call that waits for ``impl``'s queued GPU work (nothing on the CPU)."""
    if device == "cpu":
        return lambda: None
    if impl.startswith("gpugrad"):
        return lambda: gg.cuda.synchronize()
    if impl.startswith("torch"):
        return libs.torch.cuda.synchronize
    return lambda: libs.cupy.cuda.get_current_stream().synchronize()


@contextlib.contextmanager
def torch_threads(torch, count: int):
    """Run PyTorch with ``count`` intra-op threads, restoring the previous count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_impl(device: str, libs: Libraries, step, threads: int | None = None) -> Impl:
    """PyTorch's ``step`` as "torch" (its default thread count) or, with ``threads``, "torch-1t" on that many."""
    torch = libs.torch
    if threads is None:
        return impl_with_sync("torch", device, libs, step=step, note=_threads(torch.get_num_threads()))
    context = functools.partial(torch_threads, torch, threads)
    return impl_with_sync("torch-1t", device, libs, step=step, context=context, note=_threads(threads))


def _threads(count: int) -> str:
    return f"{count} thread" + ("" if count == 1 else "s")


def impl_with_sync(impl_name: str, device: str, libs: Libraries, **fields) -> Impl:
    """An Impl whose ``sync`` matches its library and device."""
    return Impl(sync=sync_for(impl_name, device, libs), **fields)


def add_case(cases: list, suite: str, name: str, size, builders: dict, devices, libs, **case_fields) -> None:
    """Append, per device, a Case timing gpugrad and every available baseline side by side.

    ``builders`` maps an implementation to ``build(device) -> Impl``, in the
    order the table lists them: "gpugrad" (and variants such as
    "gpugrad-compiled"), "raw" (the hand-written code, reported as numpy on the
    CPU and cupy on a GPU) and "torch" (and variants such as "torch-1t",
    skipped when PyTorch, or its CUDA support, is missing).
    """
    from .timing import ImplSpec

    for device in devices:
        baselines = libs.baselines(device)
        specs = []
        for key, build in builders.items():
            name_here = baselines[0] if key == "raw" else key
            if key.startswith("torch") and "torch" not in baselines:
                continue
            specs.append(ImplSpec(name_here, device, _bind(build, device)))
        cases.append(Case(suite, name, size, specs, **case_fields))


def add_step_cases(cases: list, suite: str, name: str, size, builds: tuple, devices, libs, config: Config,
                   **shape) -> None:
    """Per device, a case timing a training step built by ``builds = (build_gg, build_raw, build_torch)``
    (PyTorch with its default threads, and with one thread on the CPU), each called with ``**shape``."""
    build_gg, build_raw, build_torch = builds
    for device in devices:
        builders = {
            "gpugrad": lambda d: build_gg(d, libs, **shape),
            "raw": lambda d: build_raw(d, libs, **shape),
            "torch": lambda d: build_torch(d, libs, **shape),
        }
        if device == "cpu":
            builders["torch-1t"] = lambda d: build_torch(d, libs, threads=1, **shape)
        add_case(cases, suite, name, size, builders, [device], libs, interleave=False, settle=config.settle)


def _bind(build, device):
    return lambda: build(device)
