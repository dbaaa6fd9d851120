"""The data-parallel example learns on 2 MPI ranks and in one process, and reloads its checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from mpi_jobs import MPI_MISSING, needs_mpi, run_job

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@needs_mpi
def test_two_ranks_learn_and_reload_the_checkpoint(tmp_path):
    job = run_job(EXAMPLES / "data_parallel.py", "--epochs", "15", "--out", tmp_path, timeout=90)
    assert job.returncode == 0, job.output
    for rank in (0, 1):
        line = next(line for line in job.stderr.splitlines() if line.startswith(f"[rank {rank}] accuracy"))
        assert "2 ranks" in line and "reloaded identically: True" in line
        assert float(line.split()[3]) > 0.9


def test_one_process_runs_the_same_code(tmp_path, example):
    if MPI_MISSING:
        pytest.skip(MPI_MISSING)
    result = example("data_parallel").main(["--epochs", "15", "--out", str(tmp_path)])
    assert result["world"] == 1 and result["reloaded"]
    assert result["accuracy"] > 0.9 and result["losses"][-1] < result["losses"][0]
