"""The default process group and PyTorch's collectives over it.

One process group per process (the world), made by :func:`init_process_group`
over MPI's ``COMM_WORLD``. Tensor collectives go to its backend (MPI on host
arrays, NCCL on CUDA arrays); object collectives (pickled Python values)
always go over MPI. Every collective gets a sequence number and is watched:
one that does not complete within the timeout aborts the whole job with a
message naming it. Without a launcher (plain ``python script.py``) MPI runs
as a singleton: world size 1, and every collective is a no-op copy.
"""

from __future__ import annotations

import datetime
import enum

from ..backends import cupy_import
from ..graph.tracer import TraceError, current as _current_tracer
from ..tensor import Tensor
from .abort import abort_job, install_abort_on_exception, restore_excepthook
from .mpi import Done, MPIBackend, import_mpi
from .watchdog import Watchdog

# PyTorch's defaults: 30 minutes for CPU backends, 10 for NCCL
DEFAULT_TIMEOUT = {"mpi": datetime.timedelta(minutes=30), "nccl": datetime.timedelta(minutes=10)}


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' tensors (PyTorch's ``dist.ReduceOp``)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


class ProcessGroup:
    """The world: its backend, its MPI communicator, this process's ranks, the timeout and the watchdog."""

    def __init__(self, backend, comm, local_rank: int, timeout: float):
        self.backend, self.comm = backend, comm
        self.rank, self.size, self.local_rank = comm.Get_rank(), comm.Get_size(), local_rank
        self.timeout = timeout
        self.seq = 0
        # one process cannot wait for another: no watchdog thread for a world of one
        self.watchdog = Watchdog(timeout, self._timed_out) if self.size > 1 else None

    def run(self, op: str, detail: str, call):
        """Run ``call()`` (which returns a work handle) as collective number ``seq``, under the watchdog."""
        self.seq += 1
        if self.watchdog is None:
            return call()
        seq = self.seq
        self.watchdog.begin(seq, f"{op} #{seq} ({detail})")
        try:
            work = call()
        except BaseException:
            self.watchdog.end(seq)
            raise
        if work.is_completed():
            self.watchdog.end(seq)
        else:  # queued on a GPU stream: the watchdog polls its event
            self.watchdog.end_when(seq, work.is_completed)
        return work

    def _timed_out(self, message: str) -> None:
        abort_job(
            f"[rank {self.rank}] gpugrad.distributed: {message}. Another rank probably skipped or reordered this "
            f"collective, exited early, or is stuck; aborting all {self.size} ranks.", backend=self.backend,
        )

    def shutdown(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()


_world: ProcessGroup | None = None


def init_process_group(backend: str | None = None, timeout=None, **kwargs) -> None:
    """Start the default process group over MPI's COMM_WORLD.

    Launch the processes with ``mpiexec -n N python -m gpugrad.distributed script.py``;
    run without a launcher, the world has one process and every collective still works.

    Args:
        backend: "mpi" (CPU tensors), "nccl" (CUDA tensors; MPI bootstraps it), or None:
            nccl when a CUDA device and CuPy's NCCL are usable, mpi otherwise.
        timeout: a ``datetime.timedelta`` or seconds: a collective that takes longer aborts
            the job with a message naming it (default 30 minutes for mpi, 10 for nccl).
        **kwargs: PyTorch's ``init_method``, ``world_size``, ``rank`` and ``store`` are not taken:
            MPI's launcher sets them.

    Example:
        >>> import gpugrad.distributed as dist
        >>> dist.init_process_group("mpi")
        >>> dist.get_rank(), dist.get_world_size()
        (0, 1)
    """
    global _world
    if _world is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if kwargs:
        raise TypeError(
            f"init_process_group(): {', '.join(sorted(kwargs))} not supported: ranks and world size come from "
            "MPI; start the processes with mpiexec -n N python -m gpugrad.distributed script.py"
        )
    if backend is None:
        from .nccl import nccl_available

        backend = "nccl" if cupy_import.available() and nccl_available() else "mpi"
    if backend not in DEFAULT_TIMEOUT:
        raise ValueError(f"init_process_group(): backend must be 'mpi', 'nccl' or None, got {backend!r}")
    seconds = _seconds(timeout if timeout is not None else DEFAULT_TIMEOUT[backend])
    MPI = import_mpi()
    comm = MPI.COMM_WORLD.Dup()  # our own context: a user's MPI calls cannot match ours
    node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())  # the processes sharing this node
    local_rank = node.Get_rank()
    node.Free()
    if backend == "nccl":
        from .nccl import NCCLBackend

        chosen = NCCLBackend(comm, local_rank)
    else:
        chosen = MPIBackend(MPI, comm)
    _world = ProcessGroup(chosen, comm, local_rank, seconds)
    if _world.size > 1:
        install_abort_on_exception(_world.rank, _world.size)


def _seconds(timeout) -> float:
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)
    if seconds <= 0:
        raise ValueError(f"init_process_group(): timeout must be positive, got {timeout!r}")
    return seconds


def destroy_process_group(group=None) -> None:
    """End the default process group (MPI itself is finalized when the process exits)."""
    global _world
    world = _group("destroy_process_group", group)
    world.shutdown()
    _world = None
    restore_excepthook()


def is_available() -> bool:
    """Whether mpi4py can be imported (without importing it: that would start MPI)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    return _world is not None


def get_rank(group=None) -> int:
    """This process's rank in the world (0 .. world size - 1), from MPI."""
    return _group("get_rank", group).rank


def get_world_size(group=None) -> int:
    return _group("get_world_size", group).size


def get_local_rank() -> int:
    """This process's rank among the processes on its node (MPI's shared-memory split); picks its GPU."""
    return _group("get_local_rank", None).local_rank


def get_backend(group=None) -> str:
    return _group("get_backend", group).backend.name


def get_device():
    """The device this rank's tensors belong on: the CPU for mpi, ``cuda:<local rank>`` for nccl."""
    return _group("get_device", None).backend.device


def _collective_group(op: str, group) -> ProcessGroup:
    """The group a collective runs in; refused while tracing, before any traced array is touched."""
    if _current_tracer() is not None:
        raise TraceError(
            f"gg.distributed.{op}() ran while gg.compile / gg.Graph was tracing: a replayed graph would skip "
            "the communication. Trace only the per-rank computation and run collectives (and "
            "DistributedDataParallel's backward) eagerly, or pass fallback='eager' to gg.compile."
        )
    return _group(op, group)


def _group(op: str, group) -> ProcessGroup:
    if group is not None and group is not _world:
        raise NotImplementedError(f"{op}(): only the default group (group=None) is supported")
    if _world is None:
        raise RuntimeError(
            f"{op}(): Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _world


# ------------------------------------------------------------------ tensor collectives
def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across ranks, in place, so every rank holds the result.

    Example:
        >>> t = gg.tensor([float(dist.get_rank())])
        >>> dist.all_reduce(t, op=dist.ReduceOp.SUM)   # t is now 0 + 1 + ... on every rank
    """
    return all_reduce_coalesced([tensor], op, group, async_op)


def all_reduce_coalesced(tensors: list, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """``all_reduce`` of several tensors as one collective (one NCCL group launch; one MPI call each).

    With ``async_op=True`` the result is a handle whose ``wait()`` must be called before
    reading the tensors; ReduceOp.AVG is then finished (divided) by ``wait()``.
    """
    world = _collective_group("all_reduce", group)
    op = _reduce_op(op)
    arrays = [_checked_array("all_reduce", t, world) for t in tensors]
    if op is ReduceOp.AVG and any(a.dtype.kind not in "fc" for a in arrays):
        dtypes = ", ".join(str(t.dtype) for t in tensors)
        raise TypeError(f"all_reduce(): ReduceOp.AVG needs floating-point tensors, got {dtypes}")
    buffers = [_contiguous(a) for a in arrays]
    name = "sum" if op is ReduceOp.AVG else op.value
    work = world.run("all_reduce", _describe(buffers), lambda: world.backend.all_reduce(buffers, name))

    def finish():
        if op is ReduceOp.AVG:
            for b in buffers:
                b *= 1.0 / world.size
        for t, a, b in zip(tensors, arrays, buffers):
            _write_back(t, a, b)

    return _finish(_Then(work, finish), async_op)


class _Then:
    """A work handle that runs ``after()`` once, when first waited on."""

    def __init__(self, work, after):
        self._work, self._after = work, after

    def wait(self) -> bool:
        self._work.wait()
        if self._after is not None:
            after, self._after = self._after, None
            after()
        return True

    def is_completed(self) -> bool:
        return self._work.is_completed()


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank, in place."""
    world = _collective_group("broadcast", group)
    _check_rank("broadcast", src, world)
    array = _checked_array("broadcast", tensor, world)
    buffer = _contiguous(array)
    work = world.run("broadcast", _describe([buffer]), lambda: world.backend.broadcast(buffer, src))
    return _finish(_Then(work, lambda: _write_back(tensor, array, buffer)), async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor`` on every rank."""
    world = _collective_group("all_gather", group)
    array = _checked_array("all_gather", tensor, world)
    if len(tensor_list) != world.size:
        raise ValueError(f"all_gather(): tensor_list has {len(tensor_list)} tensors; the world has {world.size} ranks")
    for i, t in enumerate(tensor_list):
        out_array = _checked_array("all_gather", t, world)
        if out_array.shape != array.shape or out_array.dtype != array.dtype:
            raise ValueError(
                f"all_gather(): tensor_list[{i}] is {tuple(out_array.shape)} {t.dtype}; every entry must match the "
                f"input, {tuple(array.shape)} {tensor.dtype}"
            )
    xp = world.backend.device.xp
    gathered = xp.empty((world.size,) + array.shape, dtype=array.dtype)
    buffer = _contiguous(array)
    work = world.run("all_gather", _describe([buffer]), lambda: world.backend.all_gather(gathered, buffer))

    def scatter():
        for t, part in zip(tensor_list, gathered):
            t.array[...] = part
            t._version[0] += 1

    return _finish(_Then(work, scatter), async_op)


def barrier(group=None, async_op: bool = False):
    """Wait until every rank has reached this call."""
    world = _collective_group("barrier", group)

    def call():
        world.backend.barrier()
        return Done()

    return _finish(world.run("barrier", "no data", call), async_op)


# ------------------------------------------------------------------ object collectives (pickled, over MPI)
def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace the entries of ``object_list`` on every rank with rank ``src``'s (any picklable objects).

    Example:
        >>> config = [{"lr": 0.1}] if dist.get_rank() == 0 else [None]
        >>> dist.broadcast_object_list(config)        # config[0] == {"lr": 0.1} everywhere
    """
    world = _collective_group("broadcast_object_list", group)
    _check_rank("broadcast_object_list", src, world)
    mine = list(object_list) if world.rank == src else None
    result = _object_call(world, "broadcast_object_list", lambda: world.comm.bcast(mine, root=src))
    if len(result) != len(object_list):
        raise ValueError(
            f"broadcast_object_list(): rank {src} sent {len(result)} objects; this rank's list has {len(object_list)}"
        )
    object_list[:] = result


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list[r]`` with rank r's ``obj`` (any picklable object) on every rank."""
    world = _collective_group("all_gather_object", group)
    if len(object_list) != world.size:
        raise ValueError(
            f"all_gather_object(): object_list has {len(object_list)} entries; the world has {world.size} ranks"
        )
    object_list[:] = _object_call(world, "all_gather_object", lambda: world.comm.allgather(obj))


def _object_call(world: ProcessGroup, op: str, call):
    result = []

    def run():
        result.append(call())
        return Done()

    world.run(op, "pickled objects", run)
    return result[0]


# ------------------------------------------------------------------ helpers
def _reduce_op(op) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    raise TypeError(f"all_reduce(): op must be a gg.distributed.ReduceOp (SUM, AVG, PRODUCT, MAX, MIN), got {op!r}")


def _check_rank(op: str, src: int, world: ProcessGroup) -> None:
    if not 0 <= src < world.size:
        raise ValueError(f"{op}(): src={src} is not a rank of this world of {world.size}")


def _checked_array(op: str, tensor, world: ProcessGroup):
    """The tensor's array, after checking it is a Tensor on the device the backend communicates from."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}(): expected a gpugrad Tensor, got {type(tensor).__name__}")
    expected = world.backend.device
    if tensor.device != expected:
        raise RuntimeError(
            f"{op}(): the tensor is on {tensor.device} but the {world.backend.name} backend communicates "
            f"{expected} tensors; move it with .to('{expected}')"
            + (" or start the group with backend='nccl'" if tensor.device.type == "cuda" else "")
        )
    return tensor.array


def _contiguous(array):
    """``array`` itself when MPI/NCCL can use its memory, else a contiguous copy (written back after)."""
    return array if array.flags.c_contiguous else array.copy()


def _write_back(tensor: Tensor, array, buffer) -> None:
    if buffer is not array:
        array[...] = buffer
    tensor._version[0] += 1  # changed in place, as PyTorch's collectives do


def _describe(arrays: list) -> str:
    what = f"{sum(a.nbytes for a in arrays):,} bytes of {arrays[0].dtype}"
    return what + (f", shape {tuple(arrays[0].shape)}" if len(arrays) == 1 else f", {len(arrays)} tensors")


def _finish(work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None
