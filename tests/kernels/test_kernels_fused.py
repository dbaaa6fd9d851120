"""gpugrad.backends.fused: the dispatch the optimizers and losses use, on every launch backend.

The NumPy references are gpugrad.optim.functional (the optimizers' own fallback) and formulas
written here; where PyTorch is installed, the results are also compared with torch.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_test_utils import assert_close, to_host

from gpugrad.backends import fused, kernels
from gpugrad.optim import functional

# ---------------------------------------------------------------------------------------------
# supports()


def test_supports_is_false_for_cpu_arrays():
    """With no GPU (or NumPy arrays) the default backend declines, so callers keep their NumPy code."""
    assert not fused.supports("sgd", [np.zeros(3, np.float32)])
    assert not fused.supports("adam", [np.zeros(3)])


def test_supports_device_arrays_of_float_dtypes(emu):
    params = [emu.upload(np.zeros(3, np.float32)), emu.upload(np.zeros((2, 2), np.float64))]
    assert fused.supports("sgd", params, backend=emu)
    assert fused.supports("adam", params, backend=emu)
    assert fused.supports("bce_with_logits", [params[0], params[0]], backend=emu)


@pytest.mark.parametrize("case", ["unknown name", "no kernel", "float16", "not contiguous", "host array", "empty"])
def test_supports_declines(emu, case):
    good = emu.upload(np.zeros((2, 3), np.float32))
    name, arrays = {
        "unknown name": ("lbfgs", [good]),
        "no kernel": ("rmsprop", [good]),
        "float16": ("sgd", [emu.upload(np.zeros(3, np.float16))]),
        "not contiguous": ("sgd", [good.T]),
        "host array": ("sgd", [good, np.zeros(3, np.float32)]),
        "empty": ("sgd", []),
    }[case]
    assert not fused.supports(name, arrays, backend=emu)


# ---------------------------------------------------------------------------------------------
# Optimizers


def mixed_params(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(33).astype(np.float32), rng.standard_normal((4, 5)), rng.standard_normal(1025)
            .astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)]


def to_device(backend, arrays):
    return [backend.upload(a, 0) for a in arrays]


def transposed_param(backend, array):
    """A non-contiguous device view with the values of ``array``: the kernels cannot update it in place."""
    return backend.upload(np.ascontiguousarray(array.T), 0).T


def xp_of(backend):
    return backend.cupy if isinstance(backend, kernels.CupyBackend) else np


def strided_grad(backend, array):
    """A non-contiguous device view with the values of a 1-D ``array``: the kernels get a contiguous copy."""
    return backend.upload(np.repeat(array, 2), 0)[::2]


def test_fused_sgd_matches_the_reference_for_mixed_dtypes_and_layouts(backend):
    """float32 and float64 params, a strided gradient (copied), a transposed param (left to the reference)."""
    options = dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=False, weight_decay=0.01, maximize=False)
    params, expected = mixed_params(0), mixed_params(0)
    device_params = to_device(backend, params[:3]) + [transposed_param(backend, params[3])]
    buffers = [np.zeros_like(p) for p in params]
    device_buffers = to_device(backend, buffers)
    for step in range(3):
        grads = mixed_params(step + 1)
        device_grads = [strided_grad(backend, grads[0])] + to_device(backend, grads[1:3]) + [
            transposed_param(backend, grads[3])]
        fused.sgd_update(device_params, device_grads, device_buffers, first_step=step == 0, xp=xp_of(backend),
                         backend=backend, **options)
        functional.sgd_update(expected, grads, buffers, first_step=step == 0, xp=np, **options)
    for got, want in zip(device_params, expected):
        assert_close(got, want, want.dtype, rtol=1e-5, atol=1e-6)


def test_fused_sgd_launches_once_per_dtype(emu):
    params = to_device(emu, mixed_params(0))
    fused.sgd_update(params, to_device(emu, mixed_params(1)), [None] * 4, lr=0.1, momentum=0.0, dampening=0.0,
                     nesterov=False, weight_decay=0.0, maximize=False, first_step=True, xp=np, backend=emu)
    assert sorted(launch[0] for launch in emu.launches) == ["sgd_multi_tensor<double>", "sgd_multi_tensor<float>"]


@pytest.mark.parametrize("decoupled, amsgrad", [(False, False), (True, True)], ids=["adam", "adamw-amsgrad"])
def test_fused_adam_matches_the_reference(backend, decoupled, amsgrad):
    options = dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.05, decoupled=decoupled,
                   amsgrad=amsgrad, maximize=False)
    params, expected = mixed_params(0), mixed_params(0)
    states = {k: [np.zeros_like(p) for p in params] for k in ("m", "v", "vmax")}
    device_params = to_device(backend, params)
    device_states = {k: to_device(backend, v) for k, v in states.items()}
    for step in range(1, 4):
        grads = mixed_params(step)
        fused.adam_update(device_params, to_device(backend, grads), device_states["m"], device_states["v"],
                          device_states["vmax"] if amsgrad else [None] * 4, step=step, xp=xp_of(backend),
                          backend=backend,
                          **options)
        functional.adam_update(expected, grads, states["m"], states["v"], states["vmax"] if amsgrad else [None] * 4,
                               step=step, xp=np, **options)
    for got, want in zip(device_params, expected):
        assert_close(got, want, want.dtype, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_run_update_takes_the_fused_path_for_cupy_arrays(monkeypatch):
    """gpugrad.optim.functional.run_update asks fused.supports with the default backend (CuPy)."""
    backend = kernels.cupy_backend()
    calls = []
    monkeypatch.setattr(kernels, "sgd_multi_tensor", lambda *a, **k: calls.append(a))
    params = to_device(backend, [np.ones(3, np.float32)])
    functional.run_update("sgd", params, params, [None], lr=0.1, momentum=0.0, dampening=0.0, nesterov=False,
                          weight_decay=0.0, maximize=False, first_step=True, xp=backend.cupy)
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------------
# Losses, softmax, sums


def test_fused_bce_broadcasts_a_weight_that_does_not_repeat(backend):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4)), rng.uniform(0, 1, (6, 4))
    weight, pos_weight = rng.uniform(0.5, 2, (6, 1)), rng.uniform(0.5, 2, (4,))
    loss, grad = fused.bce_with_logits(*to_device(backend, [x, y, weight, pos_weight]), reduction="sum",
                                       backend=backend)
    log_weight = 1 + (pos_weight - 1) * y
    expected = (weight * ((1 - y) * x + log_weight * np.logaddexp(0, -x))).sum()
    expected_grad = weight * ((1 - y) - log_weight / (1 + np.exp(x)))
    assert_close(loss, expected, np.float64, rtol=1e-12)
    assert_close(grad, expected_grad, np.float64, rtol=1e-12)


def test_fused_mse_softmax_and_sums(backend):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    dx, dy = to_device(backend, [x, y])
    loss, grad = fused.mse_loss(dx, dy, backend=backend)
    assert_close(loss, ((x - y) ** 2).mean(), np.float64)
    assert_close(grad, 2 * (x - y) / x.size, np.float64)
    log_y = fused.softmax(dx, log=True, backend=backend)
    assert_close(log_y, x - np.log(np.exp(x).sum(-1, keepdims=True)), np.float64)
    assert_close(fused.softmax_backward(log_y, dy, log=True, backend=backend),
                 y - np.exp(to_host(log_y)) * y.sum(-1, keepdims=True), np.float64)
    assert_close(fused.sum(dx, backend=backend), x.sum(), np.float64)
    assert_close(fused.sum(dx, dim=-1, mean=True, backend=backend), x.mean(-1), np.float64)
    assert_close(fused.sum(dx.T, dim=-1, backend=backend), x.sum(0), np.float64)  # a non-contiguous input is copied
    with pytest.raises(ValueError, match="all elements or the last axis"):
        fused.sum(dx, dim=0, backend=backend)


# ---------------------------------------------------------------------------------------------
# Parity with PyTorch, where it is installed


def test_adamw_amsgrad_and_nesterov_sgd_match_torch(emu):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    start = rng.standard_normal(37)
    grads = [rng.standard_normal(37) for _ in range(4)]
    for name, options in [("adam", dict(lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1, amsgrad=True)),
                          ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01))]:
        weight = torch.tensor(start.copy(), requires_grad=True)
        optimizer = (torch.optim.AdamW if name == "adam" else torch.optim.SGD)([weight], **options)
        params = [emu.upload(start)]
        states = [emu.upload(np.zeros(37)) for _ in range(3)]
        for step, grad in enumerate(grads, 1):
            weight.grad = torch.tensor(grad)
            optimizer.step()
            if name == "adam":
                fused.adam_update(params, [emu.upload(grad)], [states[0]], [states[1]], [states[2]], step=step,
                                  lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decoupled=True,
                                  amsgrad=True, maximize=False, xp=np, backend=emu)
            else:
                fused.sgd_update(params, [emu.upload(grad)], [states[0]], lr=0.1, momentum=0.9, dampening=0.0,
                                 nesterov=True, weight_decay=0.01, maximize=False, first_step=step == 1, xp=np,
                                 backend=emu)
        np.testing.assert_allclose(params[0], weight.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


def test_bce_with_logits_matches_torch(emu):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)) * 10, rng.uniform(0, 1, (8, 3))
    pos_weight = rng.uniform(0.5, 3, 3)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(tx, torch.tensor(y),
                                                                     pos_weight=torch.tensor(pos_weight))
    expected.backward()
    loss, grad = fused.bce_with_logits(emu.upload(x), emu.upload(y), pos_weight=emu.upload(pos_weight), backend=emu)
    np.testing.assert_allclose(float(loss), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-10, atol=1e-15)
