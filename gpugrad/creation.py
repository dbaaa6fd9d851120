"""Factory functions (``zeros``, ``arange``, ``randn``, ...) and the random seed.

Every factory takes ``dtype=``, ``device=`` and ``requires_grad=`` like
PyTorch's; without ``device`` they use ``gg.get_default_device()``.

    >>> gg.manual_seed(0)
    >>> w = gg.randn(3, 4, requires_grad=True)
    >>> gg.zeros_like(w).shape
    (3, 4)
"""

from __future__ import annotations

import numpy as np

from . import backends, dtypes
from .device import device as to_device, get_default_device
from .tensor import Tensor, tensor

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
        _generators[key] = module.random.default_rng(_seed)
    return _generators[key]


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


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
    return _finish(dev.xp.zeros(_shape(size), dtype=dt.np), dev, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    return _finish(dev.xp.ones(_shape(size), dtype=dt.np), dev, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    return _finish(dev.xp.empty(_shape(size), dtype=dt.np), dev, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (its dtype inferred from the value, as PyTorch)."""
    dt, dev = _resolve(dtype, device, default=dtypes.scalar_dtype(fill_value))
    return _finish(dev.xp.full(tuple(size), fill_value, dtype=dt.np), dev, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    return _finish(dev.xp.eye(n, m, dtype=dt.np), dev, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values ``start, start+step, ...`` below ``end``; int64 for integer arguments, as PyTorch."""
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dt, dev = _resolve(dtype, device, default=dtypes.int64 if integral else None)
    return _finish(dev.xp.arange(start, end, step).astype(dt.np), dev, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _resolve(dtype, device)
    return _finish(dev.xp.linspace(start, end, int(steps), dtype=np.float64).astype(dt.np), dev, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt, dev = _resolve(dtype, device)
    array = _generator(dev).random(_shape(size), dtype=np.float64).astype(dt.np)
    return _finish(array, dev, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt, dev = _resolve(dtype, device)
    array = _generator(dev).standard_normal(_shape(size), dtype=np.float64).astype(dt.np)
    return _finish(array, dev, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    """Integers uniformly from ``[low, high)`` (``randint(high, size=...)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    dt, dev = _resolve(dtype, device, default=dtypes.int64)
    return _finish(_generator(dev).integers(low, high, size=tuple(size)).astype(dt.np), dev, False)


def randperm(n: int, *, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64), from ``generator`` or the global stream."""
    dt, dev = _resolve(dtype, device, default=dtypes.int64)
    rng = generator._rng if generator is not None else _generator(dev)
    return _finish(dev.put(permutation(rng, n)).astype(dt.np), dev, False)


def permutation(rng, n: int):
    """``rng.permutation(n)``; CuPy's Generator has none, so there the argsort of uniform draws."""
    if hasattr(rng, "permutation"):
        return rng.permutation(n)
    return rng.random(n).argsort()


def bernoulli_mask(shape, keep_probability: float, like: Tensor):
    """A 0/1 array of ``like``'s dtype and device, 1 with ``keep_probability`` (used by dropout)."""
    dev = like.device
    return (_generator(dev).random(tuple(shape), dtype=np.float64) < keep_probability).astype(like.array.dtype)


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
