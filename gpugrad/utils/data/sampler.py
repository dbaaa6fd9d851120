"""Samplers: which dataset indices a DataLoader visits, and in what order or groups.

    >>> from gpugrad.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]

Random samplers use their ``generator`` (a ``gg.Generator``) or, without one,
a fresh stream seeded from the global one on every pass, so ``gg.manual_seed``
makes shuffles repeat. The orders differ from PyTorch's for the same seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ... import creation

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler"]


class Sampler:
    """Base class: ``__iter__`` yields dataset indices (or lists of them, for a batch sampler)."""

    def __init__(self, data_source=None) -> None:
        pass  # PyTorch's deprecated argument, accepted for old subclasses

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


def _rng_for_one_pass(generator):
    """The generator's own stream, or a fresh one seeded from the global stream (as PyTorch's samplers)."""
    if generator is not None:
        if generator.device.type != "cpu":  # indices live on the host: PyTorch refuses these too
            raise ValueError(f"samplers expected a 'cpu' device type for generator, got a generator on "
                             f"{generator.device}; use gg.Generator() (the CPU one)")
        return generator._rng
    return np.random.default_rng(creation.draw_seed())


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, in order."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A shuffled order of the indices each pass (or draws with replacement).

    Args:
        data_source: anything with ``len()``.
        replacement: draw ``num_samples`` indices independently instead of permuting.
        num_samples: how many indices per pass (default ``len(data_source)``); without
            replacement, more than that chains several permutations.
        generator: a ``gg.Generator``; None draws a seed from the global stream each pass.

    Example:
        >>> sorted(RandomSampler(range(4), generator=gg.Generator().manual_seed(0)))
        [0, 1, 2, 3]
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source, self.replacement, self._num_samples, self.generator = (
            data_source, replacement, num_samples, generator)
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), _rng_for_one_pass(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        whole, rest = divmod(self.num_samples, n)
        chunks = [creation.permutation(rng, n) for _ in range(whole)] + [creation.permutation(rng, n)[:rest]]
        return iter(np.concatenate(chunks).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices``, shuffled each pass."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        order = creation.permutation(_rng_for_one_pass(self.generator), len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        weights = np.asarray(weights.tolist() if hasattr(weights, "tolist") else weights, dtype=np.float64)
        if weights.ndim != 1 or (weights < 0).any() or not weights.sum() > 0:
            raise ValueError(f"weights should be a 1-d sequence of non-negative numbers, not all 0; got {weights}")
        if not replacement and num_samples > (weights > 0).sum():
            raise RuntimeError("WeightedRandomSampler: without replacement, num_samples cannot exceed the number of "
                               "non-zero weights")
        self.weights, self.num_samples, self.replacement, self.generator = weights, num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        rng = _rng_for_one_pass(self.generator)
        drawn = rng.choice(len(self.weights), self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size``; ``drop_last`` drops a short last one.

    Example:
        >>> list(BatchSampler(range(5), 2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
