"""Datasets: TensorDataset, Subset, ConcatDataset, IterableDataset and random_split."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.data import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return i * i

    def __len__(self):
        return self.n


def test_tensor_dataset_rows_and_length(device):
    x, y = gg.randn(5, 3, device=device), gg.arange(5, device=device)
    data = TensorDataset(x, y)
    assert len(data) == 5
    row, label = data[2]
    np.testing.assert_array_equal(row.cpu().numpy(), x.cpu().numpy()[2])
    assert label.item() == 2 and row.device == gg.device(device)
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(gg.zeros(5), gg.zeros(4))
    with pytest.raises(TypeError, match="expected Tensors"):
        TensorDataset(np.zeros(5))


def test_subset_concat_and_add():
    squares = Squares(5)
    subset = Subset(squares, [4, 0, 2])
    assert [subset[i] for i in range(3)] == [16, 0, 4] and len(subset) == 3
    both = squares + Squares(3)
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert [both[i] for i in range(8)] == [0, 1, 4, 9, 16, 0, 1, 4] and both[-1] == 4
    with pytest.raises(ValueError, match="should not exceed"):
        both[-9]


def test_base_classes_name_what_is_missing():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(IterableDataset())
    with pytest.raises(TypeError, match="ChainDataset only supports IterableDataset"):
        ChainDataset([Squares(2)])


def test_random_split_lengths_fractions_and_disjointness():
    data = Squares(10)
    parts = random_split(data, [3, 7], generator=gg.Generator().manual_seed(0))
    indices = [p.indices for p in parts]
    assert [len(i) for i in indices] == [3, 7] and sorted(indices[0] + indices[1]) == list(range(10))
    again = random_split(data, [3, 7], generator=gg.Generator().manual_seed(0))
    assert [p.indices for p in again] == indices
    assert [len(p) for p in random_split(Squares(11), [0.5, 0.3, 0.2])] == [6, 3, 2]  # floors, then the rest round-robin
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(data, [3, 6])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(Squares(2), [0.9, 0.1])


def test_random_split_follows_the_global_seed():
    gg.manual_seed(4)
    first = [p.indices for p in random_split(Squares(10), [5, 5])]
    gg.manual_seed(4)
    assert [p.indices for p in random_split(Squares(10), [5, 5])] == first
