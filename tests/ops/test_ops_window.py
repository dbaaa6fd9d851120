"""The sliding-window primitive: windows match a loop over positions, folding is unfolding's adjoint."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host
from gpugrad.ops.window import WindowMax, WindowSpec, fold_windows, unfold_windows

SPECS = [
    WindowSpec((2, 2), (2, 2), (1, 1), ((0, 0), (0, 0))),
    WindowSpec((3, 2), (1, 2), (1, 1), ((1, 1), (0, 1))),
    WindowSpec((2, 3), (2, 1), (2, 1), ((1, 2), (2, 0))),
]


def loop_windows(x: np.ndarray, spec: WindowSpec, pad_value=0.0) -> np.ndarray:
    """The reference: pad, then copy each window out by hand; laid out (C, kH, kW, N, oH, oW)."""
    padded = np.pad(x, ((0, 0), (0, 0)) + spec.pads, constant_values=pad_value)
    oh, ow = spec.out_size(x.shape[2], 0), spec.out_size(x.shape[3], 1)
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel, spec.stride, spec.dilation
    out = np.empty(x.shape[:2] + (oh, ow, kh, kw))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            out[:, :, i, j] = padded[:, :, rows, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
    return out.transpose(1, 4, 5, 0, 2, 3)


@pytest.mark.parametrize("spec", SPECS, ids=["pool", "padded", "dilated"])
def test_windows_match_a_loop_over_positions(spec, device):
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 7))
    ours = unfold_windows(gg.tensor(x, device=device), spec, pad_value=-1.5)
    np.testing.assert_array_equal(ours.cpu().numpy(), loop_windows(x, spec, pad_value=-1.5))


@pytest.mark.parametrize("spec", SPECS, ids=["pool", "padded", "dilated"])
def test_fold_is_the_adjoint_of_unfold(spec, device):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 6, 7))
    g = rng.normal(size=loop_windows(x, spec).shape)
    folded = fold_windows(gg.tensor(g, device=device), spec, x.shape).cpu().numpy()
    assert folded.shape == x.shape
    # <unfold(x), g> == <x, fold(g)> for every x, g: folding adds each window back where it came from
    np.testing.assert_allclose((loop_windows(x, spec) * g).sum(), (x * folded).sum(), rtol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=["pool", "padded", "dilated"])
def test_unfold_and_fold_are_twice_differentiable(spec, device):
    x = gg.randn(1, 2, 5, 6, dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: unfold_windows(t, spec) * 1.0, (x,))
    assert gg.autograd.gradgradcheck(lambda t: unfold_windows(t, spec) * 1.0, (x,))
    g = gg.tensor(np.random.default_rng(2).normal(size=loop_windows(np.zeros((1, 2, 5, 6)), spec).shape),
                  device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: fold_windows(t, spec, (1, 2, 5, 6)), (g,))


@pytest.mark.parametrize("spec", SPECS + [WindowSpec((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)))],
                         ids=["pool", "padded", "dilated", "overlapping"])
def test_window_max_and_its_scatter(spec, device):
    x = np.random.default_rng(3).normal(size=(2, 3, 6, 7))
    x[0, 0, :2, :2] = 1.0  # a tie: the first position wins, as in PyTorch
    maximum = WindowMax(spec, pad_value=-np.inf, keep_winners=True)
    out = maximum(gg.tensor(x, device=device))
    windows = loop_windows(x, spec, pad_value=-np.inf)  # (C, kH, kW, N, oH, oW)
    expected = windows.max(axis=(1, 2)).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(out.cpu().numpy(), expected)
    c, kh, kw, n, oh, ow = windows.shape
    first = windows.transpose(3, 0, 4, 5, 1, 2).reshape(n, c, oh, ow, kh * kw).argmax(axis=-1)
    np.testing.assert_array_equal(to_host(maximum.chosen), first)
    xg = gg.tensor(x[1:, :1], device=device, requires_grad=True)  # no ties: finite differences need a clear winner
    assert gg.autograd.gradcheck(lambda t: WindowMax(spec, pad_value=-np.inf)(t), (xg,))
    assert gg.autograd.gradgradcheck(lambda t: WindowMax(spec, pad_value=-np.inf)(t), (xg,))
    with gg.no_grad():
        skipped = WindowMax(spec, pad_value=-np.inf)
        np.testing.assert_array_equal(skipped(gg.tensor(x, device=device)).cpu().numpy(), expected)
    assert skipped.chosen is None  # nothing will read the winners: they are not computed
