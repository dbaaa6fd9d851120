"""Suite ``tensor_ops``: sort, gather, cumsum, cumprod and einsum, forward + backward, float32, (n, n) inputs.

Each call runs the op on an input that requires grad, ``backward()`` with a
ones gradient and clears ``.grad``, as a training loop does. NumPy (CuPy on a
GPU) is the floor: the same forward plus its hand-derived gradient.
"""

from __future__ import annotations

import numpy as np

import gpugrad as gg
from gpugrad.ops.shape import scatter_add

from .common import Config, Suite, add_case, impl_with_sync, to_gg, to_raw, to_torch, xp_for


def _rows(xp, n):
    return xp.arange(n)[:, None]


def _sort_raw(xp, a, index, g):
    order = xp.argsort(a, axis=1, kind="stable")
    xp.take_along_axis(a, order, axis=1)
    grad = xp.zeros_like(a)
    grad[_rows(xp, a.shape[0]), order] = g
    return grad


def _gather_raw(xp, a, index, g):
    xp.take_along_axis(a, index, axis=1)
    grad = xp.zeros_like(a)
    scatter_add(xp, grad, (_rows(xp, a.shape[0]), index), g)
    return grad


def _suffix_sum(xp, g):
    return xp.flip(xp.cumsum(xp.flip(g, 1), axis=1), 1)


def _cumsum_raw(xp, a, index, g):
    xp.cumsum(a, axis=1)
    return _suffix_sum(xp, g)


def _cumprod_raw(xp, a, index, g):
    y = xp.cumprod(a, axis=1)
    return _suffix_sum(xp, g * y) / a  # no zeros in these inputs


def _einsum_raw(xp, a, index, g):
    a @ a  # what a NumPy programmer writes for this einsum: the BLAS product, both ways
    return g @ a.T + a.T @ g


# op name -> (the op for gpugrad and torch alike, the hand-written NumPy/CuPy forward and gradient)
OPS = {
    "sort": (lambda lib, a, index: lib.sort(a, dim=1).values, _sort_raw),
    "gather": (lambda lib, a, index: lib.gather(a, 1, index), _gather_raw),
    "cumsum": (lambda lib, a, index: lib.cumsum(a, 1), _cumsum_raw),
    "cumprod": (lambda lib, a, index: lib.cumprod(a, 1), _cumprod_raw),
    "einsum ij,jk->ik": (lambda lib, a, index: lib.einsum("ij,jk->ik", a, a), _einsum_raw),
}


def sizes(config: Config) -> list:
    return config.pick([64, 256], [64], [8])


def _autograd_step(lib, op, a, index, ones):
    def step():
        op(lib, a, index).backward(ones)
        a.grad = None

    return step


def cases(config: Config, devices, libs) -> list:
    out = []
    for name, (op, raw) in OPS.items():
        for n in sizes(config):
            rng = np.random.default_rng(0)
            a_np = rng.uniform(0.5, 1.5, (n, n)).astype(np.float32)  # cumprod stays finite, no zeros
            index_np = rng.integers(0, n, (n, n))
            ones_np = np.ones((n, n), dtype=np.float32)

            def build_gg(device, op=op, a_np=a_np, index_np=index_np, ones_np=ones_np):
                a, index, ones = to_gg(a_np, device, True), to_gg(index_np, device), to_gg(ones_np, device)
                return impl_with_sync("gpugrad", device, libs, step=_autograd_step(gg, op, a, index, ones))

            def build_torch(device, op=op, a_np=a_np, index_np=index_np, ones_np=ones_np):
                a, index = to_torch(a_np, device, libs, True), to_torch(index_np, device, libs)
                step = _autograd_step(libs.torch, op, a, index, to_torch(ones_np, device, libs))
                return impl_with_sync("torch", device, libs, step=step)

            def build_raw(device, raw=raw, a_np=a_np, index_np=index_np, ones_np=ones_np):
                xp = xp_for(device, libs)
                a, index, ones = (to_raw(x, device, libs) for x in (a_np, index_np, ones_np))
                return impl_with_sync("raw", device, libs, step=lambda: raw(xp, a, index, ones))

            builders = {"gpugrad": build_gg, "raw": build_raw, "torch": build_torch}
            add_case(out, "tensor_ops", f"{name} ({n}x{n}) fwd+bwd", n, builders, devices, libs)
    return out


SUITE = Suite(
    name="tensor_ops",
    title="sort, gather, scans and einsum, float32, (n, n), forward + backward",
    cases=cases,
    repeat=lambda config: config.repeats(9, 5),
    unit="per call",
)
