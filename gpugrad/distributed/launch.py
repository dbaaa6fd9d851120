"""The launcher: ``mpiexec -n N python -m gpugrad.distributed script.py args...``.

``mpiexec`` alone has two failure modes that cost whole nights of compute: a
rank that raises leaves the others spinning in a collective forever, and a
rank that leaves with ``os._exit(0)`` makes MPICH kill the others and report
success. So each rank runs as two processes:

* the **guard** (the process mpiexec started) forks before MPI starts and
  waits. The child tells it through a pipe when the script has finished; a
  child that exits without saying so (``os._exit``, a library calling
  ``exit()``, a signal) is reported with its rank, and the guard exits
  non-zero, which makes mpiexec end the job with a failure.
* the **rank** (the child) starts MPI, prefixes log records with its rank,
  runs the script as ``__main__``, and turns any uncaught exception (or a
  non-zero ``sys.exit``) into its traceback on stderr plus ``MPI_Abort``,
  which ends every rank within a fraction of a second.

Collective timeouts are the process group's (see ``init_process_group``).
Where ``os.fork`` is missing the rank runs in the guard's process, without
the early-exit check.
"""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .abort import abort_job, report_exception

_FINISHED = b"finished\n"


def find_mpiexec() -> str | None:
    """The ``mpiexec`` to start jobs with: the one beside this Python (pip's mpich puts it there), else PATH's."""
    beside_python = Path(sys.executable).parent / "mpiexec"
    return str(beside_python) if beside_python.exists() else shutil.which("mpiexec")


def run_job(script, args=(), ranks: int = 2, timeout: float = 600, env=None, cwd=None):
    """``mpiexec -n ranks python -m gpugrad.distributed script args...``, output captured, as a CompletedProcess.

    For tests and benchmarks: at the timeout the whole process group mpiexec leads (every rank) is
    killed and TimeoutError is raised with the output so far, so a hung job never outlives its caller.
    """
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise RuntimeError("no mpiexec beside Python or on PATH: pip install 'gpugrad[distributed]'")
    command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "gpugrad.distributed", str(script), *map(str, args)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise TimeoutError(f"{script} {' '.join(map(str, args))} ran over {timeout} s:\n{stdout}\n{stderr}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m gpugrad.distributed",
        description="Run a training script on every rank started by mpiexec; any rank failing ends the job.",
        epilog="example: mpiexec -n 2 python -m gpugrad.distributed examples/data_parallel.py --epochs 2",
    )
    parser.add_argument("--no-guard", action="store_true",
                        help="run the script in mpiexec's process, without the early-exit check")
    parser.add_argument("script", help="the Python file to run on every rank")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isfile(args.script):
        print(f"python -m gpugrad.distributed: no such script: {args.script}", file=sys.stderr)
        return 2
    if args.no_guard or not hasattr(os, "fork"):
        return run_rank(args.script, args.args, report=None)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the rank
        os.close(read_end)
        _die_with_parent()
        return run_rank(args.script, args.args, report=os.fdopen(write_end, "wb", buffering=0))
    os.close(write_end)
    return guard(pid, read_end, args.script)


# ------------------------------------------------------------------ the guard
def guard(pid: int, read_end: int, script: str) -> int:
    """Wait for the rank process; its exit status, or non-zero with a report when it left before finishing."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # mpiexec signals us; the rank must hear it
        signal.signal(sig, lambda signum, frame: os.kill(pid, signum))
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read()  # returns once the rank process has exited (its end closes)
    status = _wait(pid)
    code = os.waitstatus_to_exitcode(status)
    rank = said.split(b"\n", 1)[0].decode(errors="replace") or "rank ?"
    if code == 0 and said.endswith(_FINISHED):
        return 0
    if code == 0:
        why = f"exited with code 0 before {script} finished (os._exit() or exit() from native code?)"
        code = 1
    elif code < 0:
        why = f"was killed by {signal.Signals(-code).name}"
        code = 128 - code
    else:
        return code  # the rank reported its own failure (traceback, MPI_Abort)
    sys.stderr.write(f"[{rank}] gpugrad.distributed: {rank} {why}; ending the job with exit code {code}\n")
    sys.stderr.flush()
    return code


def _wait(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:  # a forwarded signal interrupted the wait
            continue


def _die_with_parent() -> None:
    """Linux: the rank is killed when its guard dies (mpiexec kills guards), so no rank is left orphaned."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the guard died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------ the rank
def run_rank(script: str, args: list, report) -> int:
    """Start MPI, run ``script`` as ``__main__``; abort the whole job if it fails."""
    from .mpi import import_mpi

    try:
        MPI = import_mpi()
    except RuntimeError as exc:
        print(f"python -m gpugrad.distributed: {exc}", file=sys.stderr)
        return 2
    rank, size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    where = f"rank {rank}"
    if report is not None:
        report.write(where.encode() + b"\n")
    _prefix_log_records(f"[{where}] ")
    sys.argv = [script] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            _abort(exc, where, size, exit_code=exc.code if isinstance(exc.code, int) else 1)
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt too: the other ranks must not wait
        _abort(exc, where, size)
    if report is not None:
        report.write(_FINISHED)
        report.close()
    return 0


def _abort(exc: BaseException, where: str, size: int, exit_code: int = 1) -> None:
    abort_job(
        report_exception(exc, f"[{where}]")
        + f"\n[{where}] gpugrad.distributed: the script failed on {where}; aborting all {size} ranks",
        code=exit_code,
    )


def _prefix_log_records(prefix: str) -> None:
    """Every ``logging`` record's message starts with the rank, whatever format the script configures."""
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = prefix + record.msg
        return record

    logging.setLogRecordFactory(factory)
