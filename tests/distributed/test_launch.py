"""The launcher: one rank failing, exiting early or skipping a collective ends the whole job, non-zero, quickly."""

from __future__ import annotations

import sys

import pytest
from mpi_jobs import needs_mpi, run_job

pytestmark = needs_mpi


def test_a_job_that_finishes_exits_zero_and_logs_carry_the_rank():
    job = run_job("failing_job.py", "ok", timeout=30)
    assert job.returncode == 0, job.output
    assert "INFO [rank 0] sum is 3.0" in job.output and "INFO [rank 1] sum is 3.0" in job.output
    assert "rank 0 finished" in job.stdout and "rank 1 finished" in job.stdout


def test_a_raising_rank_ends_the_job_within_seconds_with_its_traceback():
    job = run_job("failing_job.py", "raise", timeout=30)
    assert job.returncode != 0
    assert "[rank 1] ValueError: rank 1 cannot go on" in job.stderr
    assert "aborting all 2 ranks" in job.stderr
    assert job.seconds < 10  # rank 0 waits in an all_reduce with a 1 s timeout: the abort must come first


def test_a_rank_leaving_with_os_exit_0_is_reported_not_hidden():
    job = run_job("failing_job.py", "exit", timeout=30)
    assert job.returncode != 0
    assert "rank 1 exited with code 0 before" in job.stderr


def test_a_non_zero_sys_exit_ends_the_job_with_that_code():
    job = run_job("failing_job.py", "exitcode", timeout=30)
    assert job.returncode == 3, job.output
    assert "SystemExit: 3" in job.stderr


def test_a_skipped_collective_ends_the_job_within_the_timeout_naming_the_op():
    job = run_job("failing_job.py", "skip", timeout=30)
    assert job.returncode != 0, job.stderr
    assert "[rank 0] gpugrad.distributed: all_reduce #2 (4 bytes of float32, shape (1,)) did not complete" in job.stderr, job.stderr
    # 1 s collective timeout, checked ten times per timeout, plus two ranks' start-up (seconds on a loaded
    # 2-core machine, with no bytecode cache); a hang would run into the job's own 30 s limit instead
    assert job.seconds < 20, (job.seconds, job.stderr)


def test_the_launcher_says_when_the_script_is_missing(tmp_path):
    import subprocess

    done = subprocess.run([sys.executable, "-m", "gpugrad.distributed", str(tmp_path / "nope.py")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "no such script" in done.stderr


def test_a_hung_job_is_killed_at_the_timeout(tmp_path):
    from gpugrad.distributed import launch

    script = tmp_path / "sleepy.py"
    script.write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(TimeoutError, match="ran over 1.5 s"):
        launch.run_job(script, ranks=2, timeout=1.5)
