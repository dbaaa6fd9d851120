"""Pooling: max/avg/adaptive against NumPy loops, gradients by gradcheck, errors, and the pooling layers."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn


def loop_pool(x, k, s, p, reduce, pad_value):
    """The reference for floor-mode pooling: pad, then reduce each window by hand."""
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=pad_value)
    oh, ow = (padded.shape[2] - k) // s + 1, (padded.shape[3] - k) // s + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(padded[:, :, i * s : i * s + k, j * s : j * s + k], axis=(2, 3))
    return out


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 2, 1), (3, 1, 1)], ids=["lenet", "padded", "overlapping"])
def test_max_pool2d_matches_a_loop_and_gradchecks(k, s, p, device):
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 8))
    ours = F.max_pool2d(gg.tensor(x, device=device), k, s, p)
    np.testing.assert_array_equal(ours.cpu().numpy(), loop_pool(x, k, s or k, p, np.max, -np.inf))
    xg = gg.tensor(x[:1, :2], device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: F.max_pool2d(t, k, s, p), (xg,))
    assert gg.autograd.gradgradcheck(lambda t: F.max_pool2d(t, k, s, p), (xg,))


def test_max_pool2d_sends_a_tied_windows_gradient_to_one_element():
    x = gg.zeros(1, 1, 2, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.sum().item() == 2.0 and x.grad.numpy().max() == 1.0  # one winner per window, as PyTorch


def test_max_pool2d_indices_are_flat_positions_in_the_plane():
    x = gg.tensor(np.random.default_rng(1).normal(size=(2, 3, 7, 6)))
    values, indices = F.max_pool2d(x, 3, 2, padding=1, return_indices=True)
    assert indices.dtype == gg.int64 and indices.shape == values.shape
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.numpy().reshape(2, 3, -1), 2),
                                  values.numpy().reshape(2, 3, -1))


def test_max_pool2d_ceil_mode_keeps_the_last_partial_window():
    x = gg.arange(25, dtype=gg.float32).reshape(1, 1, 5, 5)
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)
    out = F.max_pool2d(x, 2, ceil_mode=True)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 2, 1)], ids=["plain", "padded"])
def test_avg_pool2d_matches_a_loop_and_gradchecks(k, s, p, device):
    x = np.random.default_rng(2).normal(size=(2, 3, 7, 8))
    ours = F.avg_pool2d(gg.tensor(x, device=device), k, s, p)  # count_include_pad: zeros count
    np.testing.assert_allclose(ours.cpu().numpy(), loop_pool(x, k, s or k, p, np.mean, 0.0), rtol=1e-12)
    xg = gg.tensor(x[:1, :2], device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: F.avg_pool2d(t, k, s, p, count_include_pad=False), (xg,))
    assert gg.autograd.gradgradcheck(lambda t: F.avg_pool2d(t, k, s, p, ceil_mode=True), (xg,))


def test_avg_pool2d_divisors():
    ones = gg.ones(1, 1, 4, 4)
    np.testing.assert_allclose(F.avg_pool2d(ones, 2, padding=1, count_include_pad=False).numpy(), 1.0)
    corner = F.avg_pool2d(ones, 2, padding=1).numpy()[0, 0]
    assert corner[0, 0] == 0.25 and corner[1, 1] == 1.0 and corner[0, 1] == 0.5
    np.testing.assert_allclose(F.avg_pool2d(ones, 2, divisor_override=3).numpy(), 4 / 3)
    # ceil_mode's extra window averages only what it covers of the input
    x = gg.arange(9, dtype=gg.float32).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(F.avg_pool2d(x, 2, ceil_mode=True).numpy()[0, 0], [[2, 3.5], [6.5, 8]])


@pytest.mark.parametrize("size, out", [((6, 6), (3, 2)), ((7, 5), (3, 4)), ((5, 5), (1, 1)), ((4, 6), (None, 4))],
                         ids=["divisible", "overlapping", "global", "keep-height"])
def test_adaptive_avg_pool2d_matches_its_window_rule(size, out, device):
    x = np.random.default_rng(3).normal(size=(2, 3) + size)
    ours = F.adaptive_avg_pool2d(gg.tensor(x, device=device), out).cpu().numpy()
    oh, ow = (size[0] if out[0] is None else out[0]), out[1]
    assert ours.shape == (2, 3, oh, ow)
    for i in range(oh):
        for j in range(ow):
            r0, r1 = i * size[0] // oh, -(-(i + 1) * size[0] // oh)
            c0, c1 = j * size[1] // ow, -(-(j + 1) * size[1] // ow)
            np.testing.assert_allclose(ours[:, :, i, j], x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)), rtol=1e-12)
    xg = gg.tensor(x[:1, :1], device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), (xg,))


def test_pooling_without_a_batch_dimension():
    x = gg.randn(3, 6, 6)
    assert F.max_pool2d(x, 2).shape == F.avg_pool2d(x, 2).shape == (3, 3, 3)
    assert F.adaptive_avg_pool2d(x, 2).shape == (3, 2, 2)


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(gg.randn(1, 1, 4, 4), 2, padding=2), "pad should be smaller than or equal to half"),
    (lambda: F.avg_pool2d(gg.randn(1, 1, 4, 4), 5), "Kernel size can't be greater"),
    (lambda: F.max_pool2d(gg.randn(4, 4), 2), "expected 3D \\(unbatched\\) or 4D"),
    (lambda: F.max_pool2d(gg.randn(1, 1, 4, 4), 0), "must be positive"),
    (lambda: F.adaptive_avg_pool2d(gg.randn(1, 1, 4, 4), (1, 2, 3)), "an int or a pair"),
], ids=["padding", "kernel", "rank", "zero-kernel", "output-size"])
def test_bad_pooling_arguments_are_named(call, message):
    with pytest.raises((RuntimeError, ValueError), match=message):
        call()


def test_pooling_layers():
    x = gg.randn(2, 3, 8, 8)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).numpy(), F.max_pool2d(x, 2).numpy())
    np.testing.assert_array_equal(nn.AvgPool2d(3, 1, 1)(x).numpy(), F.avg_pool2d(x, 3, 1, 1).numpy())
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(), x.mean(dim=(2, 3), keepdim=True).numpy(), rtol=1e-5)
    values, indices = nn.MaxPool2d(2, return_indices=True)(x)
    assert values.shape == indices.shape == (2, 3, 4, 4)
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d(3, 1)) == "AvgPool2d(kernel_size=3, stride=1, padding=0)"
    assert repr(nn.AdaptiveAvgPool2d((5, 7))) == "AdaptiveAvgPool2d(output_size=(5, 7))"
    assert list(nn.MaxPool2d(2).parameters()) == []
