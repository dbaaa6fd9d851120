"""gg.utils.data: datasets, samplers and the DataLoader, with PyTorch's names and arguments.

    >>> from gpugrad.utils.data import DataLoader, TensorDataset
    >>> gg.manual_seed(0)
    >>> loader = DataLoader(TensorDataset(gg.randn(100, 3), gg.randint(0, 2, (100,))), batch_size=32, shuffle=True)
    >>> for x, y in loader:
    ...     pass
    >>> len(loader)
    4
"""

from .dataloader import DataLoader, default_collate, default_convert, get_worker_info
from .distributed import DistributedSampler
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import (
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
    "default_collate", "default_convert", "get_worker_info", "random_split",
]
