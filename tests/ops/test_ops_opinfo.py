"""Checks generated for every op in ``op_db.OPS`` (see ``opinfo.py``).

For each op and sample:
  * forward values against the NumPy reference, float32 and float64, on every device;
  * float64 ``gradcheck`` and, where twice differentiable, ``gradgradcheck``;
  * float32 gradients on every device against float64 CPU gradients (on cuda
    this is the CPU-vs-GPU check; on the CPU it catches dtype slips in backward);
  * values and gradients equal to PyTorch's on the first two samples, when torch is importable.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from op_db import OPS
from opinfo import (
    BACKWARD_TOL_FLOAT32, FORWARD_TOL, TORCH_TOL, TorchNamespace, assert_close, cases, differentiable, host,
    is_float, make_arrays, outputs, to_gg, to_torch, torch_or_skip,
)

ALL = cases(OPS)
GRAD = cases(OPS, lambda op, s: op.grad)
GRADGRAD = cases(OPS, lambda op, s: op.grad and op.gradgrad)
TORCH = cases(OPS, lambda op, s: op.torch and s.torch, per_op=2)


def run(op, sample, tensors, lib=gg):
    return op.op(lib, *tensors, **sample.kwargs)


def cotangents(results, seed: int = 0) -> list:
    """Random vectors for the vector-Jacobian products, one per differentiable output (float64 NumPy)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(r.shape)) for r in results]


def vjp(op, sample, arrays, dtype, device) -> tuple:
    """The inputs that require grad, and the gradients of <outputs, cotangents> with respect to them."""
    inputs = to_gg(arrays, dtype, device)
    outs = differentiable(run(op, sample, inputs))
    seeds = [gg.tensor(c, dtype=dtype, device=device) for c in cotangents(outs)]
    wrt = [t for t in inputs if t.requires_grad]
    return wrt, gg.autograd.grad(outs, wrt, grad_outputs=seeds, allow_unused=True)


# ----------------------------------------------------------------- forward
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("op, sample", ALL)
def test_forward_matches_numpy(op, sample, dtype, device):
    arrays = make_arrays(op, sample)
    seen = [a.astype(dtype.np).astype(np.float64) if is_float(a) else a for a in arrays]  # the rounded inputs
    expected = outputs(op.ref(*seen, **sample.kwargs))
    got = outputs(run(op, sample, to_gg(arrays, dtype, device, requires_grad=False)))
    assert len(got) == len(expected), f"{op.name}: {len(got)} outputs, expected {len(expected)}"
    rtol, atol = op.forward_tol.get(dtype, FORWARD_TOL[dtype])
    for i, (g, e) in enumerate(zip(got, expected)):
        want_dtype = (op.out_dtypes[i] if op.out_dtypes else None) or dtype
        assert g.dtype == want_dtype, f"{op.name} output {i}: dtype {g.dtype}, expected {want_dtype}"
        assert g.device == gg.device(device)
        assert_close(host(g), e, rtol, atol, f"{op.name} output {i}")
    if gg.device(device).type != "cpu":  # and the GPU agrees with the CPU path, not only with NumPy
        on_cpu = outputs(run(op, sample, to_gg(arrays, dtype, "cpu", requires_grad=False)))
        for i, (g, c) in enumerate(zip(got, on_cpu)):
            assert_close(host(g), host(c), rtol, atol, f"{op.name} output {i}, {device} vs cpu")


# ----------------------------------------------------------------- gradients
@pytest.mark.parametrize("op, sample", GRAD)
def test_gradcheck(op, sample):
    inputs = to_gg(make_arrays(op, sample))
    assert gg.autograd.gradcheck(lambda *xs: differentiable(run(op, sample, xs)), inputs)


@pytest.mark.parametrize("op, sample", GRADGRAD)
def test_gradgradcheck(op, sample):
    inputs = to_gg(make_arrays(op, sample))
    assert gg.autograd.gradgradcheck(lambda *xs: differentiable(run(op, sample, xs)), inputs)


@pytest.mark.parametrize("op, sample", GRAD)
def test_float32_gradients_match_float64_cpu(op, sample, device):
    arrays = make_arrays(op, sample)
    wrt_ref, expected = vjp(op, sample, arrays, gg.float64, "cpu")
    wrt, got = vjp(op, sample, arrays, gg.float32, device)
    rtol, atol = BACKWARD_TOL_FLOAT32
    for i, (x, g, e) in enumerate(zip(wrt, got, expected)):
        assert (g is None) == (e is None), f"{op.name}: gradient {i} is None on one side only"
        if g is None:
            continue
        assert g.dtype == gg.float32 and g.device == x.device, f"{op.name}: gradient {i} is {g.dtype} on {g.device}"
        assert tuple(g.shape) == tuple(x.shape), f"{op.name}: gradient {i} has shape {g.shape}, input {x.shape}"
        scale = max(1.0, float(np.abs(host(e)).max(initial=0.0)))
        assert_close(host(g), host(e), rtol, atol * scale, f"{op.name} gradient {i}")


# ----------------------------------------------------------------- PyTorch parity
def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


@pytest.mark.parametrize("op, sample", TORCH)
def test_matches_torch(op, sample):
    torch = torch_or_skip()
    lib = TorchNamespace(torch)
    arrays = make_arrays(op, sample)
    gg_inputs, torch_inputs = to_gg(arrays), to_torch(torch, arrays)
    gg_out, torch_out = outputs(run(op, sample, gg_inputs)), outputs(run(op, sample, torch_inputs, lib))
    assert len(gg_out) == len(torch_out)
    for i, (g, t) in enumerate(zip(gg_out, torch_out)):
        assert _dtype_name(g.dtype) == _dtype_name(t.dtype), f"{op.name} output {i}: {g.dtype} vs {t.dtype}"
        assert_close(host(g), t.detach().numpy(), *TORCH_TOL, f"{op.name} output {i} vs torch")
    if not op.grad:
        return
    gg_diff = differentiable(gg_out)
    torch_diff = [t for t in torch_out if t.dtype.is_floating_point]
    seeds = cotangents(gg_diff)
    gg_wrt = [x for x in gg_inputs if x.requires_grad]
    torch_wrt = [x for x in torch_inputs if x.requires_grad]
    gg_grads = gg.autograd.grad(gg_diff, gg_wrt, grad_outputs=[gg.tensor(s, dtype=gg.float64) for s in seeds],
                                allow_unused=True)
    torch_grads = torch.autograd.grad(torch_diff, torch_wrt, grad_outputs=[torch.tensor(s) for s in seeds],
                                      allow_unused=True)
    for i, (x, g, t) in enumerate(zip(gg_wrt, gg_grads, torch_grads)):
        g = np.zeros(x.shape) if g is None else host(g)  # an unused input: None on one side, zeros on the other
        t = np.zeros(x.shape) if t is None else t.numpy()
        assert_close(g, t, *TORCH_TOL, f"{op.name} gradient {i} vs torch")
