"""OpInfo: one op described as data, and the helpers that turn a description into checks.

An :class:`OpInfo` names an op, gives it as a function of a *library* and
tensors (``op(lib, *tensors, **kwargs)``, where ``lib`` is ``gpugrad`` or a
torch namespace, so one lambda serves both), a NumPy reference on float64
arrays, and :class:`Sample` input shapes. ``test_ops_opinfo.py`` generates
from each: forward values against the reference on float32/float64,
``gradcheck``, ``gradgradcheck``, float32 gradients on every device against
float64 CPU ones, and parity with PyTorch when it is importable.

This is the style of PyTorch's OpInfo and Chainer's FunctionTestCase: adding
an op to the suite is adding one entry to ``op_db.py``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host

# forward tolerances (rtol, atol) against a float64 reference, per dtype of the inputs
FORWARD_TOL = {gg.float32: (1e-5, 1e-6), gg.float64: (1e-10, 1e-12)}
# float32 gradients against float64 ones: the backward pass compounds rounding of several ops
BACKWARD_TOL_FLOAT32 = (1e-4, 1e-5)
TORCH_TOL = (1e-10, 1e-12)  # both float64


# ----------------------------------------------------------------- input domains
def uniform(low: float, high: float):
    """Values drawn evenly from ``[low, high)``."""
    return lambda rng, shape: rng.uniform(low, high, shape)


def nonzero(low: float = 0.5, high: float = 2.0):
    """Values with ``low <= |x| < high`` and a random sign: away from the kink of abs/relu and from 1/0."""
    return lambda rng, shape: rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def integers(low: int, high: int):
    """Whole numbers stored as floats: ties on purpose (comparisons)."""
    return lambda rng, shape: rng.integers(low, high, shape).astype(np.float64)


def booleans():
    """A random bool mask (where's condition); never differentiated."""
    return lambda rng, shape: rng.random(shape) < 0.5


def fixed(array):
    """Always the given values (when the values matter: zeros for prod, masks)."""
    return lambda rng, shape: np.array(array).reshape(shape)


DEFAULT_DOMAIN = uniform(-2.0, 2.0)


# ----------------------------------------------------------------- descriptions
@dataclass(frozen=True)
class Sample:
    """One call of an op: the shapes of its tensor inputs and its other arguments.

    Attributes:
        shapes: one shape per tensor input.
        kwargs: keyword arguments for the op, the reference and torch.
        name: a readable id; defaults to the shapes and kwargs.
        domains: per-input domains overriding the op's.
        torch: False where PyTorch cannot express this call (negative slice steps, ...).
    """

    shapes: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""
    domains: tuple | None = None
    torch: bool = True

    def __post_init__(self):
        if not all(isinstance(shape, tuple) for shape in self.shapes):
            raise TypeError(f"Sample.shapes must be a tuple of shapes (tuples), got {self.shapes!r}")

    @property
    def id(self) -> str:
        if self.name:
            return self.name
        shapes = "_".join("x".join(map(str, s)) or "scalar" for s in self.shapes)
        extras = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return shapes + (f"({extras})" if extras else "")


@dataclass
class OpInfo:
    """An op as data.

    Attributes:
        name: the test id.
        op: ``op(lib, *tensors, **kwargs)`` with ``lib`` gpugrad or the torch namespace.
        ref: ``ref(*arrays, **kwargs)`` on float64 NumPy arrays; an array or a tuple of them.
        samples: the calls to check.
        domain: how inputs are drawn: one domain for all inputs or a tuple, one per input.
        grad: whether the op is differentiable (False: comparisons, argmax).
        gradgrad: whether to run gradgradcheck.
        out_dtypes: per output, the expected dtype, None meaning "the inputs' float dtype".
        torch: whether torch parity applies to the op at all.
        forward_tol: overrides of FORWARD_TOL, by dtype.
    """

    name: str
    op: Callable
    ref: Callable
    samples: tuple
    domain: object = DEFAULT_DOMAIN
    grad: bool = True
    gradgrad: bool = True
    out_dtypes: tuple | None = None
    torch: bool = True
    forward_tol: dict = field(default_factory=dict)

    def domain_of(self, sample: Sample, i: int):
        if sample.domains is not None and sample.domains[i] is not None:
            return sample.domains[i]
        return self.domain[i] if isinstance(self.domain, tuple) else self.domain


def cases(ops, where=lambda op, sample: True, per_op=None) -> list:
    """``pytest.param(op, sample)`` for each op and sample passing ``where`` (at most ``per_op`` per op)."""
    params = []
    for op in ops:
        chosen = [s for s in op.samples if where(op, s)][:per_op]
        params += [pytest.param(op, s, id=f"{op.name}-{s.id}") for s in chosen]
    return params


# ----------------------------------------------------------------- inputs and outputs
def make_arrays(op: OpInfo, sample: Sample) -> list:
    """The sample's inputs as NumPy arrays (float64 unless the domain says otherwise), the same on every run."""
    rng = np.random.default_rng(zlib.crc32(f"{op.name}-{sample.id}".encode()))
    return [np.asarray(op.domain_of(sample, i)(rng, tuple(shape))) for i, shape in enumerate(sample.shapes)]


def is_float(array) -> bool:
    return np.asarray(array).dtype.kind == "f"


def to_gg(arrays, dtype=gg.float64, device="cpu", requires_grad: bool = True) -> list:
    """gpugrad tensors of ``arrays``: floats cast to ``dtype`` (and requiring grad), others as they are."""
    return [
        gg.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad) if is_float(a)
        else gg.tensor(a, device=device)
        for a in arrays
    ]


def outputs(result) -> list:
    """A result as a list of tensors (ops such as split and max(dim) return tuples)."""
    return list(result) if isinstance(result, (tuple, list)) else [result]


def differentiable(result) -> tuple:
    """The float outputs of a result: what gradcheck differentiates (not max(dim)'s indices)."""
    return tuple(o for o in outputs(result) if o.dtype.is_floating_point)


def host(t) -> np.ndarray:
    """The values of a gpugrad tensor as a NumPy array, from any device."""
    return np.asarray(to_host(t.array))


def assert_close(actual, expected, rtol: float, atol: float, what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what, equal_nan=True)


# ----------------------------------------------------------------- torch
class TorchNamespace:
    """torch, plus the functional ops gpugrad keeps at top level (``gg.gelu`` is ``F.gelu``)."""

    _FUNCTIONAL = ("gelu", "softplus", "leaky_relu")

    def __init__(self, torch):
        self._torch = torch

    def __getattr__(self, name):
        if name in self._FUNCTIONAL:
            return getattr(self._torch.nn.functional, name)
        return getattr(self._torch, name)


def torch_or_skip():
    """The torch module, or skip the calling test: torch is for parity checks only, never required."""
    return pytest.importorskip("torch")


def to_torch(torch, arrays, requires_grad: bool = True) -> list:
    return [
        torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad) if is_float(a) else torch.tensor(a)
        for a in arrays
    ]
