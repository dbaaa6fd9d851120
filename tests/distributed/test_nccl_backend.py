"""The NCCL backend's protocol, checked against a recording stand-in for CuPy (no GPU needed).

What a GPU run adds (real communicators, real streams) waits for a GPU host;
here: the unique id travels over MPI from rank 0, the communicator sits on the
local rank's GPU, the communication stream waits for the compute stream before
each launch and the compute stream waits for it after, bucket reductions are
grouped, and a timeout aborts the communicator.
"""

from __future__ import annotations

import contextlib
import time
import types

import numpy as np
import pytest
from mpi_jobs import MPI_MISSING

import gpugrad.distributed as dist
from gpugrad.distributed import process_group
from gpugrad.distributed.nccl import NCCLBackend, nccl_dtype
from gpugrad.distributed.watchdog import Watchdog


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *call):
        self.calls.append(call)


def fake_cupy(log: Recorder, devices: int = 2):
    """Just enough of ``cupy`` for NCCLBackend, logging every call that matters for ordering."""

    class Stream:
        def __init__(self, name="comm", non_blocking=False):
            self.name, self.ptr = name, id(self)

        def wait_event(self, event):
            log("wait", self.name, event.name)

        def synchronize(self):
            log("synchronize", self.name)

    class Event:
        count = 0

        def __init__(self, disable_timing=False):
            Event.count += 1
            self.name, self.done = f"event{Event.count}", False

        def record(self, stream):
            log("record", self.name, stream.name)

    class Communicator:
        def __init__(self, size, unique_id, rank):
            log("communicator", size, unique_id, rank)

        def allReduce(self, send, recv, count, dtype, op, stream):  # noqa: N802 - CuPy's name
            log("allReduce", count, dtype, op, stream)

        def abort(self):
            log("abort")

    compute = Stream("compute")
    nccl = types.SimpleNamespace(
        get_unique_id=lambda: "id-of-rank-0", NcclCommunicator=Communicator,
        groupStart=lambda: log("groupStart"), groupEnd=lambda: log("groupEnd"),
        NCCL_SUM=0, NCCL_PROD=1, NCCL_MAX=2, NCCL_MIN=3, NCCL_FLOAT16=6, NCCL_FLOAT32=7, NCCL_FLOAT64=8,
        NCCL_INT8=0, NCCL_UINT8=1, NCCL_INT32=2, NCCL_INT64=4,
    )
    cuda = types.SimpleNamespace(
        nccl=nccl, Stream=Stream, Event=Event, get_current_stream=lambda: compute,
        Device=lambda index: contextlib.nullcontext(log("device", index)),
        runtime=types.SimpleNamespace(getDeviceCount=lambda: devices),
    )
    return types.SimpleNamespace(cuda=cuda)


class FakeMPIComm:
    """Rank ``rank`` of a 2-rank world; ``bcast`` hands back what rank 0 sent."""

    def __init__(self, rank, log):
        self.rank, self.log = rank, log

    def Get_rank(self):  # noqa: N802 - mpi4py's names
        return self.rank

    def Get_size(self):  # noqa: N802
        return 2

    def bcast(self, obj, root=0):
        self.log("mpi bcast", obj, root)
        return "id-of-rank-0"


class DeviceArray:
    def __init__(self, size, dtype="float32"):
        self.size, self.dtype = size, np.dtype(dtype)
        self.data = types.SimpleNamespace(ptr=id(self))


def backend_for(rank, local_rank, log):
    return NCCLBackend(FakeMPIComm(rank, log), local_rank, cupy=fake_cupy(log))


def test_rank0_makes_the_unique_id_and_every_rank_gets_it_over_mpi():
    log0, log1 = Recorder(), Recorder()
    backend_for(0, 0, log0)
    backend = backend_for(1, 3, log1)
    assert ("mpi bcast", "id-of-rank-0", 0) in log0.calls
    assert ("mpi bcast", None, 0) in log1.calls  # rank 1 makes no id of its own
    assert ("communicator", 2, "id-of-rank-0", 1) in log1.calls
    assert ("device", 1) in log1.calls and backend.device_index == 1  # local rank 3 on 2 GPUs


def test_bucket_reductions_are_grouped_and_fenced_against_the_compute_stream():
    log = Recorder()
    backend = backend_for(0, 0, log)
    log.calls.clear()
    work = backend.all_reduce([DeviceArray(10), DeviceArray(20)], "sum")
    assert log.calls.pop(0) == ("device", 0)  # on this rank's GPU, whichever device is current
    kinds = [c[0] for c in log.calls]
    assert kinds == ["record", "wait", "groupStart", "allReduce", "allReduce", "groupEnd", "record"]
    ready, done = log.calls[0], log.calls[-1]
    assert ready[2] == "compute" and log.calls[1] == ("wait", "comm", ready[1])  # comm waits for compute
    assert done[2] == "comm"
    assert log.calls[3][1:3] == (10, 7) and log.calls[4][1] == 20
    log.calls.clear()
    work.wait()
    assert log.calls == [("device", 0), ("wait", "compute", done[1])]  # compute waits for comm; the host does not block
    assert not work.is_completed()


def test_nccl_dtypes():
    nccl = fake_cupy(Recorder()).cuda.nccl
    assert nccl_dtype(nccl, np.dtype("float64")) == 8
    with pytest.raises(TypeError, match="NCCL collectives take"):
        nccl_dtype(nccl, np.dtype("bool"))


def test_a_timed_out_queued_collective_aborts_the_communicator(monkeypatch):
    log = Recorder()
    backend = backend_for(0, 0, log)
    aborted = []
    monkeypatch.setattr(process_group, "abort_job", lambda message, code=1, backend=None: (
        backend.abort(), aborted.append(message)))
    world = process_group.ProcessGroup(backend, FakeMPIComm(0, log), 0, timeout=0.2)
    try:
        world.run("all_reduce", "40 bytes of float32, 2 tensors", lambda: backend.all_reduce([DeviceArray(10)], "sum"))
        deadline = time.monotonic() + 5
        while not aborted and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        world.shutdown()
    assert aborted and "all_reduce #1 (40 bytes of float32, 2 tensors) did not complete within the timeout" in aborted[0]
    assert ("abort",) in log.calls


def test_watchdog_forgets_completed_collectives():
    fired = []
    dog = Watchdog(0.2, fired.append)
    try:
        dog.begin(1, "all_reduce #1")
        dog.end(1)
        dog.begin(2, "all_reduce #2")
        dog.end_when(2, lambda: True)
        time.sleep(0.5)
    finally:
        dog.stop()
    assert fired == []


def test_nccl_without_a_gpu_says_so():
    if MPI_MISSING:
        pytest.skip(MPI_MISSING)
    import gpugrad as gg

    if gg.cuda.is_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(RuntimeError, match="use backend='mpi'"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


@pytest.mark.gpu
def test_nccl_world_of_one_on_a_real_gpu():
    """On a GPU host: the real communicator, streams and events, through all_reduce and DDP."""
    if MPI_MISSING:
        pytest.skip(MPI_MISSING)
    try:
        from cupy.cuda import nccl

        nccl.get_unique_id()
    except Exception as exc:  # noqa: BLE001 - CuPy built without NCCL, or an emulated CuPy
        pytest.skip(f"no usable NCCL in this CuPy: {type(exc).__name__}: {exc}")
    import gpugrad as gg
    from gpugrad.nn.parallel import DistributedDataParallel

    dist.init_process_group("nccl", timeout=60)
    try:
        device = dist.get_device()
        t = gg.tensor([1.0, 2.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.tolist() == [1.0, 2.0]
        model = DistributedDataParallel(gg.nn.Linear(3, 1).to(device))
        model(gg.ones(2, 3, device=device)).sum().backward()
        assert model.module.weight.grad.tolist() == [[2.0, 2.0, 2.0]]
    finally:
        dist.destroy_process_group()
