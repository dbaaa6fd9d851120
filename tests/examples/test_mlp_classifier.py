"""The MLP example trains, checkpoints, and a fresh model loaded from the checkpoint scores the same."""

from __future__ import annotations

import numpy as np


def test_short_run_learns_and_the_checkpoint_reloads_identically(tmp_path, example):
    demo = example("mlp_classifier")
    result = demo.main(["--device", "cpu", "--epochs", "15", "--points", "400", "--quiet", "--out", str(tmp_path)])
    assert result["test_accuracy"] > 0.8  # chance is 0.5 on two spirals
    assert result["losses"][-1] < result["losses"][0]
    assert result["checkpoint"].exists() and (tmp_path / "decision_boundary.png").stat().st_size > 10_000
    assert result["reloaded_test_accuracy"] == result["test_accuracy"]
    trained = dict(result["model"].named_parameters())
    for name, p in result["reloaded_model"].named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), trained[name].detach().numpy())
