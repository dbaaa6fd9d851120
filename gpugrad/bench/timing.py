"""Timing: interleaved samples, loops for calls too short to time alone, medians and spreads.

A *case* (one row of a suite, e.g. ``a+b (3,) fwd`` or matmul at n=512) is
timed for several *implementations* (gpugrad, hand-written NumPy, PyTorch,
CuPy) in one pass. The samples are interleaved, one per implementation per
round with the starting implementation rotated, so a burst of noise on this
shared machine hits every implementation alike instead of spoiling one.

    >>> impl = Impl(step=lambda: sum(range(100)))
    >>> m = run_case(Case("demo", "sum(range(100))", specs=[ImplSpec("python", "cpu", lambda: impl)]),
    ...              repeat=5, min_time=0.001)[0]
    >>> m.number > 1, len(m.samples)
    (True, 5)

The garbage collector stays on (engines that leak cycles should pay for it,
as they would in a training loop); ``gc.collect()`` runs before each case.
"""

from __future__ import annotations

import contextlib
import gc
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


def _nothing() -> None:
    return None


@dataclass
class Impl:
    """One implementation of a case, built and ready to time.

    Attributes:
        step: one call of the timed work. If ``self_timed``, it returns the seconds
            of the part that counts (e.g. backward only) and the runner sums those.
        sync: waits for queued device work (a no-op on the CPU).
        context: entered around every sample (e.g. PyTorch with one thread).
        result: called once after timing; its value goes in the JSON (e.g. the final loss),
            so runs of different implementations can be checked to compute the same thing.
        note: shown under the table and stored in the JSON (e.g. which MLP variant ran).
    """

    step: Callable[[], Any]
    sync: Callable[[], None] = _nothing
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    self_timed: bool = False
    result: Callable[[], Any] | None = None
    note: str = ""


@dataclass
class ImplSpec:
    """An implementation not built yet: ``build()`` allocates its data when its case runs."""

    impl: str  # "gpugrad", "numpy", "torch", "cupy", "torch-1t", ...
    device: str  # "cpu", "cuda:0"
    build: Callable[[], Impl]


@dataclass
class Case:
    """One row of a suite, to be timed for every implementation in ``specs``.

    Attributes:
        number: calls per sample; None calibrates it per implementation (for tiny ops).
        work: the amount of work per call for the suite's throughput metric
            (bytes for GB/s, flops for GFLOP/s), or None.
        interleave: take the samples round-robin across implementations (the default), or
            all samples of one implementation, then the next. Multi-threaded libraries need
            blocks: on a 2-core machine OpenBLAS's and PyTorch's OpenMP threads keep spinning
            for ~0.1 s after their last call, and the next library's threads lose a core to them.
        settle: seconds of untimed calls before each block (or each interleaved sample), so
            the other library's threads have gone quiet before timing starts.
    """

    suite: str
    name: str
    size: int | None = None
    specs: list[ImplSpec] = field(default_factory=list)
    number: int | None = None
    work: float | None = None
    interleave: bool = True
    settle: float = 0.0


@dataclass
class Measurement:
    """The samples of one implementation of one case, their statistics and its ratios.

    ``samples`` are seconds per call. ``ratios`` (gpugrad rows only) map a
    baseline to ``median(this) / median(baseline)``: below 1, gpugrad is faster.
    ``ratios_of_min`` do the same with the fastest samples, which other
    processes disturb least (worth a look when the machine was busy).
    """

    suite: str
    case: str
    size: int | None
    device: str
    impl: str
    number: int = 0
    samples: list[float] = field(default_factory=list)
    work: float | None = None
    ratios: dict = field(default_factory=dict)
    ratios_of_min: dict = field(default_factory=dict)
    error: str | None = None
    note: str = ""
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    @property
    def stats(self) -> dict:
        """median, q1, q3, iqr, min, max and mean of the samples (empty when there are none)."""
        return summarize(self.samples)

    @property
    def median(self) -> float:
        return float(np.median(self.samples)) if self.samples else float("nan")

    def throughput(self, scale: float = 1e9) -> float | None:
        """``work / median`` in units of ``scale`` per second (GB/s or GFLOP/s with 1e9)."""
        if self.work is None or not self.ok:
            return None
        return self.work / self.median / scale


def summarize(samples) -> dict:
    """The statistics reported for a list of samples (seconds)."""
    if not len(samples):
        return {}
    a = np.asarray(samples, dtype=np.float64)
    q1, median, q3 = np.percentile(a, [25, 50, 75])
    return {
        "median": float(median), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
        "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()), "n": int(a.size),
    }


def take_sample(impl: Impl, number: int) -> float:
    """Seconds per call of ``impl.step``, over a loop of ``number`` calls."""
    step = impl.step
    with impl.context():
        if impl.self_timed:
            total = 0.0
            for _ in range(number):
                total += step()
            return total / number
        start = time.perf_counter()
        for _ in range(number):
            step()
        impl.sync()
        return (time.perf_counter() - start) / number


def calibrate(impl: Impl, min_time: float, max_number: int = 1_000_000) -> int:
    """The smallest loop count in 1, 2, 5, 10, 20, ... whose sample lasts ``min_time`` (as timeit does)."""
    number = 1
    while number < max_number:
        for factor in (1, 2, 5):
            n = number * factor
            if take_sample(impl, n) * n >= min_time:
                return n
        number *= 10
    return max_number


def run_case(case: Case, repeat: int, min_time: float, on_sample: Callable[[], None] = _nothing) -> list:
    """Time every implementation of ``case``; returns one Measurement per ImplSpec.

    Each implementation is built, run once to warm up (caches, lazy imports,
    GPU kernels) and calibrated; then ``repeat`` rounds take one sample of each
    (or, with ``case.interleave`` off, each takes its ``repeat`` samples in a block).
    An implementation that raises is recorded with its error and dropped;
    the others go on. ``on_sample`` is called once per planned sample (progress).
    """
    gc.collect()
    rows, live = [], []
    for spec in case.specs:
        row = Measurement(case.suite, case.name, case.size, spec.device, spec.impl, work=case.work)
        rows.append(row)
        try:
            impl = spec.build()
            row.note = impl.note
            take_sample(impl, 1)
            row.number = case.number or calibrate(impl, min_time)
            live.append((row, impl))
        except Exception as exc:  # noqa: BLE001 - one failing implementation must not end the run
            row.error = _describe(exc)
            for _ in range(repeat):
                on_sample()
    if case.interleave:
        for round_index in range(repeat):
            shift = round_index % max(len(live), 1)
            for row, impl in live[shift:] + live[:shift]:
                _sample_into(row, impl, case.settle, on_sample)
    else:
        for row, impl in live:
            for index in range(repeat):
                _sample_into(row, impl, case.settle if index == 0 else 0.0, on_sample)
    for row, impl in live:
        if row.error is None and impl.result is not None:
            try:
                row.result = impl.result()
            except Exception as exc:  # noqa: BLE001
                row.note = (row.note + "; " if row.note else "") + f"result() failed: {_describe(exc)}"
    return rows


def _sample_into(row: Measurement, impl: Impl, settle: float, on_sample) -> None:
    """Append one sample to ``row`` (after ``settle`` seconds of untimed calls); record an error instead."""
    if row.error is None:
        try:
            if settle > 0:
                settle_for(impl, settle)
            row.samples.append(take_sample(impl, row.number))
        except Exception as exc:  # noqa: BLE001
            row.error = _describe(exc)
    on_sample()


def settle_for(impl: Impl, seconds: float) -> None:
    """Call ``impl.step`` untimed for at least ``seconds`` (and at least once)."""
    end = time.perf_counter() + seconds
    with impl.context():
        impl.step()
        while time.perf_counter() < end:
            impl.step()
    impl.sync()


def _describe(exc: BaseException) -> str:
    """``Type: message (file:line)`` of the innermost frame, short enough for a table note."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
