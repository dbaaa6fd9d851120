"""DataLoader and default_collate: batching, shuffling, samplers, iterable datasets, errors; parity with PyTorch."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.data import (
    BatchSampler, DataLoader, Dataset, IterableDataset, SequentialSampler, Subset, TensorDataset, default_collate,
    get_worker_info,
)

Point = namedtuple("Point", "x y")


class Records(Dataset):
    """Samples as dicts of a NumPy array, a float and a string."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"pixels": np.full((2, 2), i, dtype=np.float32), "weight": i / 2, "name": f"r{i}"}


class Stream(IterableDataset):
    def __init__(self, n, with_length=True):
        self.n, self.with_length = n, with_length

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.with_length:
            raise TypeError("Stream has no len()")
        return self.n


def test_batches_of_a_tensor_dataset_in_order(device):
    x, y = gg.randn(10, 3, device=device), gg.arange(10, device=device)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0].cpu().numpy(), x.cpu().numpy()[8:])
    assert batches[0][0].device == gg.device(device)


@pytest.mark.parametrize("subset", [False, True], ids=["tensor-dataset", "subset-of-subset"])
def test_the_tensor_dataset_shortcut_gives_what_stacking_samples_gives(subset):
    data = TensorDataset(gg.randn(6, 2), gg.arange(6))
    if subset:
        data = Subset(Subset(data, [5, 4, 3, 2, 1]), [0, 2, 4, 3])
    indices = [3, 1, 2]
    fast = DataLoader(data)._fetch(indices)
    slow = default_collate([data[i] for i in indices])
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.dtype == b.dtype
    assert isinstance(fast, list) and isinstance(slow, list)


def test_shuffle_drop_last_and_the_global_seed():
    data = TensorDataset(gg.arange(10))
    loader = DataLoader(data, batch_size=3, shuffle=True, drop_last=True)
    gg.manual_seed(0)
    epoch_1, epoch_2 = ([b[0].tolist() for b in loader] for _ in range(2))
    assert len(loader) == len(epoch_1) == 3 and all(len(b) == 3 for b in epoch_1)
    assert epoch_1 != epoch_2  # a new order every epoch
    gg.manual_seed(0)
    assert [b[0].tolist() for b in loader] == epoch_1  # and the same orders again from the same seed


def test_shuffle_with_a_generator():
    data = TensorDataset(gg.arange(10))

    def first_epoch(seed):
        return [b[0].tolist() for b in DataLoader(data, batch_size=5, shuffle=True,
                                                  generator=gg.Generator().manual_seed(seed))]

    assert first_epoch(1) == first_epoch(1) != first_epoch(2)


def test_collate_of_dicts_arrays_numbers_and_strings():
    batch = next(iter(DataLoader(Records(), batch_size=3)))
    assert set(batch) == {"pixels", "weight", "name"}
    assert batch["pixels"].shape == (3, 2, 2) and batch["pixels"].dtype == gg.float32
    assert batch["weight"].dtype == gg.float64 and batch["weight"].tolist() == [0.0, 0.5, 1.0]
    assert batch["name"] == ["r0", "r1", "r2"]


def test_collate_of_tuples_named_tuples_ints_and_bools():
    pairs = default_collate([(1, True), (2, False)])
    assert isinstance(pairs, list) and pairs[0].dtype == gg.int64 and pairs[1].dtype == gg.bool
    points = default_collate([Point(gg.zeros(2), 1.5), Point(gg.ones(2), 2.5)])
    assert isinstance(points, Point) and points.x.shape == (2, 2) and points.y.tolist() == [1.5, 2.5]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == gg.float32
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_sampler_batch_sampler_and_no_batching():
    data = TensorDataset(gg.arange(6))
    reverse = list(range(5, -1, -1))
    assert [b[0].tolist() for b in DataLoader(data, batch_size=4, sampler=reverse)] == [[5, 4, 3, 2], [1, 0]]
    batches = BatchSampler(SequentialSampler(data), 2, drop_last=False)
    loader = DataLoader(data, batch_sampler=batches)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]] and len(loader) == 3
    singles = list(DataLoader(Records(), batch_size=None))
    assert len(singles) == 5 and isinstance(singles[0]["pixels"], gg.Tensor)
    assert singles[0]["pixels"].shape == (2, 2)


def test_iterable_datasets_are_chunked():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert len(DataLoader(Stream(7), batch_size=3)) == 3 and len(DataLoader(Stream(7), batch_size=3,
                                                                            drop_last=True)) == 2
    with pytest.raises(TypeError):
        len(DataLoader(Stream(7, with_length=False), batch_size=3))
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)
    chained = Stream(3) + Stream(2)
    assert [b.tolist() for b in DataLoader(chained, batch_size=2)] == [[0, 1], [2, 0], [1]] and len(chained) == 5
    assert get_worker_info() is None  # what an IterableDataset asks to split its stream between workers


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_workers": 2}, NotImplementedError, "num_workers=0"),
    ({"num_workers": -1}, ValueError, "non-negative"),
    ({"sampler": [0, 1], "shuffle": True}, ValueError, "mutually exclusive with shuffle"),
    ({"batch_sampler": [[0, 1]], "batch_size": 2}, ValueError, "mutually exclusive with batch_size"),
    ({"batch_size": None, "drop_last": True}, ValueError, "disables auto-batching"),
    ({"batch_size": 0}, ValueError, "batch_size should be a positive integer"),
    ({"prefetch_factor": 2}, ValueError, "prefetch_factor option could only be specified in multiprocessing"),
    ({"persistent_workers": True}, ValueError, "persistent_workers option needs num_workers > 0"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(TensorDataset(gg.arange(4)), **kwargs)


# ----------------------------------------------------------- parity with PyTorch
def _structure(batch):
    """A batch's shape of containers, dtypes and values, comparable between gpugrad and torch."""
    if hasattr(batch, "dtype") and hasattr(batch, "shape"):
        return ("tensor", str(batch.dtype).split(".")[-1], tuple(batch.shape), np.asarray(batch.tolist()).tolist())
    if isinstance(batch, dict):
        return {k: _structure(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [_structure(v) for v in batch])
    return batch


SAMPLES = [
    [(np.arange(3, dtype=np.float32), 1), (np.ones(3, dtype=np.float32), 0)],
    [{"a": 1.5, "b": [1, 2]}, {"a": 2.5, "b": [3, 4]}],
    [(np.int64(3), True, "s"), (np.int64(4), False, "t")],
    [[np.float64(1.0), 2], [np.float64(3.0), 4]],
]


@pytest.mark.parametrize("samples", SAMPLES, ids=["arrays-ints", "dicts-lists", "numpy-scalars-bools-strings",
                                                  "lists"])
def test_default_collate_matches_pytorch(samples):
    torch = pytest.importorskip("torch")
    theirs = torch.utils.data.default_collate(samples)
    assert _structure(default_collate(samples)) == _structure(theirs)


def test_loader_lengths_and_sequential_batches_match_pytorch():
    torch = pytest.importorskip("torch")
    for size, batch, drop in [(10, 3, False), (10, 3, True), (9, 3, False), (1, 4, False)]:
        ours = DataLoader(TensorDataset(gg.arange(size)), batch_size=batch, drop_last=drop)
        theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(size)), batch_size=batch,
                                             drop_last=drop)
        assert len(ours) == len(theirs)
        assert [b[0].tolist() for b in ours] == [b[0].tolist() for b in theirs]


def test_random_split_lengths_match_pytorch():
    torch = pytest.importorskip("torch")
    from gpugrad.utils.data import random_split

    for n, fractions in [(11, [0.5, 0.3, 0.2]), (10, [0.33, 0.33, 0.34]), (7, [0.1, 0.9])]:
        ours = [len(s) for s in random_split(range(n), fractions)]
        theirs = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
        assert ours == theirs
