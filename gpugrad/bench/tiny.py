"""Suite ``tiny``: what one op costs on a tiny tensor with autograd on (Python overhead, not math).

For ``a+b``, ``a*b``, ``a.sum()`` and ``a@b`` on shapes (3,) and (16, 16),
inputs with ``requires_grad=True``:

* ``fwd``: the op alone; gpugrad and PyTorch record it on the tape (and drop it).
* ``fwd+bwd``: the op, ``backward()`` (with a ones gradient for a non-scalar
  result) and ``a.grad = b.grad = None``, as a training loop does.

NumPy is the floor: the raw op, and for ``fwd+bwd`` the op plus its
hand-derived gradients.
"""

from __future__ import annotations

import numpy as np

from .common import Config, Suite, add_case, impl_with_sync, to_gg, to_raw, to_torch, xp_for

SHAPES = [(3,), (16, 16)]


def _matmul_grads(a, b, g, xp):
    if a.ndim == 1:  # a dot product: a scalar out
        return g * b, g * a
    return g @ b.T, a.T @ g


# op name -> (the op on any library's arrays/tensors, its hand-derived gradients for the NumPy floor)
OPS = {
    "a+b": (lambda a, b: a + b, lambda a, b, g, xp: (g, g)),
    "a*b": (lambda a, b: a * b, lambda a, b, g, xp: (g * b, g * a)),
    "a.sum()": (lambda a, b: a.sum(), lambda a, b, g, xp: (g * xp.ones_like(a), None)),
    "a@b": (lambda a, b: a @ b, _matmul_grads),
}


def _inputs(shape):
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)


def _autograd_step(op, a, b, backward: bool, ones):
    """The timed call for gpugrad and PyTorch (the same code runs on both)."""
    if not backward:
        return lambda: op(a, b)

    def step():
        out = op(a, b)
        out.backward(ones if out.ndim else None)
        a.grad = None
        b.grad = None

    return step


def _raw_step(op, grads, a, b, backward: bool, ones, xp):
    """The NumPy floor: the raw op, plus its hand-derived gradients for ``fwd+bwd``."""
    if not backward:
        return lambda: op(a, b)

    def step():
        op(a, b)
        grads(a, b, ones, xp)

    return step


def cases(config: Config, devices, libs) -> list:
    out = []
    for name, (op, grads) in OPS.items():
        for shape in SHAPES:
            a_np, b_np = _inputs(shape)
            ones_np = np.ones_like(op(a_np, b_np))
            for backward in (False, True):

                def build_gg(device, backward=backward, op=op, a_np=a_np, b_np=b_np, ones_np=ones_np):
                    a, b = to_gg(a_np, device, True), to_gg(b_np, device, True)
                    step = _autograd_step(op, a, b, backward, to_gg(ones_np, device))
                    return impl_with_sync("gpugrad", device, libs, step=step)

                def build_torch(device, backward=backward, op=op, a_np=a_np, b_np=b_np, ones_np=ones_np):
                    a, b = to_torch(a_np, device, libs, True), to_torch(b_np, device, libs, True)
                    step = _autograd_step(op, a, b, backward, to_torch(ones_np, device, libs))
                    return impl_with_sync("torch", device, libs, step=step)

                def build_raw(device, backward=backward, op=op, grads=grads, a_np=a_np, b_np=b_np, ones_np=ones_np):
                    a, b, ones = (to_raw(x, device, libs) for x in (a_np, b_np, ones_np))
                    step = _raw_step(op, grads, a, b, backward, ones, xp_for(device, libs))
                    return impl_with_sync("raw", device, libs, step=step)

                label = f"{name} {shape} {'fwd+bwd' if backward else 'fwd'}"
                builders = {"gpugrad": build_gg, "raw": build_raw, "torch": build_torch}
                add_case(out, "tiny", label, None, builders, devices, libs)
    return out


def summarize(measurements, config) -> list:
    """Issue 2's target: ``a+b`` with grad at most 0.7x PyTorch's time."""
    lines = []
    for m in measurements:
        if m.impl == "gpugrad" and m.case.startswith("a+b") and "torch" in m.ratios:
            verdict = "met" if m.ratios["torch"] <= 0.7 else "not met"
            lines.append(f"target a+b <= 0.7x torch ({m.case}, {m.device}): {m.ratios['torch']:.2f}x, {verdict}")
    return lines


SUITE = Suite(
    name="tiny",
    title="per-op cost on tiny tensors, autograd on",
    cases=cases,
    repeat=lambda config: config.repeats(15, 5),
    unit="per call",
    summarize=summarize,
)
