"""DataLoader: batches from a dataset, with PyTorch's arguments, its default collate and its errors.

    >>> from gpugrad.utils.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(gg.randn(10, 3), gg.arange(10)), batch_size=4, shuffle=True)
    >>> [tuple(x.shape) for x, y in loader]
    [(4, 3), (4, 3), (2, 3)]

Batches are made in the calling process (``num_workers=0``): the datasets
gpugrad is used with live in memory, where worker processes cost more than
they save. Batches are left where the samples are (``.to(device)`` them).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from ... import creation, dtypes
from ...ops.shape import stack
from ...tensor import Tensor, tensor
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def default_collate(batch: Sequence):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors are stacked along a new first dimension; NumPy arrays and NumPy
    scalars become tensors first; Python floats become a float64 tensor, ints an
    int64 tensor (bools a bool tensor); strings stay a list. Dicts, named tuples
    and sequences are collated field by field (a tuple comes back as a list, as
    in PyTorch).

    Example:
        >>> default_collate([(gg.zeros(2), 0), (gg.ones(2), 1)])
        [tensor([[0., 0.],
                [1., 1.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SaUO":
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return stack([creation.as_tensor(b) for b in batch], 0)
    if isinstance(elem, np.generic):
        if elem.dtype.kind in "SaUO":
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return creation.as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=dtypes.float64)
    if isinstance(elem, int):  # bool too: a bool tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch)]  # strings stay the tuple zip made, as PyTorch
        if isinstance(elem, tuple):
            return fields  # PyTorch's backwards-compatible choice: tuples come back as lists
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """What the loader does to each sample when it does not batch (``batch_size=None``): NumPy to tensors."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SaUO":
        return creation.as_tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "SaUO":
        return creation.as_tensor(np.asarray(data))
    if isinstance(data, Mapping):
        return type(data)({key: default_convert(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


class DataLoader:
    """Iterate over a dataset in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch; None yields single samples (converted, not batched).
        shuffle: a new random order each epoch (from ``generator``, else the global seed).
        sampler: the order of indices (any iterable of them); excludes ``shuffle``.
        batch_sampler: yields lists of indices; excludes batch_size, shuffle, sampler and drop_last.
        num_workers: only 0 (load in this process); anything else raises.
        collate_fn: turns a list of samples into a batch (default: ``default_collate``).
        pin_memory: accepted and ignored (batches stay where the samples are).
        drop_last: drop a last batch smaller than ``batch_size``.
        generator: a ``gg.Generator`` for ``shuffle``.

    ``len(loader)`` is the number of batches. Other PyTorch arguments (``timeout``,
    ``worker_init_fn``, ``prefetch_factor``, ...) are accepted for compatibility and
    only matter with workers.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "") -> None:
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor, self.persistent_workers = (
            worker_init_fn, prefetch_factor, persistent_workers)
        self.multiprocessing_context, self.pin_memory_device = multiprocessing_context, pin_memory_device
        if collate_fn is None:
            collate_fn = default_collate if batch_size is not None or batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    def __iter__(self):
        if isinstance(self.dataset, IterableDataset):
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[index]) for index in self.sampler)
        return (self._fetch(indices) for indices in self.batch_sampler)

    def _fetch(self, indices: list):
        """One batch of samples, collated.

        A TensorDataset (or a Subset of one, as ``random_split`` makes) with the default
        collate is indexed once per tensor: the same batch as stacking the samples
        (``[x[indices], y[indices]]``) in two ops instead of about three per sample.
        """
        if self.collate_fn is default_collate:
            dataset, indices = self.dataset, list(indices)
            while type(dataset) is Subset:
                dataset, indices = dataset.dataset, [dataset.indices[i] for i in indices]
            if type(dataset) is TensorDataset:
                return [t[indices] for t in dataset.tensors]
        if hasattr(self.dataset, "__getitems__"):
            return self.collate_fn(self.dataset.__getitems__(indices))
        return self.collate_fn([self.dataset[i] for i in indices])

    def _iter_stream(self):
        stream = iter(self.dataset)
        if self.batch_size is None:
            yield from (self.collate_fn(sample) for sample in stream)
            return
        while batch := list(itertools.islice(stream, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            length = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return length
            return length // self.batch_size if self.drop_last else -(-length // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)


def get_worker_info() -> None:
    """None: batches are always made in the calling process (what PyTorch returns there too)."""
    return None


def _check_workers(num_workers: int, timeout: float, prefetch_factor, persistent_workers: bool) -> None:
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if num_workers > 0:
        raise NotImplementedError(
            f"DataLoader(num_workers={num_workers}): gpugrad loads batches in the calling process only; use "
            "num_workers=0 (the default). For in-memory datasets it is rarely slower; preprocess heavy data once "
            "up front (e.g. into a TensorDataset) instead"
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if prefetch_factor is not None:  # PyTorch's errors for worker options without workers
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to "
                         "enable multiprocessing, otherwise set prefetch_factor to None.")
    if persistent_workers:
        raise ValueError("persistent_workers option needs num_workers > 0")
