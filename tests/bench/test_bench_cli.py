"""Smoke tests of ``python -m gpugrad.bench``: run in-process at the test size, check the output and JSON.

The ``--tiny`` hook runs every suite at its smallest size with 2 samples, so
these tests take seconds; they check structure and arithmetic, never speed.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.bench import SUITES, main

# the distributed suite starts MPI jobs (PyTorch's among them): tests/bench/test_bench_distributed.py runs it alone
ALL = [name for name in SUITES if name != "distributed"]


@pytest.fixture(scope="module")
def full_tiny_run(tmp_path_factory):
    """Every suite once, at the test size, with --json and --plot; returns (exit code, stdout, json, png path)."""
    folder = tmp_path_factory.mktemp("bench")
    json_path, png_path = folder / "bench.json", folder / "bench.png"
    out = io.StringIO()
    code = main(ALL + ["--tiny", "--no-progress", "--json", str(json_path), "--plot", str(png_path)], out=out)
    return code, out.getvalue(), json.loads(json_path.read_text()), png_path


def test_exit_code_and_a_table_per_suite(full_tiny_run):
    code, text, _, _ = full_tiny_run
    assert code == 0
    for name in ALL:
        assert f"== {name}:" in text
    assert "CPU " in text and "NumPy" in text


def test_device_report_says_why_there_is_no_gpu(full_tiny_run):
    _, text, data, _ = full_tiny_run
    report = data["device_report"]
    assert report["cpu"]["cores"] >= 1 and report["numpy"]["version"] == np.__version__
    if gg.cuda.is_available():
        assert report["gpus"] and report["no_gpu"] is None
    else:
        assert report["gpus"] == []
        assert report["no_gpu"] == gg.cuda.unavailable_reason()
        assert f"no GPU: {gg.cuda.unavailable_reason()}" in text


def test_json_schema(full_tiny_run):
    _, _, data, _ = full_tiny_run
    assert data["schema"] == "gpugrad.bench/1"
    assert data["config"]["mode"] == "tiny" and "cpu" in data["config"]["devices"]
    assert set(data["suites"]) == set(ALL)
    for name, suite in data["suites"].items():
        assert suite["measurements"], name
        assert suite["unit"].startswith("seconds ")
        for m in suite["measurements"]:
            keys = {"case", "size", "device", "impl", "samples", "stats", "median", "ratios", "ratios_of_min", "error"}
            assert keys <= set(m)
            assert m["error"] is None, (name, m["impl"], m["error"])
            assert len(m["samples"]) == suite["repeat"] == 2
            assert m["median"] == pytest.approx(float(np.median(m["samples"])))
            assert m["stats"]["min"] <= m["stats"]["median"] <= m["stats"]["max"]


def test_ratios_are_gpugrad_median_over_baseline_median(full_tiny_run):
    _, _, data, _ = full_tiny_run
    checked = 0
    for suite in data["suites"].values():
        rows = suite["measurements"]
        for m in rows:
            if not m["impl"].startswith("gpugrad"):  # gpugrad and its variants (gpugrad-compiled) get ratios
                assert m["ratios"] == {}
                continue
            same = [o for o in rows if (o["case"], o["size"], o["device"]) == (m["case"], m["size"], m["device"])]
            numpy_row = next(o for o in same if o["impl"] in ("numpy", "cupy"))
            assert m["ratios"][numpy_row["impl"]] == pytest.approx(m["median"] / numpy_row["median"])
            checked += 1
    assert checked >= 16 + 2 + 6 + 3 + 1 + 1 + 5  # tiny, curvefit (eager, compiled), chain, elementwise, matmul, mlp,
    # tensor_ops


def test_torch_columns_when_torch_is_installed(full_tiny_run):
    pytest.importorskip("torch")
    _, text, data, _ = full_tiny_run
    impls = {m["impl"] for m in data["suites"]["mlp"]["measurements"]}
    assert {"gpugrad", "numpy", "torch", "torch-1t"} <= impls
    tiny_gg = [m for m in data["suites"]["tiny"]["measurements"] if m["impl"] == "gpugrad"]
    assert all("torch" in m["ratios"] for m in tiny_gg)
    assert "vs torch" in text


def test_metrics_and_results(full_tiny_run):
    _, _, data, _ = full_tiny_run
    for m in data["suites"]["matmul"]["measurements"]:
        assert m["metric"]["name"] == "GFLOP/s"
        assert m["metric"]["value"] == pytest.approx(2 * m["size"] ** 3 / m["median"] / 1e9)
    for m in data["suites"]["elementwise"]["measurements"]:
        assert m["metric"]["name"] == "GB/s" and m["metric"]["value"] > 0
    results = {m["impl"]: m["result"] for m in data["suites"]["curvefit"]["measurements"]}
    np.testing.assert_allclose(results["gpugrad"]["theta"], results["numpy"]["theta"], rtol=1e-10)
    mlp_gg = next(m for m in data["suites"]["mlp"]["measurements"] if m["impl"] == "gpugrad")
    assert mlp_gg["note"]  # says which gpugrad MLP variant ran


def test_plot_is_a_png(full_tiny_run):
    _, _, _, png_path = full_tiny_run
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_list_and_bad_arguments(capsys):
    assert main(["--list"]) == 0
    assert "curvefit" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["no-such-suite"])
    assert info.value.code == 2
    assert "unknown suite" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tiny", "--repeat", "0"])


def test_cuda_without_a_gpu_exits_with_the_reason(capsys):
    if gg.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["tiny", "--device", "cuda", "--tiny"]) == 2
    assert gg.cuda.unavailable_reason() in capsys.readouterr().err


def test_repeat_overrides_and_progress_bar_goes_to_stderr(capsys):
    out = io.StringIO()
    assert main(["matmul", "--tiny", "--repeat", "3", "--device", "cpu"], out=out) == 0
    assert "median of 3 samples" in out.getvalue()
    assert capsys.readouterr().out == ""  # the table went to `out`; the bar only ever writes to stderr


def test_module_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "gpugrad.bench", "--list"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "elementwise" in done.stdout


def test_threads_limits_torch_and_says_so():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    out = io.StringIO()
    try:
        assert main(["matmul", "--tiny", "--threads", "1", "--no-progress"], out=out) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert "--threads: PyTorch 1" in out.getvalue()
