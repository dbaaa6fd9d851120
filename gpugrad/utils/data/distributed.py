"""DistributedSampler: each rank of a data-parallel job draws its own, equally long shard of a dataset.

    >>> sampler = DistributedSampler(dataset, shuffle=True, seed=0)   # rank and world size from gg.distributed
    >>> for epoch in range(epochs):
    ...     sampler.set_epoch(epoch)                                     # a new permutation each epoch
    ...     for i in sampler: ...
"""

from __future__ import annotations

import math

import numpy as np

from .sampler import Sampler


class DistributedSampler(Sampler):
    """The dataset indices of one rank, with PyTorch's semantics.

    All ranks permute the indices with the same seed (``seed + epoch``), then rank
    ``r`` takes every ``num_replicas``-th index from position ``r``. So the shards
    are disjoint and together cover the dataset. Every rank gets the same number
    of indices, so every rank runs the same number of steps (a rank with one
    batch more would wait in a collective forever): the list is padded by
    repeating its start, or, with ``drop_last``, cut to a multiple of ``num_replicas``.

    Args:
        dataset: anything with ``len()``.
        num_replicas: the number of ranks; default ``gg.distributed.get_world_size()``.
        rank: this rank; default ``gg.distributed.get_rank()``.
        shuffle: permute the indices (differently each epoch, see :meth:`set_epoch`).
        seed: the permutation's seed; must be the same on every rank.
        drop_last: drop the tail instead of padding.

    Differs from PyTorch: the permutation comes from NumPy's ``default_rng(seed + epoch)``,
    not ``torch.randperm``, so shuffled shards hold other indices than PyTorch's
    (unshuffled ones are identical).

    Example:
        >>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
        [1, 3, 0]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: pass num_replicas and rank, or call gg.distributed.init_process_group() first"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        n = len(dataset)
        # drop_last: whole rounds only; otherwise the last round is padded
        self.num_samples = n // num_replicas if drop_last else math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        elif indices:
            repeats = math.ceil(self.total_size / n)
            indices = (indices * repeats)[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch``; call it at the start of every epoch, with the same value on every rank."""
        self.epoch = epoch
