"""gg.nn.init: bounds and (loosely) the statistics of each initialiser, gains, fans, and in-place semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn import init


def host(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def test_uniform_bounds_and_mean(device):
    w = init.uniform_(gg.empty(200, 100, device=device), -2.0, 3.0)
    values = host(w)
    assert values.min() >= -2.0 and values.max() < 3.0
    assert abs(values.mean() - 0.5) < 0.05 and values.max() > 2.9 and values.min() < -1.9


def test_normal_mean_and_std(device):
    values = host(init.normal_(gg.empty(200, 100, device=device), mean=1.5, std=0.5))
    assert abs(values.mean() - 1.5) < 0.01 and abs(values.std() - 0.5) < 0.01


def test_constant_zeros_ones_keep_dtype():
    w = gg.empty(3, 2, dtype=gg.float64)
    assert init.constant_(w, 0.25) is w and w.dtype == gg.float64
    np.testing.assert_array_equal(host(w), np.full((3, 2), 0.25))
    np.testing.assert_array_equal(host(init.zeros_(w)), np.zeros((3, 2)))
    np.testing.assert_array_equal(host(init.ones_(w)), np.ones((3, 2)))


def test_xavier_bounds_and_std():
    w = gg.empty(300, 200)
    bound = math.sqrt(6 / 500)
    values = host(init.xavier_uniform_(w, gain=2.0))
    assert np.abs(values).max() <= 2 * bound and np.abs(values).max() > 1.9 * bound
    values = host(init.xavier_normal_(w))
    assert abs(values.std() - math.sqrt(2 / 500)) < 0.003


def test_kaiming_bounds_and_std_with_modes():
    w = gg.empty(400, 100, 3)  # fan_in = 300, fan_out = 1200
    values = host(init.kaiming_uniform_(w, nonlinearity="relu"))
    bound = math.sqrt(2) * math.sqrt(3 / 300)
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    values = host(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    assert abs(values.std() - math.sqrt(2 / 1200)) < 0.001
    values = host(init.kaiming_uniform_(w, a=math.sqrt(5)))  # nn.Linear's choice: bound 1/sqrt(fan_in)
    assert np.abs(values).max() <= 1 / math.sqrt(300)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(gg.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(gg.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(gg.empty(4))


def test_init_works_in_place_on_parameters_and_bumps_the_version():
    p = nn.Parameter(gg.zeros(4, 4))
    data, version = p.array, p._version_number
    assert init.normal_(p) is p
    assert p.array is data and p._version_number > version and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert host(p).any()


def test_init_is_seeded():
    gg.manual_seed(7)
    first = host(init.uniform_(gg.empty(10)))
    gg.manual_seed(7)
    np.testing.assert_array_equal(first, host(init.uniform_(gg.empty(10))))


def test_zero_element_tensor_is_a_no_op_with_a_warning():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(gg.empty(0, 3))
