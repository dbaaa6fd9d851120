"""Suite ``chain``: a long chain of scalar ops, to show the tape's cost per op stays flat as it grows.

``h = x; for L times: h = h * 1.0000001`` on a float64 scalar that requires
grad, then ``h.backward()``. Two cases per length L:

* ``fwd+bwd``: building the chain, backward and freeing the graph.
* ``backward``: only ``h.backward()`` (the chain is built outside the timed part).

The table reports time per op (seconds / L); the summary gives the per-op
time at the longest chain divided by that at the shortest: about 1 means
linear scaling. NumPy's floor is the raw multiply loop and, for the
gradient, the same loop on the gradient.
"""

from __future__ import annotations

import time

import numpy as np

from .common import Config, Suite, add_case, impl_with_sync, sync_for, to_gg, to_torch, xp_for

FACTOR = 1.0000001


def _autograd_impl(name, x, device, libs, length: int, backward_only: bool):
    sync = sync_for(name, device, libs)

    def build_chain():
        h = x
        for _ in range(length):
            h = h * FACTOR
        return h

    def fwd_bwd():
        build_chain().backward()
        x.grad = None

    def bwd_only():
        h = build_chain()
        sync()
        start = time.perf_counter()
        h.backward()
        sync()
        elapsed = time.perf_counter() - start
        x.grad = None
        return elapsed

    if backward_only:
        return impl_with_sync(name, device, libs, step=bwd_only, self_timed=True)
    return impl_with_sync(name, device, libs, step=fwd_bwd)


def _raw_impl(device, libs, length: int, backward_only: bool):
    xp = xp_for(device, libs)
    x = xp.asarray(1.0, dtype=xp.float64)
    sync = sync_for("raw", device, libs)

    def gradient():
        g = xp.asarray(1.0, dtype=xp.float64)
        for _ in range(length):
            g = g * FACTOR
        return g

    def fwd_bwd():
        h = x
        for _ in range(length):
            h = h * FACTOR
        gradient()

    def bwd_only():
        start = time.perf_counter()
        gradient()
        sync()
        return time.perf_counter() - start

    if backward_only:
        return impl_with_sync("raw", device, libs, step=bwd_only, self_timed=True)
    return impl_with_sync("raw", device, libs, step=fwd_bwd)


def lengths(config: Config) -> list:
    return config.pick([10_000, 30_000, 100_000], [1_000, 3_000, 10_000], [100, 300, 1_000])


def cases(config: Config, devices, libs) -> list:
    out = []
    for backward_only in (False, True):
        for length in lengths(config):

            def build_gg(device, length=length, backward_only=backward_only):
                x = to_gg(np.asarray(1.0), device, requires_grad=True)
                return _autograd_impl("gpugrad", x, device, libs, length, backward_only)

            def build_torch(device, length=length, backward_only=backward_only):
                x = to_torch(np.asarray(1.0), device, libs, requires_grad=True)
                return _autograd_impl("torch", x, device, libs, length, backward_only)

            def build_raw(device, length=length, backward_only=backward_only):
                return _raw_impl(device, libs, length, backward_only)

            builders = {"gpugrad": build_gg, "raw": build_raw, "torch": build_torch}
            name = "backward" if backward_only else "fwd+bwd"
            add_case(out, "chain", name, length, builders, devices, libs, number=1)
    return out


def per_op(measurement) -> float:
    return measurement.median / measurement.size


def summarize(measurements, config) -> list:
    """Per-op time at the longest chain over that at the shortest, per implementation: ~1 is linear."""
    lines = []
    groups = {}
    for m in measurements:
        if m.ok:
            groups.setdefault((m.case, m.device, m.impl), []).append(m)
    for (case, device, impl), rows in groups.items():
        rows.sort(key=lambda m: m.size)
        if len(rows) > 1:
            short, long = rows[0], rows[-1]
            per_op_ns = ", ".join(f"{m.size}: {per_op(m) * 1e9:.0f}" for m in rows)
            lines.append(
                f"{case:8s} {impl:8s} {device}: per-op ns {per_op_ns}; "
                f"per-op {long.size}/{short.size} = {per_op(long) / per_op(short):.2f}"
            )
    return lines


SUITE = Suite(
    name="chain",
    title="long scalar chain, forward + backward (time per op = time / length)",
    cases=cases,
    repeat=lambda config: config.repeats(5, 3),
    unit="per chain",
    metric=("ns/op", lambda m: per_op(m) * 1e9 if m.ok else None),
    sweep=True,
    summarize=summarize,
)
