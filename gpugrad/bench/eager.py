"""Suite ``eager``: issue 13's four rows, what the eager tape costs, side by side in one run.

* ``10-op chain (3,)``: ``((((a*b+a).tanh()*b-a).exp()*0.5+b).sigmoid()*a).sum().backward()`` on
  float32 (3,) inputs that require grad, then ``a.grad = b.grad = None``; NumPy runs the same
  forward and its hand-derived gradients.
* ``a+b (3,) fwd``: one add with grad on (the op recorded, then dropped).
* ``curvefit``: the ``curvefit`` suite's 500-epoch loop (one sample is a whole run).
* ``mlp``: the ``mlp`` suite's Adam step, whose goal is against hand-written NumPy.

The summary checks each row against the issue's goal (medians of this run).
"""

from __future__ import annotations

import numpy as np

from . import curvefit, mlp
from .common import Config, Suite, add_case, impl_with_sync, to_gg, to_raw, to_torch

SHAPE = (3,)


def chain(a, b):
    """The 10-op chain plus its sum, written once for gpugrad and PyTorch."""
    return ((((a * b + a).tanh() * b - a).exp() * 0.5 + b).sigmoid() * a).sum()


def chain_raw_with_grads(a, b):
    """The chain's value and its gradients with respect to ``a`` and ``b``, derived by hand (NumPy floor)."""
    t = np.tanh(a * b + a)
    e = np.exp(t * b - a)
    s = 1.0 / (1.0 + np.exp(-(e * 0.5 + b)))
    out = (s * a).sum()
    g_u3 = a * s * (1.0 - s)
    g_u2 = g_u3 * 0.5 * e
    g_u1 = g_u2 * b * (1.0 - t * t)
    grad_a = s - g_u2 + g_u1 * (b + 1.0)
    grad_b = g_u3 + g_u2 * t + g_u1 * a
    return out, grad_a, grad_b


def _inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal(SHAPE).astype(np.float32), rng.standard_normal(SHAPE).astype(np.float32)


def _chain_autograd_step(a, b):
    def step():
        chain(a, b).backward()
        a.grad = None
        b.grad = None

    return step


def _chain_builders(libs) -> dict:
    a_np, b_np = _inputs()

    def build_gg(device):
        a, b = to_gg(a_np, device, True), to_gg(b_np, device, True)
        return impl_with_sync("gpugrad", device, libs, step=_chain_autograd_step(a, b))

    def build_torch(device):
        a, b = to_torch(a_np, device, libs, True), to_torch(b_np, device, libs, True)
        return impl_with_sync("torch", device, libs, step=_chain_autograd_step(a, b))

    def build_raw(device):
        a, b = to_raw(a_np, device, libs), to_raw(b_np, device, libs)
        return impl_with_sync("raw", device, libs, step=lambda: chain_raw_with_grads(a, b))

    return {"gpugrad": build_gg, "raw": build_raw, "torch": build_torch}


def _add_builders(libs) -> dict:
    a_np, b_np = _inputs()

    def build(make, impl):
        def build_on(device):
            a, b = make(a_np, device), make(b_np, device)
            return impl_with_sync(impl, device, libs, step=lambda: a + b)

        return build_on

    return {
        "gpugrad": build(lambda x, d: to_gg(x, d, True), "gpugrad"),
        "raw": build(lambda x, d: to_raw(x, d, libs), "raw"),
        "torch": build(lambda x, d: to_torch(x, d, libs, True), "torch"),
    }


def cases(config: Config, devices, libs) -> list:
    out = []
    add_case(out, "eager", "10-op chain (3,) fwd+bwd", None, _chain_builders(libs), devices, libs)
    add_case(out, "eager", "a+b (3,) fwd", None, _add_builders(libs), devices, libs)
    n, epochs = curvefit.settings(config)
    fits = {name: curvefit._with(curvefit.BUILDERS[name], n, epochs, libs) for name in ("gpugrad", "raw", "torch")}
    add_case(out, "eager", f"curvefit N={n}, {epochs} epochs", None, fits, devices, libs, number=1)
    sizes, size = config.pick((mlp.SIZES, mlp.BATCH), (mlp.SIZES, mlp.BATCH), (mlp.TEST_SIZES, mlp.TEST_BATCH))
    steps = {
        "gpugrad": lambda d: mlp.build_gg(d, libs, sizes=sizes, batch_size=size),
        "raw": lambda d: mlp.build_raw(d, libs, sizes=sizes, batch_size=size),
        "torch": lambda d: mlp.build_torch(d, libs, sizes=sizes, batch_size=size),
    }
    add_case(out, "eager", "mlp " + "-".join(map(str, sizes)) + " Adam step", None, steps, devices, libs,
             interleave=False, settle=config.settle)
    return out


# case name prefix -> (the baseline the goal is against, the goal ratio)
GOALS = {"10-op chain": ("torch", 0.8), "a+b": ("torch", 1.0), "curvefit": ("torch", 0.6), "mlp": ("numpy", 1.2)}


def summarize(measurements, config) -> list:
    """Each row's ratio against its goal."""
    lines = []
    for m in measurements:
        if m.impl != "gpugrad":
            continue
        for prefix, (baseline, goal) in GOALS.items():
            if m.case.startswith(prefix) and baseline in m.ratios:
                verdict = "met" if m.ratios[baseline] <= goal else "not met"
                lines.append(f"goal {m.case} <= {goal}x {baseline} ({m.device}): {m.ratios[baseline]:.2f}x, {verdict}")
    return lines


SUITE = Suite(
    name="eager",
    title="issue 13: eager tape cost (chain, a+b, curve fit, MLP step)",
    cases=cases,
    repeat=lambda config: config.repeats(9, 5),
    unit="per call (curvefit: per 500-epoch run)",
    summarize=summarize,
)
