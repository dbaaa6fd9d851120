"""Ending the whole job from one rank: a failing rank must not leave the others waiting in a collective forever.

Under plain ``mpiexec`` a rank that raises dies alone while the others spin
in their next collective; ``MPI_Abort`` ends every rank within a fraction of a
second. The launcher, the watchdog and the exception hook all end here.
"""

from __future__ import annotations

import os
import sys
import traceback

_previous_excepthook = None


def abort_job(message: str, code: int = 1, backend=None) -> None:
    """Print ``message`` to stderr and end every rank of the job now (``MPI_Abort``; NCCL's abort first)."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    if backend is not None:
        try:
            backend.abort()
        except Exception:  # noqa: BLE001 - aborting anyway
            pass
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.COMM_WORLD.Abort(code)
    os._exit(code)


def report_exception(exc: BaseException, where: str) -> str:
    """The traceback of ``exc``, each line prefixed with ``where`` ("[rank 1]"): ranks' output interleaves."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n").split("\n")
    return "\n".join(f"{where} {line}" for line in lines)


def install_abort_on_exception(rank: int, size: int) -> None:
    """Make an uncaught exception on this rank end every rank (for scripts started without the launcher)."""
    global _previous_excepthook
    if _previous_excepthook is not None:
        return
    _previous_excepthook = sys.excepthook

    def hook(exc_type, exc, tb):
        exc.__traceback__ = tb
        abort_job(
            report_exception(exc, f"[rank {rank}]")
            + f"\n[rank {rank}] gpugrad.distributed: uncaught exception; aborting all {size} ranks"
        )

    sys.excepthook = hook


def restore_excepthook() -> None:
    global _previous_excepthook
    if _previous_excepthook is not None:
        sys.excepthook = _previous_excepthook
        _previous_excepthook = None
