"""Compiled vs eager vs hand-written NumPy vs PyTorch on the curve-fit training step (float64, CPU).

    python -m gpugrad.graph.bench            # N=1000 x 500 epochs and N=1,000,000 x 10 epochs
    python -m gpugrad.graph.bench --quick

Each variant runs the same step (forward, MSE, backward, SGD update) from the
same start; times are medians over repeats, reported as ratios to the
"preallocated" NumPy loop. Tracing cost (the first traced call) and the steady
per-call overhead of a replay (a 1-element problem) are reported separately.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import gpugrad as gg
from gpugrad.bench.common import gpu_to_time
from gpugrad.graph import compile as gg_compile

LR = 0.01
THETA0 = (0.5, -0.3, 0.8)


def _data(n):
    x = np.linspace(-10, 10, n)
    return x, 1.5 * np.sin(x) + 1.2 * np.cos(x / 4)


def autograd_step(lib, n, device="cpu"):
    """One curve-fit training step, written once for gpugrad or PyTorch (``lib`` is ``gg`` or ``torch``)."""
    x_np, y_np = _data(n)
    x, y = lib.tensor(x_np, device=device), lib.tensor(y_np, device=device)
    theta = lib.tensor(THETA0, dtype=lib.float64, device=device, requires_grad=True)
    opt = lib.optim.SGD([theta], lr=LR)

    def step():
        pred = theta[0] * x + theta[1] * lib.sin(x) + theta[2] * lib.cos(x / 4)
        loss = lib.nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def gpugrad_step(n, compiled: bool, device="cpu"):
    step = autograd_step(gg, n, device)
    return gg_compile(step) if compiled else step


def numpy_step(n, hoisted: bool, xp=np):
    """Every temporary written with ``out=`` into buffers allocated once (``xp``: NumPy, or CuPy on a GPU)."""
    x, y = (xp.asarray(a) for a in _data(n))
    theta = xp.asarray(THETA0)
    s, c, x4, pred, r, tmp = (xp.empty(n) for _ in range(6))
    grad = xp.empty(3)
    np = xp  # the loop below reads as the NumPy code it is  # noqa: N806
    if hoisted:
        np.sin(x, out=s)
        np.divide(x, 4, out=x4)
        np.cos(x4, out=c)

    def step():
        if not hoisted:
            np.sin(x, out=s)
            np.divide(x, 4, out=x4)
            np.cos(x4, out=c)
        np.multiply(x, theta[0], out=pred)
        np.multiply(s, theta[1], out=tmp)
        np.add(pred, tmp, out=pred)
        np.multiply(c, theta[2], out=tmp)
        np.add(pred, tmp, out=pred)
        np.subtract(pred, y, out=r)
        np.multiply(r, r, out=tmp)
        loss = tmp.mean()
        np.multiply(r, 2.0 / n, out=r)
        grad[0] = np.dot(r, x)
        grad[1] = np.dot(r, s)
        grad[2] = np.dot(r, c)
        np.multiply(grad, LR, out=grad)
        np.subtract(theta, grad, out=theta)
        return loss

    return step


def torch_step(n):
    import torch

    return autograd_step(torch, n)


def _time(make, epochs, repeats, sync=None):
    runs = []
    for _ in range(repeats):
        step = make()
        for _ in range(3):
            step()  # compiled: eager warm-up, trace and (on a GPU) graph capture happen here, outside the timing
        if sync:
            sync()
        start = time.perf_counter()
        for _ in range(epochs):
            step()
        if sync:
            sync()  # GPU work is asynchronous: the time is the time until it is done
        runs.append((time.perf_counter() - start) / epochs)
    return statistics.median(runs)


def compare(n, epochs, repeats):
    variants = {
        "numpy preallocated": lambda: numpy_step(n, hoisted=False),
        "numpy hoisted": lambda: numpy_step(n, hoisted=True),
        "gpugrad eager": lambda: gpugrad_step(n, compiled=False),
        "gpugrad compiled": lambda: gpugrad_step(n, compiled=True),
    }
    try:
        import torch

        torch.set_num_threads(1)
        variants["pytorch eager (1 thread)"] = lambda: torch_step(n)
    except ImportError:
        pass
    times = {name: _time(make, epochs, repeats) for name, make in variants.items()}
    if gpu_to_time()[0]:
        times.update(compare_cuda(n, epochs, repeats))
    return times


def compare_cuda(n, epochs, repeats):
    """The same step on the GPU: hand-written CuPy loops, gpugrad eager and compiled (one CUDA graph per step)."""
    cupy = gg.device("cuda").xp
    variants = {
        "cupy preallocated": lambda: numpy_step(n, hoisted=False, xp=cupy),
        "cupy hoisted": lambda: numpy_step(n, hoisted=True, xp=cupy),
        "gpugrad eager (cuda)": lambda: gpugrad_step(n, compiled=False, device="cuda"),
        "gpugrad compiled (cuda)": lambda: gpugrad_step(n, compiled=True, device="cuda"),
    }
    sync = gg.cuda.synchronize
    return {name: _time(make, epochs, repeats, sync) for name, make in variants.items()}


def tracing_cost(n=1000):
    step = gpugrad_step(n, compiled=True)
    step()
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def replay_overhead(repeats=2000):
    """Per-call cost of a replay of a trivial function (1 element): the fixed cost of a call."""
    x = gg.tensor([1.0], dtype=gg.float64)
    f = gg_compile(lambda: x + 1.0)
    f()
    f()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            f()
        times.append((time.perf_counter() - start) / repeats)
    return statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    args = parser.parse_args(argv)
    sizes = [(1000, 100 if args.quick else 500), (1_000_000, 3 if args.quick else 10)]
    repeats = 3 if args.quick else 5
    results = {}
    for n, epochs in sizes:
        times = compare(n, epochs, repeats)
        base = times["numpy preallocated"]
        print(f"\ncurve-fit step, float64, N={n:,}, {epochs} epochs, median of {repeats}")
        print(f"{'variant':28s} {'per epoch':>12s} {'/ preallocated':>15s} {'/ hoisted':>10s}")
        for name, t in times.items():
            print(f"{name:28s} {t * 1e6:10.1f}us {t / base:15.2f} {t / times['numpy hoisted']:10.2f}")
        if "pytorch eager (1 thread)" in times:
            print(f"compiled / pytorch: {times['gpugrad compiled'] / times['pytorch eager (1 thread)']:.3f}")
        if "gpugrad compiled (cuda)" in times:
            print(f"on the GPU: compiled / cupy preallocated "
                  f"{times['gpugrad compiled (cuda)'] / times['cupy preallocated']:.3f}, compiled / eager "
                  f"{times['gpugrad compiled (cuda)'] / times['gpugrad eager (cuda)']:.3f}")
        results[n] = times
    trace = tracing_cost()
    overhead = replay_overhead()
    print(f"\ntracing cost (first traced call, N=1000): {trace * 1e3:.1f} ms")
    print(f"steady replay overhead per call (1-element function): {overhead * 1e6:.1f} us")
    results["trace_s"], results["replay_overhead_s"] = trace, overhead
    return results


if __name__ == "__main__":
    main()
