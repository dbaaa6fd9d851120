"""``cupy.random``: generators whose numbers come from a stream of their own.

CuPy draws with cuRAND (XORWOW by default), so the same seed gives other numbers than
NumPy's PCG64. The emulation draws from NumPy's Philox keyed by the seed instead, so a
test comparing CPU and GPU random draws fails here as it would on a GPU. The
``Generator`` has exactly CuPy 14's methods (no ``permutation``, ``normal`` or
``choice``); the legacy ``RandomState`` has ``permutation``.
"""

from __future__ import annotations

import numpy as np

from . import api, core

_KEY_SALT = 0x9E3779B97F4A7C15  # any fixed value: only "not NumPy's stream" matters


def _numpy_generator(seed):
    if seed is None:
        seed = np.random.SeedSequence().entropy
    return np.random.Generator(np.random.Philox(key=(int(seed) ^ _KEY_SALT) % 2**64))


def _on_device(values):
    return core._to_device(np.asarray(values))


def _size(size):
    return () if size is None else size


class BitGenerator:
    def __init__(self, seed=None):
        self._numpy = _numpy_generator(seed)


class XORWOW(BitGenerator):
    pass


class MRG32k3a(BitGenerator):
    pass


class Philox4x3210(BitGenerator):
    pass


class Generator:
    """CuPy's ``Generator``: float draws take ``dtype`` (float32/float64), results on the current device."""

    def __init__(self, bit_generator):
        self.bit_generator = bit_generator
        self._numpy = bit_generator._numpy

    def random(self, size=None, dtype=np.float64, out=None):
        return self._float("random", size, dtype, out)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self._float("standard_normal", size, dtype, out)

    def standard_exponential(self, size=None, dtype=np.float64, method="inv", out=None):
        return self._float("standard_exponential", size, dtype, out)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return _on_device(self._numpy.uniform(low, high, _size(size)).astype(dtype))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return _on_device(self._numpy.integers(low, high, size=_size(size), dtype=dtype, endpoint=endpoint))

    def _float(self, name, size, dtype, out):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"Unsupported dtype {dtype.name} for {name}")
        values = getattr(self._numpy, name)(_size(size), dtype=dtype)
        if out is not None:
            out[...] = _on_device(values)
            return out
        return _on_device(values)

    def __getattr__(self, name):
        if name in api.class_members("cupy.random.Generator"):  # real but not emulated
            raise NotImplementedError(f"the emulated cupy.random.Generator does not implement {name}")
        raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")


def default_rng(seed=None):
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, BitGenerator):
        return Generator(seed)
    return Generator(XORWOW(seed))


class RandomState:
    """The legacy interface (has ``permutation``, ``normal``, ``rand``...)."""

    def __init__(self, seed=None, method=None):
        self.seed(seed)

    def seed(self, seed=None):
        self._numpy = _numpy_generator(seed)

    def rand(self, *size, dtype=float):
        return _on_device(self._numpy.random(size).astype(dtype))

    def randn(self, *size, dtype=float):
        return _on_device(self._numpy.standard_normal(size).astype(dtype))

    def random_sample(self, size=None, dtype=float):
        return _on_device(self._numpy.random(_size(size)).astype(dtype))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return _on_device(self._numpy.normal(loc, scale, _size(size)).astype(dtype))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return _on_device(self._numpy.uniform(low, high, _size(size)).astype(dtype))

    def randint(self, low, high=None, size=None, dtype="l"):
        return _on_device(self._numpy.integers(low, high, _size(size), dtype=dtype))

    def permutation(self, num):
        if isinstance(num, int):
            return _on_device(self._numpy.permutation(num))
        shuffled = num.copy()
        self.shuffle(shuffled)
        return shuffled

    def shuffle(self, a):
        index = self._numpy.permutation(len(a))
        a[...] = a[core._to_device(index)]


_state = None


def get_random_state():
    global _state
    if _state is None:
        _state = RandomState()
    return _state


def seed(seed=None):
    get_random_state().seed(seed)


def _legacy(name):
    def function(*args, **kwargs):
        return getattr(get_random_state(), name)(*args, **kwargs)

    function.__name__ = name
    return function


MEMBERS = {
    "Generator": Generator, "BitGenerator": BitGenerator, "XORWOW": XORWOW, "MRG32k3a": MRG32k3a,
    "Philox4x3210": Philox4x3210, "RandomState": RandomState, "default_rng": default_rng,
    "get_random_state": get_random_state, "seed": seed,
    **{name: _legacy(name) for name in ("rand", "randn", "random_sample", "normal", "uniform", "randint",
                                         "permutation", "shuffle")},
    "random": _legacy("random_sample"),
}
