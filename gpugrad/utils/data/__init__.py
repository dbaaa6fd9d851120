"""gg.utils.data: loading data for training; ``DistributedSampler`` gives each rank its own shard."""

from .distributed import DistributedSampler

__all__ = ["DistributedSampler"]
