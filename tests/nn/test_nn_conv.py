"""Convolution: F.conv1d/conv2d against a NumPy loop, gradients by gradcheck, errors, and the Conv layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn


def loop_conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """The reference: a direct sum over output positions, written for clarity, not speed."""
    x = np.pad(x, ((0, 0), (0, 0)) + pads)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for i in range(oh):
            for j in range(ow):
                r, s = i * stride[0], j * stride[1]
                patch = x[:, g * cg : (g + 1) * cg, r : r + dilation[0] * (kh - 1) + 1 : dilation[0],
                          s : s + dilation[1] * (kw - 1) + 1 : dilation[1]]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


CASES = [  # (x shape, w shape, kwargs for F.conv2d, pads for the loop)
    ((2, 3, 7, 6), (4, 3, 3, 3), {}, ((0, 0), (0, 0))),
    ((2, 3, 7, 6), (4, 3, 3, 2), {"stride": 2, "padding": 1}, ((1, 1), (1, 1))),
    ((1, 2, 8, 7), (3, 2, 2, 3), {"dilation": (2, 1), "padding": (2, 0), "stride": (1, 2)}, ((2, 2), (0, 0))),
    ((2, 4, 6, 6), (6, 2, 3, 3), {"groups": 2, "padding": "same"}, ((1, 1), (1, 1))),
    ((1, 2, 5, 6), (2, 2, 2, 4), {"padding": "same"}, ((0, 1), (1, 2))),  # even kernels: the extra goes after
    ((1, 2, 5, 6), (2, 2, 2, 2), {"padding": "valid"}, ((0, 0), (0, 0))),
]
IDS = ["plain", "strided-padded", "dilated", "groups-same", "same-even-kernel", "valid"]


def _loop_args(kwargs):
    def pair(v, default):
        v = kwargs.get(v, default)
        return (v, v) if isinstance(v, int) else tuple(v)
    return {"stride": pair("stride", 1), "dilation": pair("dilation", 1), "groups": kwargs.get("groups", 1)}


@pytest.mark.parametrize("x_shape, w_shape, kwargs, pads", CASES, ids=IDS)
def test_conv2d_matches_a_direct_loop(x_shape, w_shape, kwargs, pads, device):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    ours = F.conv2d(gg.tensor(x, device=device), gg.tensor(w, device=device), gg.tensor(b, device=device), **kwargs)
    expected = loop_conv2d(x, w, b, pads=pads, **_loop_args(kwargs))
    assert ours.shape == expected.shape and ours.device == gg.device(device)
    np.testing.assert_allclose(ours.cpu().numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, pads", CASES, ids=IDS)
def test_conv2d_gradients(x_shape, w_shape, kwargs, pads, device):
    x = gg.randn(*x_shape, dtype=gg.float64, device=device, requires_grad=True)
    w = gg.randn(*w_shape, dtype=gg.float64, device=device, requires_grad=True)
    b = gg.randn(w_shape[0], dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda *t: F.conv2d(*t, **kwargs), (x, w, b))


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1, "groups": 2}], ids=["plain", "strided-groups"])
def test_conv2d_second_derivatives(kwargs, device):
    x = gg.randn(1, 2, 5, 5, dtype=gg.float64, device=device, requires_grad=True)
    w = gg.randn(2, 2 // kwargs.get("groups", 1), 3, 3, dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradgradcheck(lambda a, b: F.conv2d(a, b, **kwargs), (x, w))


def test_conv2d_without_a_batch_dimension_and_without_bias():
    x, w = gg.randn(3, 6, 6, dtype=gg.float64), gg.randn(2, 3, 3, 3, dtype=gg.float64)
    out = F.conv2d(x, w)
    assert out.shape == (2, 4, 4)
    np.testing.assert_allclose(out.numpy(), loop_conv2d(x.numpy()[None], w.numpy())[0], rtol=1e-12)


@pytest.mark.parametrize("kwargs, loop_args", [
    ({}, {}),
    ({"stride": 2, "padding": 2, "dilation": 2}, {"stride": (1, 2), "pads": ((0, 0), (2, 2)), "dilation": (1, 2)}),
    ({"padding": "same", "groups": 2}, {"pads": ((0, 0), (1, 1)), "groups": 2}),
], ids=["plain", "strided-dilated", "same-groups"])
def test_conv1d_matches_a_direct_loop(kwargs, loop_args, device):
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 4, 11)), rng.normal(size=(6, 4 // kwargs.get("groups", 1), 3)), rng.normal(size=6)
    ours = F.conv1d(gg.tensor(x, device=device), gg.tensor(w, device=device), gg.tensor(b, device=device), **kwargs)
    expected = loop_conv2d(x[:, :, None], w[:, :, None], b, **loop_args)[:, :, 0]
    np.testing.assert_allclose(ours.cpu().numpy(), expected, rtol=1e-10, atol=1e-12)
    xg = gg.tensor(x[:1, :, :6], device=device, requires_grad=True)
    wg = gg.tensor(w, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda a, c: F.conv1d(a, c, **kwargs), (xg, wg))


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 2, 3, 3)), "expected input\\[1, 3, 8, 8\\] to have 2 channels"),
    (lambda: F.conv2d(gg.randn(3, 8), gg.randn(4, 3, 3, 3)), "expected 3D \\(unbatched\\) or 4D"),
    (lambda: F.conv2d(gg.randn(1, 3, 2, 8), gg.randn(4, 3, 3, 3)), "Kernel size can't be greater"),
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 3, 3, 3), stride=2, padding="same"), "strided"),
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 3, 3, 3), padding="full"), "invalid padding string"),
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 3, 3, 3, dtype=gg.float64)), "should be the same"),
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 3, 3, 3), gg.randn(3)), "bias must have shape \\(4,\\)"),
    (lambda: F.conv2d(gg.randn(1, 4, 8, 8), gg.randn(4, 2, 3, 3), groups=3), "groups must be a positive int"),
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 3, 3)), "weight must be 4-D"),
    (lambda: F.conv1d(gg.randn(1, 3, 8), gg.randn(4, 3, 3, 3)), "weight must be 3-D"),
    (lambda: F.conv2d(gg.randn(1, 3, 8, 8), gg.randn(4, 3, 3, 3), stride=(1, 2, 3)), "stride must be an int or"),
    (lambda: F.conv2d(gg.randint(0, 3, (1, 3, 8, 8)), gg.randint(0, 3, (4, 3, 3, 3))), "floating-point"),
], ids=["channels", "rank", "kernel-too-big", "same-strided", "bad-string", "dtypes", "bias", "groups",
        "weight-rank", "conv1d-weight", "stride-arity", "integer"])
def test_bad_arguments_are_named(call, message):
    with pytest.raises((RuntimeError, ValueError), match=message):
        call()


# ----------------------------------------------------------- the layers
def test_conv2d_layer_shapes_init_and_repr():
    gg.manual_seed(0)
    conv = nn.Conv2d(6, 16, 5, groups=2)
    assert conv.weight.shape == (16, 3, 5, 5) and conv.bias.shape == (16,)
    bound = 1 / math.sqrt(3 * 5 * 5)  # PyTorch's kaiming_uniform_(a=sqrt(5)): U(+-1/sqrt(fan_in)), bias alike
    assert 0.9 * bound < float(conv.weight.abs().max()) <= bound
    assert float(conv.bias.abs().max()) <= bound
    assert conv(gg.randn(2, 6, 12, 12)).shape == (2, 16, 8, 8)
    assert repr(conv) == "Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1), groups=2)"
    assert repr(nn.Conv2d(1, 6, 5, padding=2, bias=False)) == (
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), bias=False)")
    assert repr(nn.Conv2d(1, 6, 3, padding="same", dilation=2)) == (
        "Conv2d(1, 6, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2))")
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv1d_layer_shapes_and_forward():
    conv = nn.Conv1d(3, 4, 3, stride=2, bias=False)
    assert conv.weight.shape == (4, 3, 3) and conv.bias is None
    assert conv.kernel_size == (3,) and conv.stride == (2,) and conv.padding == (0,)
    x = gg.randn(2, 3, 9)
    np.testing.assert_allclose(conv(x).detach().numpy(), F.conv1d(x, conv.weight, stride=2).detach().numpy())
    assert repr(conv) == "Conv1d(3, 4, kernel_size=(3,), stride=(2,), bias=False)"


def test_conv_layer_learns_a_known_filter():
    """A 3x3 Conv2d fitted by SGD to the output of a fixed filter finds that filter."""
    gg.manual_seed(0)
    target = gg.tensor([[[[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]]])
    conv = nn.Conv2d(1, 1, 3, padding=1)
    optimizer = gg.optim.SGD(conv.parameters(), lr=0.05)
    for _ in range(300):
        x = gg.randn(4, 1, 8, 8)
        loss = F.mse_loss(conv(x), F.conv2d(x, target, padding=1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(conv.weight.detach().numpy(), target.numpy(), atol=1e-3)
    assert abs(float(conv.bias)) < 1e-3


@pytest.mark.parametrize("kwargs, message", [
    ({"groups": 4}, "divisible by groups"),
    ({"padding_mode": "reflect"}, "padding_mode='reflect' is not supported"),
    ({"padding": "same", "stride": 2}, "strided"),
    ({"padding": "half"}, "invalid padding string"),
])
def test_conv_layer_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        nn.Conv2d(6, 6, 3, **kwargs)


def test_conv_layer_moves_with_to_and_runs_on_the_device(device):
    conv = nn.Conv2d(2, 3, 3).to(device)
    out = conv(gg.randn(1, 2, 5, 5, device=device))
    out.sum().backward()
    assert out.device == gg.device(device) and conv.weight.grad.shape == (3, 2, 3, 3)


@pytest.mark.gpu
def test_conv_refuses_operands_on_two_devices():
    with pytest.raises(RuntimeError, match=f"input is on {gg.device('cuda')} but weight is on cpu"):
        nn.Conv2d(2, 3, 3)(gg.randn(1, 2, 5, 5, device="cuda"))


def test_a_conv_net_training_step_compiles_to_the_same_numbers():
    """Convolution and pooling trace into gg.compile's static graph (no raw-memory views such as as_strided)."""
    def make():
        gg.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 2, 2, groups=1),
                              nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
        return model, gg.optim.SGD(model.parameters(), lr=0.1)

    def step(model, optimizer, x, y):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)  # (cross_entropy's target range check reads values, so it does not trace)
        loss.backward()
        optimizer.step()
        return loss

    eager, compiled = make(), make()
    compiled_step = gg.compile(lambda x, y: step(*compiled, x, y))
    for seed in range(3):
        gg.manual_seed(10 + seed)
        x, y = gg.randn(4, 1, 8, 8), gg.randn(4, 3)
        np.testing.assert_allclose(compiled_step(x, y).item(), step(*eager, x, y).item(), rtol=1e-5)
    for mine, reference in zip(compiled[0].parameters(), eager[0].parameters()):
        np.testing.assert_allclose(mine.detach().numpy(), reference.detach().numpy(), rtol=1e-5, atol=1e-6)
