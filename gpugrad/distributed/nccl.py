"""The NCCL backend: collectives on CUDA arrays through CuPy's ``cupy.cuda.nccl``.

MPI bootstraps it: rank 0 makes NCCL's unique id and broadcasts it over the
MPI communicator; every process then opens one NCCL communicator on its
local GPU (``cuda:<local rank>``). Collectives run on a communication stream
of their own, fenced against the compute stream with events both ways, so
gradient buckets can be reduced while backward keeps computing. A list of
arrays is reduced inside one ``groupStart``/``groupEnd`` (one launch for
several buckets). On timeout the watchdog calls ``abort()``, which runs
``ncclCommAbort`` so a stuck kernel does not hold the GPU.
"""

from __future__ import annotations

from ..backends import cupy_import
from ..device import device as to_device

_NCCL_DTYPES = {
    "float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
    "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "int64": "NCCL_INT64",
}
_NCCL_OPS = {"sum": "NCCL_SUM", "product": "NCCL_PROD", "max": "NCCL_MAX", "min": "NCCL_MIN"}


def nccl_dtype(nccl, dtype) -> int:
    """NCCL's code for a NumPy/CuPy dtype, or a TypeError listing those NCCL takes."""
    name = getattr(dtype, "name", str(dtype))
    if name not in _NCCL_DTYPES:
        raise TypeError(f"NCCL collectives take {', '.join(_NCCL_DTYPES)} arrays, not {name}")
    return getattr(nccl, _NCCL_DTYPES[name])


class EventWork:
    """A queued collective: ``wait()`` makes the device's current stream wait for it (no host sync)."""

    def __init__(self, cupy, event, device_index: int):
        self._cupy, self.event, self._index = cupy, event, device_index

    def wait(self) -> bool:
        with self._cupy.cuda.Device(self._index):
            self._cupy.cuda.get_current_stream().wait_event(self.event)
        return True

    def is_completed(self) -> bool:
        return bool(self.event.done)


def nccl_available() -> bool:
    """Whether CuPy was built with NCCL and its library loads (``cupy.cuda.nccl.available``)."""
    try:
        from cupy.cuda import nccl
    except Exception:  # noqa: BLE001 - no CuPy, a CuPy without NCCL, a library that fails to load
        return False
    return bool(getattr(nccl, "available", False))


class NCCLBackend:
    """One NCCL communicator per process, on the GPU of its local rank.

    Args:
        mpi_comm: the MPI communicator (its rank 0 makes the unique id and broadcasts it).
        local_rank: this process's rank on its node, which picks its GPU.
        cupy: the CuPy module (tests pass a stand-in).
    """

    name = "nccl"

    def __init__(self, mpi_comm, local_rank: int, cupy=None):
        cupy = cupy or cupy_import.cupy
        if cupy is None or not _device_count(cupy):
            raise RuntimeError(
                f"init_process_group('nccl'): no usable CUDA device ({cupy_import.reason() or 'CuPy reports none'}); "
                "use backend='mpi' for CPU processes"
            )
        self._cupy, self._nccl = cupy, cupy.cuda.nccl
        index = self.device_index = local_rank % _device_count(cupy)
        rank, size = mpi_comm.Get_rank(), mpi_comm.Get_size()
        unique_id = self._nccl.get_unique_id() if rank == 0 else None
        unique_id = mpi_comm.bcast(unique_id, root=0)
        with cupy.cuda.Device(index):
            self.comm = self._nccl.NcclCommunicator(size, unique_id, rank)
            self.stream = cupy.cuda.Stream(non_blocking=True)
        self._mpi_comm = mpi_comm

    @property
    def device(self):
        """``cuda:<index>``, the GPU this process communicates from."""
        return to_device(f"cuda:{self.device_index}")

    def _launch(self, enqueue) -> EventWork:
        """Run ``enqueue(stream_ptr)`` on the communication stream after the compute stream's queued work."""
        cuda = self._cupy.cuda
        with cuda.Device(self.device_index):  # the compute stream of this rank's GPU, whichever is current
            ready = cuda.Event(disable_timing=True)
            ready.record(cuda.get_current_stream())
            self.stream.wait_event(ready)
            enqueue(self.stream.ptr)
            done = cuda.Event(disable_timing=True)
            done.record(self.stream)
        return EventWork(self._cupy, done, self.device_index)

    def all_reduce(self, arrays: list, op: str) -> EventWork:
        nccl, code = self._nccl, getattr(self._nccl, _NCCL_OPS[op])

        def enqueue(stream):
            nccl.groupStart()
            try:
                for a in arrays:
                    self.comm.allReduce(a.data.ptr, a.data.ptr, a.size, nccl_dtype(nccl, a.dtype), code, stream)
            finally:
                nccl.groupEnd()

        return self._launch(enqueue)

    def broadcast(self, array, src: int) -> EventWork:
        dtype = nccl_dtype(self._nccl, array.dtype)
        return self._launch(lambda stream: self.comm.bcast(array.data.ptr, array.size, dtype, src, stream))

    def all_gather(self, out, array) -> EventWork:
        dtype = nccl_dtype(self._nccl, array.dtype)
        return self._launch(lambda stream: self.comm.allGather(array.data.ptr, out.data.ptr, array.size, dtype, stream))

    def barrier(self) -> None:
        self.stream.synchronize()
        self._mpi_comm.Barrier()

    def abort(self) -> None:
        self.comm.abort()


def _device_count(cupy) -> int:
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no driver
        return 0
