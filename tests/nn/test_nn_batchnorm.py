"""BatchNorm1d/2d and F.batch_norm: batch vs running statistics, momentum, options, gradients, PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends import to_host

rng = np.random.default_rng(0)


def _host(t):
    return np.asarray(to_host(t.array))


def _reference(x, mean, var, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_training_uses_batch_statistics_and_updates_running_ones(device, shape):
    data = rng.normal(2.0, 3.0, size=shape)
    layer = (gg.nn.BatchNorm2d if len(shape) == 4 else gg.nn.BatchNorm1d)(3, momentum=0.2, dtype=gg.float64,
                                                                          device=device)
    out = layer(gg.tensor(data, device=device))
    dims = (0,) + tuple(range(2, len(shape)))
    mean, var = data.mean(axis=dims), data.var(axis=dims)
    np.testing.assert_allclose(_host(out), _reference(data, mean, var), atol=1e-10)
    unbiased = data.var(axis=dims, ddof=1)
    np.testing.assert_allclose(_host(layer.running_mean), 0.2 * mean)
    np.testing.assert_allclose(_host(layer.running_var), 0.8 + 0.2 * unbiased)
    assert _host(layer.num_batches_tracked).item() == 1
    layer.eval()
    np.testing.assert_allclose(_host(layer(gg.tensor(data, device=device))),
                               _reference(data, 0.2 * mean, 0.8 + 0.2 * unbiased), atol=1e-10)


def test_momentum_none_is_a_cumulative_average(device):
    layer = gg.nn.BatchNorm1d(2, momentum=None, dtype=gg.float64, device=device)
    batches = [rng.normal(size=(5, 2)) for _ in range(3)]
    for batch in batches:
        layer(gg.tensor(batch, device=device))
    np.testing.assert_allclose(_host(layer.running_mean), np.mean([b.mean(0) for b in batches], axis=0))


def test_options(device):
    plain = gg.nn.BatchNorm1d(3, affine=False, track_running_stats=False, device=device)
    assert plain.weight is None and plain.running_mean is None and len(list(plain.parameters())) == 0
    data = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(_host(plain.eval()(gg.tensor(data, device=device))),
                               _reference(data, data.mean(0), data.var(0)), rtol=1e-4, atol=1e-5)
    no_bias = gg.nn.BatchNorm1d(3, bias=False, device=device)
    assert no_bias.bias is None and no_bias.weight is not None and "bias=False" in repr(no_bias)
    layer = gg.nn.BatchNorm2d(3, device=device)
    assert set(layer.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    with pytest.raises(ValueError, match="expected 4D input"):
        layer(gg.zeros(2, 3, device=device))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        gg.nn.BatchNorm1d(3, device=device)(gg.zeros(1, 3, device=device))
    with pytest.raises(RuntimeError, match="must be given in evaluation mode"):
        F.batch_norm(gg.zeros(2, 3, device=device), None, None, training=False)


def test_gradients(device):
    x = gg.tensor(rng.normal(size=(4, 2, 3)), device=device, requires_grad=True)
    w = gg.tensor([1.5, -0.5], dtype=gg.float64, device=device, requires_grad=True)
    b = gg.tensor([0.1, 0.2], dtype=gg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    assert gradgradcheck(lambda x, w: F.batch_norm(x, None, None, w, training=True), (x, w))
    running_mean, running_var = gg.zeros(2, dtype=gg.float64, device=device), gg.ones(2, dtype=gg.float64,
                                                                                      device=device)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, running_mean, running_var, w, b), (x, w, b))


def test_torch_parity():
    torch = pytest.importorskip("torch")
    data = rng.normal(size=(4, 3, 5, 5))
    ours, theirs = gg.nn.BatchNorm2d(3, dtype=gg.float64), torch.nn.BatchNorm2d(3, dtype=torch.float64)
    for _ in range(2):
        x, t = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        out, expected = ours(x), theirs(t)
        (out * out).sum().backward()
        (expected * expected).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-8)
        data = data * 2 + 1
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy())
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-8)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(gg.tensor(data)).detach().numpy(), theirs(torch.tensor(data)).detach().numpy())
