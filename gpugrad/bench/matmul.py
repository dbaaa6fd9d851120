"""Suite ``matmul``: square float32 matrix products over sizes (GFLOP/s = 2 n^3 / time).

Forward only, no tensor requires grad: the BLAS (or cuBLAS) underneath does
the work, so gpugrad should match NumPy here except at small n, where the
fixed cost per call shows.
"""

from __future__ import annotations

import numpy as np

from .common import Config, Suite, add_case, impl_with_sync, to_gg, to_raw, to_torch


def sizes(config: Config) -> list:
    return config.pick([64, 128, 256, 512, 1024], [64, 256, 512], [32])


def cases(config: Config, devices, libs) -> list:
    out = []
    for n in sizes(config):
        rng = np.random.default_rng(0)
        a_np = rng.standard_normal((n, n)).astype(np.float32)
        b_np = rng.standard_normal((n, n)).astype(np.float32)

        def build_gg(device, a_np=a_np, b_np=b_np):
            a, b = to_gg(a_np, device), to_gg(b_np, device)
            return impl_with_sync("gpugrad", device, libs, step=lambda: a @ b)

        def build_torch(device, a_np=a_np, b_np=b_np):
            a, b = to_torch(a_np, device, libs), to_torch(b_np, device, libs)
            return impl_with_sync("torch", device, libs, step=lambda: a @ b)

        def build_raw(device, a_np=a_np, b_np=b_np):
            a, b = to_raw(a_np, device, libs), to_raw(b_np, device, libs)
            return impl_with_sync("raw", device, libs, step=lambda: a @ b)

        builders = {"gpugrad": build_gg, "raw": build_raw, "torch": build_torch}
        add_case(out, "matmul", "a@b (n x n)", n, builders, devices, libs, work=2.0 * n**3,
                 interleave=False, settle=config.settle)
    return out


SUITE = Suite(
    name="matmul",
    title="square matmul, float32, forward only",
    cases=cases,
    repeat=lambda config: config.repeats(9, 5),
    metric=("GFLOP/s", lambda m: m.throughput()),
    sweep=True,
)
