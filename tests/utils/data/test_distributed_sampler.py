"""DistributedSampler: PyTorch's shards (unshuffled identical), disjoint cover, equal lengths, epochs."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from gpugrad.utils.data.distributed import DistributedSampler


def shards(n, replicas, **kwargs):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kwargs)) for r in range(replicas)]


@given(n=st.integers(0, 40), replicas=st.integers(1, 6), shuffle=st.booleans(), seed=st.integers(0, 9))
def test_shards_cover_the_data_with_equal_lengths(n, replicas, shuffle, seed):
    parts = shards(n, replicas, shuffle=shuffle, seed=seed)
    assert len({len(p) for p in parts}) == 1
    assert len(parts[0]) == len(DistributedSampler(range(n), replicas, 0))
    everything = [i for p in parts for i in p]
    assert set(everything) == set(range(n))
    assert len(everything) - n == (-n) % replicas if n else everything == []  # padding only to a full round


@given(n=st.integers(0, 40), replicas=st.integers(1, 6), shuffle=st.booleans())
def test_drop_last_gives_disjoint_equal_shards(n, replicas, shuffle):
    parts = shards(n, replicas, shuffle=shuffle, drop_last=True)
    everything = [i for p in parts for i in p]
    assert len(everything) == len(set(everything)) == n - n % replicas
    assert len({len(p) for p in parts}) == 1


def test_epochs_permute_differently_and_repeat_with_the_seed():
    sampler = DistributedSampler(range(20), num_replicas=2, rank=0, seed=5)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(DistributedSampler(range(20), num_replicas=2, rank=0, seed=6)) != first


def test_bad_arguments():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_unshuffled_shards_match_pytorch():
    torch_data = pytest.importorskip("torch.utils.data")
    for n in range(0, 13):
        for replicas in (1, 2, 3, 5):
            for drop_last in (False, True):
                for rank in range(replicas):
                    ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                    theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs), (n, replicas, rank, drop_last)
