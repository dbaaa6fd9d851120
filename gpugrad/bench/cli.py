"""``python -m gpugrad.bench``: the device report, then each suite's table; optional JSON and PNG.

    python -m gpugrad.bench                       # every suite, every device, full size
    python -m gpugrad.bench --quick               # the same in under a minute
    python -m gpugrad.bench tiny curvefit --repeat 21 --json bench.json
    python -m gpugrad.bench elementwise matmul --device cuda --plot sweep.png
"""

from __future__ import annotations

import argparse
import gc
import sys

from . import chain, curvefit, distributed, eager, elementwise, lenet, matmul, mlp, tensor_ops, tiny
from .common import Config, available_devices, find_libraries
from .output import Progress, plot, suite_table
from .report import OtherLoad, device_report, format_device_report, load_warning
from .results import SuiteRun, add_ratios, results_dict, write_json
from .timing import run_case

SUITES = {module.SUITE.name: module.SUITE
          for module in (tiny, curvefit, chain, elementwise, matmul, mlp, tensor_ops, lenet, distributed, eager)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gpugrad.bench",
        description="Benchmark gpugrad against hand-written NumPy, PyTorch and CuPy on every available device.",
    )
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"suites to run (default: all): {', '.join(SUITES)}")
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                        help="where to run gpugrad and the baselines (default: all = cpu, plus cuda:0 when usable)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and samples: a run under a minute")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # tests: smallest sizes, 2 samples
    parser.add_argument("--repeat", type=int, metavar="N", help="samples per implementation (default: per suite)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="limit PyTorch (and NumPy's BLAS, when threadpoolctl is installed) to N threads; "
                             "for NumPy without threadpoolctl set OPENBLAS_NUM_THREADS=N before starting")
    parser.add_argument("--json", metavar="PATH", help="write the device report and every measurement as JSON")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of time vs size for the size-sweep suites")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    for option in ("repeat", "threads"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    return args


def run_suite(suite, config: Config, devices: list, libs, progress: bool = True) -> list:
    """Build and time every case of ``suite``; returns its measurements, ratios filled in."""
    cases = suite.cases(config, devices, libs)
    repeat = suite.repeat(config)
    bar = Progress(sum(len(case.specs) for case in cases) * repeat, suite.name, enabled=progress)
    measurements = []
    try:
        for case in cases:
            bar.describe(f"{suite.name}: {case.name}" + (f" [{case.size}]" if case.size is not None else ""))
            measurements += run_case(case, repeat, config.min_time, on_sample=bar.update)
    finally:
        bar.close()
    add_ratios(measurements)
    return measurements


def limit_threads(count: int, libs) -> str:
    """Limit PyTorch's threads and, through threadpoolctl when installed, the BLAS's; says what was done.

    The limit stays for the rest of the process (a benchmark run is the whole process).
    """
    done = []
    if libs.torch is not None:
        libs.torch.set_num_threads(count)
        done.append(f"PyTorch {count}")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(count)
        done.append(f"BLAS/OpenMP {count} (threadpoolctl)")
    except ImportError:
        done.append("NumPy's BLAS unchanged (no threadpoolctl: set OPENBLAS_NUM_THREADS before starting)")
    return "--threads: " + ", ".join(done)


def main(argv=None, out=None) -> int:
    """Run the benchmarks; returns the exit status (2 when the chosen device is not usable)."""
    out = out or sys.stdout
    args = parse_args(argv)
    if args.list:
        for suite in SUITES.values():
            print(f"{suite.name:12s} {suite.title}", file=out)
        return 0
    config = Config(mode="tiny" if args.tiny else "quick" if args.quick else "full", repeat=args.repeat)
    try:
        devices = available_devices(args.device)
    except RuntimeError as exc:
        print(f"python -m gpugrad.bench: {exc}", file=sys.stderr)
        return 2
    libs = find_libraries()
    thread_note = limit_threads(args.threads, libs) if args.threads else None
    report = device_report(libs)
    report["thread_limit"] = thread_note
    print(format_device_report(report), file=out)
    if thread_note:
        print(f"Threads  {thread_note}", file=out)
    # PyTorch's import leaves ~10^5 Python objects. Frozen, the collector stops rescanning them in every
    # full collection (which would charge gpugrad's allocations for torch being loaded), and the
    # gc.collect() before each case takes microseconds instead of ~0.2 s.
    gc.freeze()
    try:
        done = _run_suites(args, config, devices, libs, report, out)
    finally:
        gc.unfreeze()
    if args.json:
        command = ["python", "-m", "gpugrad.bench"] + list(sys.argv[1:] if argv is None else argv)
        write_json(args.json, results_dict(report, config, devices, done, command))
        print(f"\nresults written to {args.json}", file=out)
    if args.plot:
        panels = plot(args.plot, done)
        print(f"plot written to {args.plot} ({panels} panels)" if panels else
              "--plot: none of the suites run sweeps sizes (chain, elementwise, matmul do); no PNG written", file=out)
    return 0


def _run_suites(args, config: Config, devices: list, libs, report: dict, out) -> list:
    """Run the chosen suites, printing each table as soon as it is done; returns their SuiteRuns."""
    done = []
    for name in args.suites or list(SUITES):
        suite = SUITES[name]
        meter = OtherLoad()
        measurements = run_suite(suite, config, devices, libs, progress=not args.no_progress)
        notes = suite.summarize(measurements, config)
        other_cores = meter.cores()
        warning = load_warning(other_cores, report["cpu"]["usable"] or 1)
        if warning:
            notes.append("WARNING: " + warning)
        done.append(SuiteRun(suite, measurements, notes, other_cores))
        print("\n" + suite_table(suite, measurements, notes, suite.repeat(config)), file=out, flush=True)
    return done
