"""The flagship demo reproduces the reference fit (computed independently with PyTorch and NumPy)."""

from __future__ import annotations

import numpy as np
import pytest


def test_reference_fit_on_cpu(tmp_path, capsys, example):
    demo = example("curve_fit")
    result = demo.main(["--device", "cpu", "--dtype", "float64", "--quiet", "--out", str(tmp_path)])
    np.testing.assert_allclose(result["theta"], [0.000427, 1.481929, 1.193100], atol=2e-6)
    assert result["loss"] == pytest.approx(1.69e-4, rel=5e-3)
    assert (tmp_path / "curve_fit.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "device: cpu" in out and "theta: [0.000427, 1.481929, 1.193100]" in out


def test_loss_decreases_in_float32_with_noise_and_snapshots(tmp_path, example):
    demo = example("curve_fit")
    result = demo.main([
        "--device", "cpu", "--dtype", "float32", "--noise", "0.1", "--epochs", "40", "--quiet",
        "--plot-every", "20", "--out", str(tmp_path),
    ])
    assert result["losses"][-1] < result["losses"][0]
    assert sorted(result["fits"]) == [1, 2, 10, 20, 40]
    assert len(list(tmp_path.glob("fit_epoch_*.png"))) == 5


def test_auto_device_falls_back_to_cpu_with_a_notice(capsys, example):
    import gpugrad as gg

    if gg.cuda.is_available():
        pytest.skip("a GPU is present")
    demo = example("curve_fit")
    demo.main(["--epochs", "2", "--quiet", "--no-plot"])
    assert "running on the CPU" in capsys.readouterr().out


def test_compiled_step_gives_the_same_fit(tmp_path, example):
    demo = example("curve_fit")
    eager = demo.main(["--device", "cpu", "--quiet", "--no-plot", "--epochs", "60"])
    compiled = demo.main(["--device", "cpu", "--quiet", "--no-plot", "--epochs", "60", "--compile"])
    np.testing.assert_allclose(compiled["theta"], eager["theta"], rtol=1e-12)
    np.testing.assert_allclose(compiled["losses"], eager["losses"], rtol=1e-12)
