"""Factory functions (``zeros``, ``arange``, ``randn``, ...) and the random seed.

Every factory takes ``dtype=``, ``device=`` and ``requires_grad=`` like
PyTorch's; without ``device`` they use ``gg.get_default_device()``.

    >>> gg.manual_seed(0)
    >>> w = gg.randn(3, 4, requires_grad=True)
    >>> gg.zeros_like(w).shape
    (3, 4)
"""

from __future__ import annotations

import math

import numpy as np

from . import backends, dtypes
from .autograd.node import ArrayFunction
from .device import get_default_device, on_tensor_device, resolve as to_device
from .tensor import Tensor, fill_value_for, shape_tuple, tensor

_seed = None
_generators: dict = {}  # device name -> NumPy/CuPy Generator


def manual_seed(seed: int) -> None:
    """Seed the random generators of every device, so ``rand``/``randn``/dropout repeat."""
    global _seed
    _seed = int(seed)
    _generators.clear()


class Generator:
    """A random number generator of its own, for shuffling and sampling, as ``torch.Generator``.

    ``gg.utils.data`` (``DataLoader(generator=...)``, ``random_split``,
    ``RandomSampler``) and ``gg.randperm`` take one; without it they draw
    from the global stream that ``gg.manual_seed`` seeds. Its numbers differ
    from PyTorch's for the same seed (NumPy's PCG64 underneath).

    Example:
        >>> first = gg.randperm(5, generator=gg.Generator().manual_seed(42))
        >>> again = gg.randperm(5, generator=gg.Generator().manual_seed(42))
        >>> first.tolist() == again.tolist()
        True
    """

    _DEFAULT_SEED = 67280421310721  # what a fresh torch.Generator() starts from

    def __init__(self, device="cpu"):
        self.device = to_device(device)
        self.manual_seed(self._DEFAULT_SEED)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``; returns the generator, so ``Generator().manual_seed(0)`` chains."""
        self._initial_seed = int(seed)
        # the backend itself, not device.xp: that is a recording stand-in while a trace runs
        module = np if self.device.type == "cpu" else backends.cupy
        self._rng = module.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh OS entropy; returns the new seed."""
        new = int(np.random.SeedSequence().entropy % 2**63)
        self.manual_seed(new)
        return new

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._initial_seed

    def __repr__(self) -> str:
        return f"<gpugrad.Generator on {self.device}, initial_seed={self._initial_seed}>"


def draw_seed() -> int:
    """A seed drawn from the global CPU stream: what samplers without a generator seed their own from."""
    return int(_generator(to_device("cpu")).integers(2**63))


def _generator(dev):
    key = str(dev)
    if key not in _generators:
        # the backend itself, not dev.xp: that is a recording stand-in while a trace runs
        module = np if dev.type == "cpu" else backends.cupy
        with dev.activate():  # a CuPy generator keeps its state on the device current when it is made
            _generators[key] = module.random.default_rng(_seed)
    return _generators[key]


class RandomDraw:
    """One draw from a device's generator (``generator.random(shape)``), callable again for a fresh one.

    Eagerly it is just called. While ``gg.compile`` or ``gg.Graph`` traces, it is recorded as one
    graph node, so each replay draws new numbers from the device's generator, as eager code does,
    instead of replaying the numbers drawn while tracing.

    Example:
        >>> RandomDraw(gg.device("cpu"), "random", (2, 3))().shape   # generator.random((2, 3))
        (2, 3)
    """

    draws_random = True  # read by the graph passes (never folded or merged) and the CUDA-graph capture

    def __init__(self, dev, method: str, *args, **kwargs):
        self.dev, self.method, self.args, self.kwargs = dev, method, args, kwargs

    def __call__(self):
        with self.dev.activate():
            if self.method == "permutation":
                return permutation(_generator(self.dev), *self.args)
            return getattr(_generator(self.dev), self.method)(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"random.{self.method}"


def _draw(dev, method: str, *args, **kwargs):
    """The array of a fresh random draw (a traced value while a graph is being recorded)."""
    from .graph.tracer import current

    draw = RandomDraw(dev, method, *args, **kwargs)
    tracer = current()
    return draw() if tracer is None else tracer.record_draw(draw)


def _shape(size, op: str = "tensor factory") -> tuple:
    """``size`` (ints, or one tuple/list of them) as a tuple; floats are refused, as in PyTorch, not truncated."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = shape_tuple(op, size)
    for n in shape:
        if n < 0:
            raise RuntimeError(f"{op}(): Trying to create tensor with negative dimension {n}: {list(shape)}")
    return shape


def _finish(array, dev, requires_grad: bool) -> Tensor:
    t = Tensor._make(array, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _resolve(dtype, device, default=None):
    dev = to_device(device) if device is not None else get_default_device()
    dt = dtypes.to_dtype(dtype) if dtype is not None else (default or dtypes.get_default_dtype())
    return dt, dev


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    with dev.activate():
        return _finish(dev.xp.zeros(_shape(size, "zeros"), dtype=dt.np), dev, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    with dev.activate():
        return _finish(dev.xp.ones(_shape(size, "ones"), dtype=dt.np), dev, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    with dev.activate():
        return _finish(dev.xp.empty(_shape(size, "empty"), dtype=dt.np), dev, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (its dtype inferred from the value, as PyTorch)."""
    dt, dev = _resolve(dtype, device, default=dtypes.scalar_dtype(fill_value))
    size = _shape((size,) if isinstance(size, (tuple, list)) else tuple([size]), "full")
    fill_value = fill_value_for("full", fill_value, dt.np)
    with dev.activate():
        return _finish(dev.xp.full(size, fill_value, dtype=dt.np), dev, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    with dev.activate():
        return _finish(dev.xp.eye(n, m, dtype=dt.np), dev, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values ``start, start+step, ...`` below ``end``; int64 for integer arguments, as PyTorch."""
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dt, dev = _resolve(dtype, device, default=dtypes.int64 if integral else None)
    _check_range(start, end, step)
    if not dt.is_floating_point:  # an integer range, as in PyTorch: from int(start) to int(end) by int(step)
        start, end, step = int(start), int(end), int(step)
        _check_range(start, end, step)
    with dev.activate():
        return _finish(dev.xp.arange(start, end, step).astype(dt.np), dev, requires_grad)


def _check_range(start, end, step) -> None:
    """PyTorch's checks of arange's arguments (NumPy divides by a zero step, or returns an empty range)."""
    if not all(math.isfinite(float(v)) for v in (start, end)):
        raise RuntimeError(f"arange(): unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange(): upper bound and lower bound inconsistent with step sign (start={start}, end={end}, step={step})")


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    steps = shape_tuple("linspace", (steps,))[0]  # a float number of steps raises, as in PyTorch
    if steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    with dev.activate():
        return _finish(dev.xp.linspace(start, end, steps, dtype=np.float64).astype(dt.np), dev, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt, dev = _resolve(dtype, device)
    with dev.activate():
        array = _draw(dev, "random", _shape(size, "rand"), dtype=np.float64).astype(dt.np)
        return _finish(array, dev, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt, dev = _resolve(dtype, device)
    with dev.activate():
        array = _draw(dev, "standard_normal", _shape(size, "randn"), dtype=np.float64).astype(dt.np)
        return _finish(array, dev, requires_grad)



class Normal(ArrayFunction):
    """Samples of N(mean, std**2) for tensor ``mean``/``std``; as in PyTorch, their gradients are zero.

    (The sample is not reparameterized: for a differentiable draw write ``mean + std * gg.randn_like(std)``.)
    """

    backward_name = "NormalBackward3"

    def __init__(self, shape, dtype):
        self.out_shape, self.out_dtype = shape, dtype

    def forward(self, mean, std):
        noise = _generator(self.device).standard_normal(self.out_shape, dtype=np.float64).astype(self.out_dtype)
        return (noise * std + mean).astype(self.out_dtype, copy=False)

    def backward(self, gy):
        return tuple(gy * 0.0 if need else None for need in self.needs_input_grad)


@on_tensor_device
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples of the normal distribution N(mean, std**2), with ``torch.normal``'s overloads.

    ``mean`` and ``std`` are tensors (the result has their broadcast shape, dtype and device; their
    gradients are zero, as in PyTorch) or numbers, and then ``size`` gives the shape.

    Example:
        >>> gg.normal(0.0, 1.0, size=(2, 3)).shape
        (2, 3)
        >>> gg.normal(gg.zeros(4), gg.tensor([1., 1., 2., 2.])).shape
        (4,)
    """
    if generator is not None:
        raise TypeError("normal(): generator= is not supported (gg.Generator drives randperm, DataLoader and random_split); "
                        "seed the global generators with gg.manual_seed")
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a number mean and std, give the shape: normal(mean, std, size=(2, 3))")
        if std < 0:
            raise RuntimeError(f"normal(): expects std >= 0.0, but found std {std}")
        dt, dev = _resolve(dtype, device)
        with dev.activate():
            noise = _draw(dev, "standard_normal", _shape((size,), "normal"), dtype=np.float64)
            array = (noise * std + mean).astype(dt.np)
            return _finish(array, dev, requires_grad)
    if size is not None:
        raise TypeError("normal(): size is only for number mean and std; a tensor mean/std sets the shape")
    shape = np.broadcast_shapes(*(tuple(x.shape) for x in tensors))
    floats = [x for x in tensors if x.dtype.is_floating_point]
    out_dtype = dtypes.result_type(*floats) if floats else dtypes.get_default_dtype()
    if isinstance(std, Tensor) and std.numel() and backends.has_values(std.array) and bool((std.array < 0).any()):
        raise RuntimeError("normal(): expects all elements of std >= 0.0")
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal(): expects std >= 0.0, but found std {std}")
    return Normal(shape, out_dtype.np)(mean, std)

def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    """Integers uniformly from ``[low, high)`` (``randint(high, size=...)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    dt, dev = _resolve(dtype, device, default=dtypes.int64)
    size = _shape((size,) if isinstance(size, (tuple, list)) else tuple([size]), "randint")
    with dev.activate():
        return _finish(_draw(dev, "integers", low, high, size=size).astype(dt.np), dev, False)


def randperm(n: int, *, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64), from ``generator`` or the global stream."""
    dt, dev = _resolve(dtype, device, default=dtypes.int64)
    with dev.activate():
        if generator is not None:  # a gg.Generator draws on the host
            return _finish(dev.put(permutation(generator._rng, n)).astype(dt.np), dev, False)
        return _finish(_draw(dev, "permutation", n).astype(dt.np), dev, False)


def permutation(rng, n: int):
    """``rng.permutation(n)``; CuPy's Generator has none, so there the argsort of uniform draws."""
    if hasattr(rng, "permutation"):
        return rng.permutation(n)
    return rng.random(n).argsort()


def bernoulli_mask(shape, keep_probability: float, like: Tensor):
    """A 0/1 array of ``like``'s dtype and device, 1 with ``keep_probability`` (used by dropout)."""
    dev = like.device
    with dev.activate():
        return (_draw(dev, "random", tuple(shape), dtype=np.float64) < keep_probability).astype(like.array.dtype)


def _like(factory, x: Tensor, dtype, device, requires_grad, *args):
    return factory(
        *args,
        dtype=dtype if dtype is not None else x.dtype,
        device=device if device is not None else x.device,
        requires_grad=requires_grad,
    )


def zeros_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(zeros, x, dtype, device, requires_grad, x.shape)


def ones_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(ones, x, dtype, device, requires_grad, x.shape)


def empty_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(empty, x, dtype, device, requires_grad, x.shape)


def full_like(x: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(
        x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad
    )


def rand_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(rand, x, dtype, device, requires_grad, x.shape)


def randn_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(randn, x, dtype, device, requires_grad, x.shape)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array`` (changes show through both), as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected np.ndarray, got {type(array).__name__}")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array, to_device("cpu"))


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or Tensor when nothing needs converting."""
    if isinstance(data, Tensor) and (dtype is None or dtypes.to_dtype(dtype) == data.dtype) and (
        device is None or to_device(device) is data.device
    ):
        return data
    if isinstance(data, np.ndarray) and dtype is None and (device is None or to_device(device).type == "cpu"):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)
