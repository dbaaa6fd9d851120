"""The MPI backend: collectives on host (NumPy) arrays over an mpi4py communicator.

mpi4py is imported only here and only when a process group starts, because
importing it starts MPI. Blocking MPI calls release the GIL, so the watchdog
thread can end a job whose collective never completes.
"""

from __future__ import annotations

from ..device import cpu

INSTALL_HINT = "pip install 'gpugrad[distributed]' (mpi4py and the MPICH library, no root needed)"

_MPI_OPS = {"sum": "SUM", "max": "MAX", "min": "MIN", "product": "PROD"}


def import_mpi():
    """mpi4py's ``MPI`` module (MPI is initialised on first import), or a RuntimeError saying how to install it."""
    try:
        from mpi4py import MPI
    except Exception as exc:  # noqa: BLE001 - ImportError, or RuntimeError when mpi4py finds no libmpi
        raise RuntimeError(
            f"gpugrad.distributed needs mpi4py and an MPI library ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
        ) from None
    return MPI


class Done:
    """The handle of a collective that has already completed (MPI's calls here block)."""

    def wait(self) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


class MPIBackend:
    """Collectives on contiguous NumPy arrays, in place, over ``comm`` (an ``MPI.Comm``).

    Every method is a blocking MPI call; ``all_reduce`` takes a list of arrays
    (one MPI call each) so that the NCCL backend can group them.
    """

    name = "mpi"

    def __init__(self, MPI, comm):
        self.MPI, self.comm = MPI, comm
        self.device = cpu()

    def all_reduce(self, arrays: list, op: str) -> Done:
        mpi_op = getattr(self.MPI, _MPI_OPS[op])
        for array in arrays:
            self.comm.Allreduce(self.MPI.IN_PLACE, array, op=mpi_op)
        return Done()

    def broadcast(self, array, src: int) -> Done:
        self.comm.Bcast(array, root=src)
        return Done()

    def all_gather(self, out, array) -> Done:
        """Fill ``out`` (shape ``(world_size, *array.shape)``) with every rank's ``array``."""
        self.comm.Allgather(array, out)
        return Done()

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self) -> None:
        """Nothing to cancel beyond MPI's own abort, which the process group calls next."""
