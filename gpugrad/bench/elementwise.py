"""Suite ``elementwise``: memory throughput of add, mul and exp over sizes (GB/s, float32).

Forward only, no tensor requires grad: this is the cost of an op on arrays
large enough for the math to matter, next to the raw NumPy (or CuPy) op and
PyTorch's. GB/s counts the bytes each op must read and write once
(inputs + output), so it is comparable across sizes and with the machine's
memory bandwidth; small sizes show the fixed cost per call instead.
"""

from __future__ import annotations

import numpy as np

import gpugrad as gg

from .common import Config, Suite, add_case, impl_with_sync, to_gg, to_raw, to_torch, xp_for

# op name -> (number of inputs, the op written for gg, torch and NumPy/CuPy alike given their module)
OPS = {
    "add": (2, lambda lib, a, b: a + b),
    "mul": (2, lambda lib, a, b: a * b),
    "exp": (1, lambda lib, a, b: lib.exp(a)),
}


def sizes(config: Config) -> list:
    return config.pick([10**3, 10**4, 10**5, 10**6, 10**7], [10**3, 10**5, 10**6], [10**3])


def cases(config: Config, devices, libs) -> list:
    out = []
    for name, (n_inputs, op) in OPS.items():
        for size in sizes(config):
            rng = np.random.default_rng(0)
            a_np = rng.standard_normal(size).astype(np.float32)
            b_np = rng.standard_normal(size).astype(np.float32)

            def build_gg(device, op=op, a_np=a_np, b_np=b_np):
                a, b = to_gg(a_np, device), to_gg(b_np, device)
                return impl_with_sync("gpugrad", device, libs, step=lambda: op(gg, a, b))

            def build_torch(device, op=op, a_np=a_np, b_np=b_np):
                a, b = to_torch(a_np, device, libs), to_torch(b_np, device, libs)
                return impl_with_sync("torch", device, libs, step=lambda: op(libs.torch, a, b))

            def build_raw(device, op=op, a_np=a_np, b_np=b_np):
                xp = xp_for(device, libs)
                a, b = to_raw(a_np, device, libs), to_raw(b_np, device, libs)
                return impl_with_sync("raw", device, libs, step=lambda: op(xp, a, b))

            work = (n_inputs + 1) * size * 4
            builders = {"gpugrad": build_gg, "raw": build_raw, "torch": build_torch}
            add_case(out, "elementwise", name, size, builders, devices, libs, work=work,
                     interleave=False, settle=config.settle)
    return out


SUITE = Suite(
    name="elementwise",
    title="elementwise throughput, float32, forward only",
    cases=cases,
    repeat=lambda config: config.repeats(9, 5),
    metric=("GB/s", lambda m: m.throughput()),
    sweep=True,
)
