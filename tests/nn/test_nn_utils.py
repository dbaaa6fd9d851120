"""gg.nn.utils: clip_grad_norm_ and clip_grad_value_ against NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(*grads, device="cpu"):
    params = []
    for g in grads:
        p = nn.Parameter(gg.zeros(*np.shape(g), dtype=gg.float64, device=device))
        p.grad = gg.tensor(np.asarray(g, dtype=np.float64), device=device)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_scales_to_max_norm_and_returns_total(norm_type, device):
    grads = [np.array([[3.0, -4.0], [1.0, 0.5]]), np.array([-12.0, 2.0])]
    params = params_with_grads(*grads, device=device) + [nn.Parameter(gg.zeros(2, device=device))]  # no grad
    flat = np.concatenate([g.ravel() for g in grads])
    expected = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, gg.Tensor) and total.device == device
    assert total.item() == pytest.approx(expected)
    scale = 1.0 / (expected + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.cpu().numpy(), g * scale, rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone_and_accepts_one_tensor():
    (p,) = params_with_grads([0.3, 0.4])
    grad = p.grad
    total = clip_grad_norm_(p, max_norm=1.0)
    assert total.item() == pytest.approx(0.5) and p.grad is grad
    np.testing.assert_allclose(p.grad.numpy(), [0.3, 0.4])
    assert clip_grad_norm_([nn.Parameter(gg.zeros(2))], 1.0).item() == 0.0  # nothing has a gradient


def test_clip_grad_norm_non_finite():
    params = params_with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 = nan while scaling, as in PyTorch
        assert math.isinf(clip_grad_norm_(params, 1.0).item())


def test_clip_grad_value_(device):
    params = params_with_grads([-3.0, 0.2, 5.0], [[0.9, -0.1]], device=device)
    assert clip_grad_value_(params, 0.5) is None
    np.testing.assert_allclose(params[0].grad.cpu().numpy(), [-0.5, 0.2, 0.5])
    np.testing.assert_allclose(params[1].grad.cpu().numpy(), [[0.5, -0.1]])


def test_clip_after_a_real_backward():
    model = nn.Linear(4, 3)
    (model(gg.randn(8, 4)) * 100).sum().backward()
    clip_grad_norm_(model.parameters(), 0.5)
    total = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in model.parameters()))
    assert total == pytest.approx(0.5, rel=1e-4)
