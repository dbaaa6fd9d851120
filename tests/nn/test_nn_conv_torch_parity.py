"""Parity with torch.nn.functional (skipped without torch): convolution, pooling, unfold/fold, in float64."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def check(ours_fn, torch_fn, arrays, rtol=1e-10, atol=1e-12):
    """Same values and same gradients for every input (given as NumPy arrays, all differentiated)."""
    ours_in = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = ours_fn(*ours_in), torch_fn(*theirs_in)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)
    seed = np.random.default_rng(9).normal(size=tuple(theirs.shape))
    ours.backward(gg.tensor(seed))
    theirs.backward(torch.tensor(seed))
    for mine, reference in zip(ours_in, theirs_in):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=rtol, atol=atol)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


CONV2D = [
    ((2, 3, 9, 8), (4, 3, 3, 2), {}),
    ((2, 3, 9, 8), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 4, 9, 8), (6, 2, 3, 3), {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2), "groups": 2}),
    ((1, 4, 7, 7), (4, 1, 3, 3), {"groups": 4, "padding": "same"}),  # depthwise
    ((1, 2, 7, 6), (3, 2, 4, 2), {"padding": "same", "dilation": 2}),
    ((1, 2, 7, 6), (3, 2, 4, 2), {"padding": "valid", "stride": 3}),
    ((3, 6, 6), (2, 3, 3, 3), {"padding": 1}),  # unbatched
]


@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV2D)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_conv2d(x_shape, w_shape, kwargs, bias):
    arrays = [normal(*x_shape), normal(*w_shape, seed=1)] + ([normal(w_shape[0], seed=2)] if bias else [])
    check(lambda *t: F.conv2d(*t, **kwargs), lambda *t: TF.conv2d(*t, **kwargs), arrays)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own note on its copy
@pytest.mark.parametrize("kwargs", [{}, {"stride": 3, "padding": 2, "dilation": 2}, {"padding": "same", "groups": 3}])
def test_conv1d(kwargs):
    arrays = [normal(2, 6, 13), normal(4 * (kwargs.get("groups", 1)), 6 // kwargs.get("groups", 1), 4, seed=1),
              normal(4 * (kwargs.get("groups", 1)), seed=2)]
    check(lambda *t: F.conv1d(*t, **kwargs), lambda *t: TF.conv1d(*t, **kwargs), arrays)


POOL = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0), "ceil_mode": True},
    {"kernel_size": 2, "stride": 3, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
]


@pytest.mark.parametrize("kwargs", POOL + [{"kernel_size": 3, "stride": 1, "dilation": 2, "padding": 1}])
def test_max_pool2d(kwargs):
    check(lambda t: F.max_pool2d(t, **kwargs), lambda t: TF.max_pool2d(t, **kwargs), [normal(2, 3, 11, 10)])
    _, ours = F.max_pool2d(gg.tensor(normal(2, 3, 11, 10)), return_indices=True, **kwargs)
    _, theirs = TF.max_pool2d(torch.tensor(normal(2, 3, 11, 10)), return_indices=True, **kwargs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool2d_indices_with_a_large_dilation():
    x = normal(1, 1, 200, 200)
    _, ours = F.max_pool2d(gg.tensor(x), 11, stride=20, dilation=17, return_indices=True)
    _, theirs = TF.max_pool2d(torch.tensor(x), 11, stride=20, dilation=17, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("kwargs", POOL)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(kwargs, count_include_pad):
    kwargs = dict(kwargs, count_include_pad=count_include_pad)
    check(lambda t: F.avg_pool2d(t, **kwargs), lambda t: TF.avg_pool2d(t, **kwargs), [normal(2, 3, 11, 10)])


def test_avg_pool2d_divisor_override():
    check(lambda t: F.avg_pool2d(t, 3, 2, 1, divisor_override=5),
          lambda t: TF.avg_pool2d(t, 3, 2, 1, divisor_override=5), [normal(1, 2, 7, 7)])


@pytest.mark.parametrize("size, out", [((8, 8), 4), ((7, 9), (3, 4)), ((5, 6), 1), ((5, 6), (None, 4)), ((3, 3), 5)])
def test_adaptive_avg_pool2d(size, out):
    check(lambda t: F.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [normal(2, 3, *size)])


POOL1D = [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}, {"kernel_size": 2, "stride": 3,
                                                                                   "ceil_mode": True}]


@pytest.mark.parametrize("kwargs", POOL1D)
def test_1d_pooling(kwargs):
    x = normal(2, 3, 11)
    check(lambda t: F.max_pool1d(t, **kwargs), lambda t: TF.max_pool1d(t, **kwargs), [x])
    check(lambda t: F.avg_pool1d(t, **kwargs), lambda t: TF.avg_pool1d(t, **kwargs), [x])
    _, ours = F.max_pool1d(gg.tensor(x), return_indices=True, **kwargs)
    _, theirs = TF.max_pool1d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    check(lambda t: F.adaptive_avg_pool1d(t, 4), lambda t: TF.adaptive_avg_pool1d(t, 4), [x])
    check(lambda t: F.max_pool1d(t, **kwargs), lambda t: TF.max_pool1d(t, **kwargs), [normal(3, 11)])  # unbatched


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1,
                                                         "stride": 2}])
def test_unfold_and_fold(kwargs):
    check(lambda t: F.unfold(t, **kwargs), lambda t: TF.unfold(t, **kwargs), [normal(2, 3, 7, 8)])
    columns = TF.unfold(torch.zeros(2, 3, 7, 8), **kwargs).shape
    check(lambda t: F.fold(t, (7, 8), **kwargs), lambda t: TF.fold(t, (7, 8), **kwargs), [normal(*columns)])


def test_unfold_and_fold_layers():
    ours, theirs = nn.Unfold(2, padding=1), torch.nn.Unfold(2, padding=1)
    assert repr(ours) == repr(theirs)
    x = normal(2, 3, 5, 5)
    np.testing.assert_allclose(ours(gg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    ours, theirs = nn.Fold((5, 5), 2, padding=1), torch.nn.Fold((5, 5), 2, padding=1)
    assert repr(ours) == repr(theirs)
    columns = normal(2, 12, 36)
    np.testing.assert_allclose(ours(gg.tensor(columns)).numpy(), theirs(torch.tensor(columns)).numpy(), rtol=1e-12)


def test_flatten_function_method_and_layer():
    x = normal(2, 3, 4, 5)
    assert gg.flatten(gg.tensor(x)).shape == tuple(torch.flatten(torch.tensor(x)).shape)
    assert gg.tensor(x).flatten(1, 2).shape == tuple(torch.tensor(x).flatten(1, 2).shape)
    assert nn.Flatten()(gg.tensor(x)).shape == tuple(torch.nn.Flatten()(torch.tensor(x)).shape)


@pytest.mark.parametrize("layer, args", [("Conv2d", (4, 6, 3)), ("Conv2d", (4, 8, (3, 5), 2, 1, 1, 2, False)),
                                         ("Conv2d", (2, 2, 3, 1, "same", 2)), ("Conv1d", (3, 5, 4)),
                                         ("Conv1d", (3, 5, 4, 1, "valid"))])
def test_conv_layers_have_pytorchs_parameters(layer, args):
    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert repr(ours) == repr(theirs)
    fan_in = np.prod(theirs.weight.shape[1:])
    assert float(ours.weight.abs().max()) <= 1 / np.sqrt(fan_in)


@pytest.mark.parametrize("layer, args, shape", [
    ("MaxPool2d", (3, 2, 1), (2, 3, 8, 9)), ("AvgPool2d", (2,), (2, 3, 8, 9)),
    ("AdaptiveAvgPool2d", ((2, 3),), (2, 3, 8, 9)), ("MaxPool1d", (3, 2, 1), (2, 3, 9)),
    ("AvgPool1d", (3, 2, 1), (2, 3, 9)), ("AdaptiveAvgPool1d", (4,), (2, 3, 9)),
])
def test_pooling_layers_repr_and_values(layer, args, shape):
    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args)
    assert repr(ours) == repr(theirs)
    assert not isinstance(ours, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)) or layer.endswith("2d")
    x = normal(*shape)
    np.testing.assert_allclose(ours(gg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)


def test_conv2d_layer_loads_a_torch_state_dict_and_agrees():
    theirs = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    ours = nn.Conv2d(3, 4, 3, padding=1, dtype=gg.float64)
    ours.load_state_dict({k: gg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = normal(2, 3, 6, 6)
    np.testing.assert_allclose(ours(gg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
