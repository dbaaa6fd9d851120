"""gg.utils.data: loading data for training; ``DistributedSampler`` gives each rank its own shard."""

from .distributed import DistributedSampler  # noqa: F401
