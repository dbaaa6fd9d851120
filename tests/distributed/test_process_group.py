"""Collectives over 2 MPI ranks and in a world of one; the errors for wrong use."""

from __future__ import annotations

import pytest
from mpi_jobs import needs_mpi, rank_results, world_of_one  # noqa: F401 - a fixture

import gpugrad as gg
import gpugrad.distributed as dist


@pytest.fixture(scope="module")
def collectives(tmp_path_factory):
    return rank_results("collectives_job.py", tmp_path_factory.mktemp("collectives"))


@needs_mpi
def test_all_reduce_ops(collectives):
    for found in collectives:
        assert found["backend"] == "mpi" and found["world"] == 2
        assert found["SUM"] == [3.0, -1.0]
        assert found["AVG"] == [1.5, -0.5]
        assert found["PRODUCT"] == [2.0, -0.0]
        assert found["MAX"] == [2.0, 0.0]
        assert found["MIN"] == [1.0, -1.0]
        assert found["strided"] == [[0.0, 6.0], [9.0, 15.0]]


@needs_mpi
def test_local_rank_comes_from_the_communicator(collectives):
    assert sorted(found["local_rank"] for found in collectives) == [0, 1]  # both ranks on this node


@needs_mpi
def test_broadcast_and_all_gather(collectives):
    for found in collectives:
        assert found["broadcast"] == [1.0, 1.0, 1.0]
        assert found["all_gather"] == [[0, 0], [1, 10]]


@needs_mpi
def test_object_collectives(collectives):
    for found in collectives:
        assert found["broadcast_object_list"] == [{"config": "rank0"}, 7]
        assert found["all_gather_object"] == [["hello", 0], ["hello", 1]]


@needs_mpi
def test_sampler_shards_are_disjoint_cover_the_data_and_have_equal_lengths(collectives):
    shards = [found["shard_drop_last_False"] for found in collectives]
    assert len(shards[0]) == len(shards[1]) == collectives[0]["len_drop_last_False"] == 6
    assert set(shards[0]) | set(shards[1]) == set(range(11))
    assert len(set(shards[0]) & set(shards[1])) == 1  # 11 indices over 2 ranks: one repeated as padding
    dropped = [found["shard_drop_last_True"] for found in collectives]
    assert len(dropped[0]) == len(dropped[1]) == 5 and not set(dropped[0]) & set(dropped[1])
    assert collectives[0]["shard_epoch_3"] != dropped[0]  # set_epoch changes the permutation


@needs_mpi
def test_a_collective_while_compiling_raises_a_trace_error(collectives):
    for found in collectives:
        assert "all_reduce() ran while gg.compile" in found["trace_error"]


# ------------------------------------------------------------------ one process
def test_without_a_launcher_the_world_is_one_process(world_of_one):
    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank()) == (0, 1, 0)
    assert dist.is_initialized() and dist.get_backend() == "mpi" and dist.get_device() == gg.device("cpu")
    t = gg.tensor([1.0, 2.0])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [1.0, 2.0]
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() and t.tolist() == [1.0, 2.0]
    dist.barrier()


def test_collectives_bump_the_version_counter(world_of_one):
    t = gg.tensor([1.0])
    before = t._version_number
    dist.all_reduce(t)
    assert t._version_number == before + 1


def test_wrong_use_gives_clear_errors(world_of_one):
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group()
    with pytest.raises(TypeError, match="ReduceOp"):
        dist.all_reduce(gg.ones(1), op="sum")
    with pytest.raises(TypeError, match="AVG needs floating-point"):
        dist.all_reduce(gg.ones(1, dtype=gg.int64), op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="src=3"):
        dist.broadcast(gg.ones(1), src=3)
    with pytest.raises(ValueError, match="1 ranks"):
        dist.all_gather([gg.ones(1), gg.ones(1)], gg.ones(1))
    with pytest.raises(TypeError, match="gpugrad Tensor"):
        dist.all_reduce([1.0])
    with pytest.raises(NotImplementedError, match="default group"):
        dist.get_rank(group=object())


def test_cuda_tensors_on_the_mpi_backend_are_refused(world_of_one):
    if not gg.cuda.is_available():
        pytest.skip(f"needs a GPU: {gg.cuda.unavailable_reason()}")
    with pytest.raises(RuntimeError, match="backend='nccl'"):
        dist.all_reduce(gg.ones(2, device="cuda"))


def test_using_the_group_before_init_says_so():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(TypeError, match="world_size"):
        dist.init_process_group("mpi", world_size=2)
    with pytest.raises(ValueError, match="backend"):
        dist.init_process_group("gloo")


def test_timeouts_are_seconds_or_timedeltas():
    import datetime

    from gpugrad.distributed.process_group import _seconds

    assert _seconds(datetime.timedelta(minutes=2)) == 120.0 and _seconds(1.5) == 1.5
    with pytest.raises(ValueError, match="positive"):
        _seconds(0)
