"""DistributedDataParallel: 2 MPI ranks against one process, no_sync, buckets, unused parameters, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from mpi_jobs import needs_mpi, rank_results, world_of_one  # noqa: F401 - a fixture

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.nn.parallel import DistributedDataParallel as DDP
from gpugrad.nn.parallel.distributed import _make_buckets


@pytest.fixture(scope="module")
def ddp_job(tmp_path_factory):
    return rank_results("ddp_job.py", tmp_path_factory.mktemp("ddp"), timeout=90)


@needs_mpi
def test_two_ranks_equal_one_process_with_twice_the_batch(ddp_job):
    for found in ddp_job:
        assert found["world"] == 2
        assert found["max_rel_diff_vs_single"] < 1e-6  # float64, 3 SGD steps with momentum


@needs_mpi
def test_parameters_are_bitwise_identical_across_ranks_started_from_different_seeds(ddp_job):
    assert ddp_job[0]["params_digest"] == ddp_job[1]["params_digest"]


@needs_mpi
def test_no_sync_accumulation_equals_one_big_step(ddp_job):
    assert ddp_job[0]["no_sync_local_digest"] != ddp_job[1]["no_sync_local_digest"]  # nothing reduced inside
    for found in ddp_job:
        assert found["no_sync_max_diff"] < 1e-12


@needs_mpi
def test_a_tiny_bucket_cap_equals_one_bucket(ddp_job):
    for found in ddp_job:
        assert found["buckets"] == [4, 1]
        assert found["bucket_cap_same_grads"]


@needs_mpi
def test_unused_parameters_raise_naming_them_unless_allowed(ddp_job):
    for found in ddp_job:
        assert "extra.weight" in found["unused_error"] and "find_unused_parameters=True" in found["unused_error"]
        assert found["unused_everywhere_grad_is_none"]
        assert found["rank0_only_grad_nonzero"] and found["lenient_second_step_ok"]
    # used on rank 0 only: both ranks hold the same average (rank 0's gradient / 2)
    assert ddp_job[0]["rank0_only_grad_digest"] == ddp_job[1]["rank0_only_grad_digest"]


@needs_mpi
def test_checkpoint_saved_on_rank0_resumes_the_identical_trajectory(ddp_job):
    for found in ddp_job:
        assert found["resume_identical"]
        assert found["state_dict_keys"] == ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]


@needs_mpi
def test_different_models_fail_at_construction_naming_the_parameter_and_rank(ddp_job):
    for found in ddp_job:
        assert "0.weight has shape (6, 5)" in found["mismatch_error"] and "rank 1" in found["mismatch_error"]


# ------------------------------------------------------------------ one process (MPI singleton)
def test_ddp_needs_a_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        DDP(gg.nn.Linear(2, 2))


def test_world_of_one_gives_the_plain_gradients(world_of_one):
    gg.manual_seed(0)
    plain = gg.nn.Linear(4, 3).double()
    wrapped = DDP(gg.nn.Linear(4, 3).double())
    wrapped.load_state_dict({"module." + k: v for k, v in plain.state_dict().items()})
    x = gg.randn(5, 4, dtype=gg.float64)
    (plain(x) ** 2).sum().backward()
    (wrapped(x) ** 2).sum().backward()
    for a, b in zip(plain.parameters(), wrapped.parameters()):
        np.testing.assert_array_equal(a.grad.array, b.grad.array)


def test_gradients_outside_ddp_forward_are_not_reduced(world_of_one):
    wrapped = DDP(gg.nn.Linear(2, 1).double())
    (wrapped.module(gg.ones(1, 2, dtype=gg.float64))).sum().backward()  # the module directly: no reduction armed
    assert wrapped.module.weight.grad.tolist() == [[1.0, 1.0]]


def test_buckets_follow_reverse_parameter_order_within_the_cap():
    layers = [gg.nn.Parameter(gg.zeros(n)) for n in (4, 4, 8, 2)]  # float32: 16, 16, 32, 8 bytes
    buckets = _make_buckets([(f"p{i}", p) for i, p in enumerate(layers)], cap_bytes=40)
    assert [[name for name, _ in b.named_params] for b in buckets] == [["p3", "p2"], ["p1", "p0"]]


def test_model_on_another_device_than_the_group_is_refused(world_of_one):
    if not gg.cuda.is_available():
        pytest.skip(f"needs a GPU: {gg.cuda.unavailable_reason()}")
    with pytest.raises(RuntimeError, match="dist.get_device"):
        DDP(gg.nn.Linear(2, 2).to("cuda"))


def test_compiling_a_ddp_step_raises_a_clear_trace_error(world_of_one):
    model = DDP(gg.nn.Linear(3, 1).double())
    optimizer = gg.optim.SGD(model.parameters(), lr=0.1)

    @gg.compile
    def step(x):
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        return loss

    x = gg.ones(2, 3, dtype=gg.float64)
    with pytest.raises(gg.graph.TraceError, match="all_reduce.*while gg.compile"):
        for _ in range(3):  # the first call may run eagerly; the trace must refuse the collective
            step(x)
