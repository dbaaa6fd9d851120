"""Samplers: orders, lengths, seeding through gg.manual_seed or a gg.Generator, and argument errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import gpugrad as gg
from gpugrad.utils.data import (
    BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)


def test_sequential_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3] and len(SequentialSampler("abc")) == 3


def test_random_sampler_permutes_and_repeats_under_the_global_seed():
    gg.manual_seed(3)
    first = [list(RandomSampler(range(20))) for _ in range(2)]
    gg.manual_seed(3)
    again = [list(RandomSampler(range(20))) for _ in range(2)]
    assert first == again  # the same seed, the same epochs
    assert first[0] != first[1]  # but each pass draws a new order
    assert sorted(first[0]) == list(range(20)) and first[0] != list(range(20))


def test_random_sampler_with_a_generator_is_independent_of_the_global_seed():
    gg.manual_seed(0)
    a = list(RandomSampler(range(10), generator=gg.Generator().manual_seed(7)))
    gg.manual_seed(1)
    b = list(RandomSampler(range(10), generator=gg.Generator().manual_seed(7)))
    assert a == b


def test_random_sampler_num_samples_and_replacement():
    chained = list(RandomSampler(range(3), num_samples=7))
    assert len(chained) == 7 and sorted(chained[:3]) == sorted(chained[3:6]) == [0, 1, 2]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    assert len(RandomSampler(range(3), num_samples=7)) == 7


@pytest.mark.parametrize("kwargs, error", [
    ({"replacement": 1}, TypeError), ({"num_samples": 0}, ValueError), ({"num_samples": 2.5}, ValueError),
])
def test_random_sampler_arguments(kwargs, error):
    with pytest.raises(error):
        RandomSampler(range(3), **kwargs)


def test_subset_and_weighted_samplers():
    assert sorted(SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    picks = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 100, generator=gg.Generator().manual_seed(0)))
    assert set(picks) == {1, 3} and picks.count(3) > picks.count(1)
    assert sorted(WeightedRandomSampler([1, 1, 1], 3, replacement=False)) == [0, 1, 2]
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([-1.0, 2.0], 2)


def test_batch_sampler_groups_and_counts():
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(7), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(7), 2, 1)


def test_samplers_refuse_a_device_generator():
    generator = gg.Generator.__new__(gg.Generator)
    generator.device = SimpleNamespace(type="cuda")  # a stand-in: only its device is read, no GPU needed
    with pytest.raises(ValueError, match="expected a 'cpu' device type for generator"):
        list(RandomSampler(range(3), generator=generator))


def test_generator_seeding():
    g = gg.Generator()
    assert g.initial_seed() == 67280421310721  # a fresh torch.Generator's seed
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    one = gg.randperm(8, generator=gg.Generator().manual_seed(5)).tolist()
    assert one == gg.randperm(8, generator=gg.Generator().manual_seed(5)).tolist() and sorted(one) == list(range(8))
    assert gg.randperm(8, generator=g).dtype == gg.int64
    assert g.seed() == g.initial_seed()
