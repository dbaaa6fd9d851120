"""gg.normal: torch.normal's overloads, shapes and dtypes, the seed, zero gradients to mean and std."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host


def test_number_mean_and_std_with_size(device):
    x = gg.normal(3.0, 2.0, size=(20000,), device=device)
    assert x.shape == (20000,) and x.dtype == gg.float32 and x.device == device
    assert abs(float(x.mean()) - 3.0) < 0.1 and abs(float(x.std()) - 2.0) < 0.1
    assert gg.normal(0.0, 1.0, (2, 3), dtype=gg.float64).dtype == gg.float64


@pytest.mark.parametrize("mean, std, shape", [
    (lambda d: gg.zeros(4, device=d), lambda d: gg.ones(4, device=d), (4,)),
    (lambda d: gg.zeros(2, 1, device=d), lambda d: gg.ones(3, device=d), (2, 3)),
    (lambda d: 1.0, lambda d: gg.ones(3, device=d), (3,)),
    (lambda d: gg.zeros(2, 3, device=d), lambda d: 0.5, (2, 3)),
])
def test_tensor_overloads_take_the_broadcast_shape(mean, std, shape, device):
    out = gg.normal(mean(device), std(device))
    assert out.shape == shape and out.device == device and out.dtype == gg.float32


def test_each_element_uses_its_own_mean_and_std():
    out = gg.normal(gg.tensor([0.0, 100.0], dtype=gg.float64).expand(5000, 2), gg.tensor([1.0, 0.0], dtype=gg.float64))
    values = out.numpy()
    assert out.dtype == gg.float64
    assert np.all(values[:, 1] == 100.0) and abs(values[:, 0].mean()) < 0.1


def test_mean_and_std_get_zero_gradients_as_in_pytorch():
    mean, std = gg.zeros(3, requires_grad=True), gg.ones(3, requires_grad=True)
    out = gg.normal(mean, std)
    assert out.requires_grad and out.grad_fn.name() == "NormalBackward3"
    out.sum().backward()
    assert mean.grad.tolist() == [0.0] * 3 and std.grad.tolist() == [0.0] * 3


def test_repeats_with_the_seed(device):
    gg.manual_seed(7)
    a = gg.normal(gg.zeros(5, device=device), 1.0)
    gg.manual_seed(7)
    b = gg.normal(gg.zeros(5, device=device), 1.0)
    np.testing.assert_array_equal(np.asarray(to_host(a.array)), np.asarray(to_host(b.array)))


@pytest.mark.parametrize("call, error, message", [
    (lambda: gg.normal(0.0, 1.0), TypeError, "give the shape"),
    (lambda: gg.normal(gg.zeros(2), 1.0, size=(2,)), TypeError, "size is only for number"),
    (lambda: gg.normal(0.0, -1.0, size=(2,)), RuntimeError, "std >= 0"),
    (lambda: gg.normal(gg.zeros(2), gg.tensor([1.0, -1.0])), RuntimeError, "std >= 0"),
    (lambda: gg.normal(gg.zeros(2), gg.ones(3)), ValueError, "broadcast"),
    (lambda: gg.normal(0.0, 1.0, (2,), generator=object()), TypeError, "manual_seed"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_matches_torch_shapes_and_dtypes():
    torch = pytest.importorskip("torch")
    assert gg.normal(2.0, gg.ones(3)).shape == tuple(torch.normal(2.0, torch.ones(3)).shape)
    assert gg.normal(gg.zeros(2, 1), gg.ones(3)).shape == tuple(torch.normal(torch.zeros(2, 1), torch.ones(3)).shape)
    ours, theirs = gg.normal(0.0, 1.0, size=(2,)).dtype, torch.normal(0.0, 1.0, size=(2,)).dtype
    assert str(ours).split(".")[-1] == str(theirs).split(".")[-1]
