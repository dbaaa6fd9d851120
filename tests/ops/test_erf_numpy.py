"""erf on the CPU without SciPy: ufunc-only Cody approximations against ``math.erf``, special values, dtypes, grads.

Accuracy is counted in ulp of the result's dtype against ``math.erf`` (correctly rounded to within a fraction
of an ulp by the platform's libm) rounded to that dtype. Measured on this sample: float64 2 ulp, float32 3 ulp,
float16 0 ulp; the bounds below leave one ulp for other libms and NumPy ``exp`` builds.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.ops.elementwise import erf_array

MAX_ULP = {np.float64: 3, np.float32: 4, np.float16: 1}


@pytest.fixture(autouse=True)
def no_scipy(monkeypatch):
    """Make ``import scipy.special`` fail, so these tests check the SciPy-free path wherever they run."""
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)


def _sample() -> np.ndarray:
    """~1.1e6 float64 points: a fine grid over [-7, 7], random points, the interval seams, tails and tiny values."""
    rng = np.random.default_rng(0)
    magnitudes = 10.0 ** rng.uniform(-323.5, 3.0, 40_000)  # subnormals up to 1000 (and 0 from underflow)
    seams = np.concatenate([np.linspace(c - 1e-3, c + 1e-3, 2_001) for c in (0.46875, 0.5, 4.0, 5.9, 6.0)])
    return np.concatenate([
        np.linspace(-7.0, 7.0, 1_000_001), rng.uniform(-7.0, 7.0, 50_000), rng.uniform(-0.6, 0.6, 20_000),
        magnitudes, -magnitudes, seams, -seams,
        [5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308, 1e308, -1e308, np.finfo(float).max],
    ])


def _ulp_error(got: np.ndarray, exact: np.ndarray, dtype) -> np.ndarray:
    """|got - exact| in units of the last place of ``exact`` rounded to ``dtype``."""
    with np.errstate(under="ignore"):
        reference = exact.astype(dtype)
        spacing = np.spacing(np.abs(reference)).astype(np.float64)
    return np.abs(got.astype(np.float64) - reference.astype(np.float64)) / spacing


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16], ids=lambda d: np.dtype(d).name)
def test_erf_is_within_a_few_ulp_of_math_erf(dtype):
    with np.errstate(over="ignore"):  # 1e308 becomes inf in float32 and float16: fine, erf(inf) = 1
        x = _sample().astype(dtype)
    exact = np.array([math.erf(v) for v in x.astype(np.float64).tolist()])
    got = erf_array(np, x)
    assert got.dtype == dtype and got.shape == x.shape
    errors = _ulp_error(got, exact, dtype)
    worst = int(np.argmax(errors))
    assert errors[worst] <= MAX_ULP[dtype], f"erf({x[worst]!r}) = {got[worst]!r}, math.erf: {exact[worst]!r}"


def test_erf_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, 6.0, -6.0, 1e300, -1e300])
    with np.errstate(all="raise"):  # no overflow, invalid or division warnings on the way
        got = erf_array(np, x)
    expected = [0.0, -0.0, 1.0, -1.0, np.nan, 5e-324, -5e-324, math.erf(1e-310), 1.0, -1.0, 1.0, -1.0]
    np.testing.assert_array_equal(got, expected)
    assert list(np.signbit(got[:2])) == [False, True]  # erf(-0.0) is -0.0, as in C and PyTorch


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16], ids=lambda d: np.dtype(d).name)
def test_erf_is_exactly_odd(dtype):
    x = np.linspace(0.0, 8.0, 10_001).astype(dtype)
    np.testing.assert_array_equal(erf_array(np, -x), -erf_array(np, x))


@pytest.mark.parametrize("shape", [(), (0,), (3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16], ids=lambda d: np.dtype(d).name)
def test_erf_keeps_dtype_and_shape(shape, dtype):
    x = np.random.default_rng(1).normal(size=shape).astype(dtype)
    got = erf_array(np, x)
    assert got.dtype == dtype and got.shape == shape
    expected = np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", [gg.float64, gg.float32, gg.float16], ids=str)
def test_erf_and_gelu_tensors_match_math_erf(dtype):
    values = np.linspace(-5, 5, 101)
    x = gg.tensor(values, dtype=dtype)
    erf_ref = np.array([math.erf(v) for v in x.numpy().astype(np.float64)])
    gelu_ref = 0.5 * x.numpy().astype(np.float64) * (1 + np.array([math.erf(v / math.sqrt(2)) for v in values]))
    tol = {gg.float64: 1e-15, gg.float32: 1e-6, gg.float16: 2e-3}[dtype]
    assert gg.erf(x).dtype == dtype and gg.gelu(x).dtype == dtype
    np.testing.assert_allclose(gg.erf(x).numpy().astype(np.float64), erf_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(gg.gelu(x).numpy().astype(np.float64), gelu_ref, rtol=tol, atol=tol * 5)


def _seam_points():
    # both sides of every place the formula changes (0.5 and 6 in x; 0.5 * sqrt(2) and 6 * sqrt(2) for gelu)
    return gg.tensor([-7.0, -3.0, -0.72, -0.49, -0.1, 0.0, 0.3, 0.51, 0.7, 1.5, 4.2, 5.99, 8.4, 9.0], dtype=gg.float64,
                     requires_grad=True)


def test_erf_gradients_pass_gradcheck():
    x = _seam_points()
    assert gg.autograd.gradcheck(gg.erf, (x,))
    assert gg.autograd.gradgradcheck(gg.erf, (x,))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradients_pass_gradcheck(approximate):
    x = _seam_points()
    assert gg.autograd.gradcheck(lambda t: gg.gelu(t, approximate=approximate), (x,))
    assert gg.autograd.gradgradcheck(lambda t: gg.gelu(t, approximate=approximate), (x,))
