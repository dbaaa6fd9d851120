"""addmm / mv / cross / tensordot / kron / cdist / vstack / hstack / concat / meshgrid."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends import to_host

rng = np.random.default_rng(0)


def _host(t):
    return np.asarray(to_host(t.array))


def _t(array, device, grad=False):
    return gg.tensor(array, dtype=gg.float64, device=device, requires_grad=grad)


def test_addmm_and_mv(device):
    c, a, b, v = rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=3)
    out = gg.addmm(_t(c, device), _t(a, device), _t(b, device), beta=0.5, alpha=2)
    np.testing.assert_allclose(_host(out), 0.5 * c + 2 * a @ b)
    np.testing.assert_allclose(_host(_t(c, device).addmm(_t(a, device), _t(b, device))), c + a @ b)
    np.testing.assert_allclose(_host(gg.mv(_t(a, device), _t(v, device))), a @ v)
    assert gradcheck(lambda x, y, z: gg.addmm(x, y, z, alpha=3), (_t(c, device, True), _t(a, device, True),
                                                                     _t(b, device, True)))
    with pytest.raises(RuntimeError, match="mv"):
        gg.mv(_t(v, device), _t(v, device))


def test_cross(device):
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(_host(gg.cross(_t(a, device), _t(b, device))), np.cross(a, b))
    np.testing.assert_allclose(_host(_t(a.T, device).cross(_t(b.T, device), dim=0)), np.cross(a, b).T)
    assert gradcheck(gg.cross, (_t(a, device, True), _t(b, device, True)))
    assert gradgradcheck(gg.cross, (_t(a, device, True), _t(b, device, True)))


@pytest.mark.parametrize("dims", [0, 1, 2, ([0, 2], [1, 0])])
def test_tensordot(device, dims):
    a = rng.normal(size=(3, 4, 5))
    b = rng.normal(size=(5, 3, 2)) if isinstance(dims, tuple) else rng.normal(size=(4, 5, 2))
    if dims == 1:
        b = rng.normal(size=(5, 2))
    expected = np.tensordot(a, b, axes=dims)
    np.testing.assert_allclose(_host(gg.tensordot(_t(a, device), _t(b, device), dims=dims)), expected)
    assert gradcheck(lambda x, y: gg.tensordot(x, y, dims), (_t(a, device, True), _t(b, device, True)))


def test_kron(device):
    for a, b in [(rng.normal(size=(2, 3)), rng.normal(size=(3, 2))), (rng.normal(size=2), rng.normal(size=(2, 2)))]:
        np.testing.assert_allclose(_host(gg.kron(_t(a, device), _t(b, device))), np.kron(a, b))
    assert gradcheck(gg.kron, (_t(rng.normal(size=(2, 2)), device, True), _t(rng.normal(size=(2, 1)), device, True)))


def test_cdist(device):
    x1, x2 = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3))
    expected = np.linalg.norm(x1[:, :, None, :] - x2[:, None, :, :], axis=-1)
    np.testing.assert_allclose(_host(gg.cdist(_t(x1, device), _t(x2, device))), expected)
    expected_l1 = np.abs(x1[:, :, None, :] - x2[:, None, :, :]).sum(-1)
    np.testing.assert_allclose(_host(gg.cdist(_t(x1, device), _t(x2, device), p=1)), expected_l1)
    assert gradcheck(gg.cdist, (_t(x1, device, True), _t(x2, device, True)))


def test_stacking(device):
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(_host(gg.vstack([_t(a, device), _t(b, device)])), np.vstack([a, b]))
    np.testing.assert_array_equal(_host(gg.hstack([_t(a, device), _t(b, device)])), np.hstack([a, b]))
    m = np.ones((2, 2))
    np.testing.assert_array_equal(_host(gg.hstack([_t(m, device), _t(m, device)])), np.hstack([m, m]))
    np.testing.assert_array_equal(_host(gg.concat([_t(m, device), _t(m, device)], dim=1)), np.concatenate([m, m], 1))
    np.testing.assert_array_equal(_host(gg.concatenate([_t(m, device), _t(m, device)])), np.concatenate([m, m]))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(device, indexing):
    x, y, z = np.arange(2.0), np.arange(3.0), np.arange(4.0)
    grids = gg.meshgrid(_t(x, device), _t(y, device), _t(z, device), indexing=indexing)
    for got, want in zip(grids, np.meshgrid(x, y, z, indexing=indexing)):
        np.testing.assert_array_equal(_host(got), want)
    xs = _t(x, device, True)
    gg.meshgrid([xs, _t(y, device)])[0].sum().backward()
    np.testing.assert_array_equal(_host(xs.grad), [3.0, 3.0])


def test_torch_parity():
    torch = pytest.importorskip("torch")
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    np.testing.assert_allclose(gg.cross(gg.tensor(a), gg.tensor(b), dim=1).numpy(),
                               torch.cross(torch.tensor(a), torch.tensor(b), dim=1).numpy())
    np.testing.assert_allclose(gg.kron(gg.tensor(a), gg.tensor(b)).numpy(),
                               torch.kron(torch.tensor(a), torch.tensor(b)).numpy())
    np.testing.assert_allclose(gg.cdist(gg.tensor(a), gg.tensor(b)).numpy(),
                               torch.cdist(torch.tensor(a), torch.tensor(b)).numpy())
    got = gg.meshgrid(gg.tensor([1, 2]), gg.tensor([3, 4, 5]), indexing="xy")
    want = torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3, 4, 5]), indexing="xy")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
