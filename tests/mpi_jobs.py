"""Run a script on 2 MPI ranks under ``python -m gpugrad.distributed``, with a hard timeout.

A hung job is a failed test, never a stuck CI run: the whole process group
that mpiexec leads is killed at the timeout. Tests using MPI are marked
``needs_mpi`` and skip with the reason when mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpugrad.distributed import launch

REPO = Path(__file__).resolve().parents[1]
JOBS = Path(__file__).resolve().parent / "distributed" / "jobs"


def _missing() -> str:
    """Why MPI cannot run here ('' when it can)."""
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed: pip install 'gpugrad[distributed]'"
    if launch.find_mpiexec() is None:
        return "no mpiexec found beside Python or on PATH: pip install 'gpugrad[distributed]'"
    # mpi4py imports only with an MPI library to load; a subprocess, as importing it here would start MPI
    probe = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ['no message'])[-1]
        return f"mpi4py cannot start MPI ({last}): pip install 'gpugrad[distributed]'"
    return ""


MPI_MISSING = _missing()
needs_mpi = pytest.mark.skipif(bool(MPI_MISSING), reason=MPI_MISSING or "MPI available")


@dataclass
class Job:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_job(script, *args, ranks: int = 2, timeout: float = 60.0) -> Job:
    """``mpiexec -n ranks python -m gpugrad.distributed jobs/<script> args...``; fails the test if it hangs."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.monotonic()
    try:
        done = launch.run_job(JOBS / script, args, ranks=ranks, timeout=timeout, env=env, cwd=REPO)
    except TimeoutError as exc:
        pytest.fail(f"hung: {exc}")
    return Job(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def rank_results(script: str, out_dir: Path, ranks: int = 2, timeout: float = 60.0) -> list:
    """Run ``script OUT_DIR``, which must succeed; the JSON each rank wrote to ``out_dir/rank<r>.json``."""
    job = run_job(script, out_dir, ranks=ranks, timeout=timeout)
    assert job.returncode == 0, job.output
    return [json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(ranks)]


@pytest.fixture
def world_of_one():
    """A process group of one process in the test process (MPI as a singleton), destroyed after the test."""
    if MPI_MISSING:
        pytest.skip(MPI_MISSING)
    from gpugrad import distributed as dist

    dist.init_process_group("mpi", timeout=30)
    yield
    dist.destroy_process_group()
