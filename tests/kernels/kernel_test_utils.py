"""Helpers shared by the kernel tests: host copies, references and per-dtype tolerances."""

from __future__ import annotations

import math

import numpy as np

DTYPES = [np.float32, np.float64]
# The awkward sizes: empty, one element, a warp less one, a warp, a warp plus one, a block plus one.
SIZES = [0, 1, 31, 32, 33, 1025]
TOLERANCES = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def to_host(array) -> np.ndarray:
    """A NumPy copy of a device array of either backend (CuPy arrays have .get())."""
    return array.get() if hasattr(array, "get") else np.array(array)


def assert_close(actual, expected, dtype, **overrides):
    """Compare a device result with a (float64) NumPy reference at ``dtype``'s tolerance; NaN must match NaN."""
    actual = to_host(actual)
    assert actual.dtype == np.dtype(dtype), f"result dtype {actual.dtype}, expected {np.dtype(dtype)}"
    tolerance = {**TOLERANCES[np.dtype(dtype).type], **overrides}
    tolerance["atol"] = float(np.max(tolerance["atol"], initial=0.0))  # an error bound per row: take the widest
    np.testing.assert_allclose(actual, expected, **tolerance)


def sum_tolerance(x: np.ndarray, axis=None) -> np.ndarray:
    """An error bound for a tree sum in x's dtype: eps * (depth + 2) * sum(|x|)."""
    depth = math.log2(max(2, x.size if axis is None else x.shape[axis]))
    return np.finfo(x.dtype).eps * (depth + 2) * np.abs(x.astype(np.float64)).sum(axis=axis)
