"""gg.nn.parallel: DistributedDataParallel (data parallelism over gg.distributed's process group)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
