"""The spiral-classifier example learns, and its checkpoint brings back the same model and optimizer."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def as_numpy(state: dict) -> dict:
    return {name: tensor.cpu().numpy() for name, tensor in state.items()}


def test_short_run_learns_and_the_checkpoint_reloads_identically(tmp_path, capsys, example):
    demo = example("mlp_classifier")
    result = demo.main(["--device", "cpu", "--quiet", "--epochs", "20", "--points", "400", "--out", str(tmp_path)])
    # Chance is 50 %; 20 epochs on 320 training points reach about 85 %.
    assert result["train_accuracy"] > 0.7 and result["test_accuracy"] > 0.7
    assert result["losses"][-1] < result["losses"][0]
    assert result["reloaded_test_accuracy"] == result["test_accuracy"]

    trained = as_numpy(result["model"].state_dict())
    reloaded = as_numpy(result["reloaded_model"].state_dict())
    assert list(reloaded) == list(trained)
    for name in trained:
        np.testing.assert_array_equal(reloaded[name], trained[name], err_msg=name)

    assert (tmp_path / "checkpoint.ckpt").is_file()
    assert (tmp_path / "decision_boundary.png").stat().st_size > 20_000
    out = capsys.readouterr().out
    assert "device: cpu" in out and "(identical)" in out
    assert f"test accuracy: {result['test_accuracy']:.2%}" in out


def test_checkpoint_holds_plain_args_epoch_and_the_optimizer_state(tmp_path, example):
    demo = example("mlp_classifier")
    result = demo.main(["--device", "cpu", "--quiet", "--no-plot", "--epochs", "3", "--points", "200",
                        "--classes", "3", "--hidden", "16", "--out", str(tmp_path)])
    assert not (tmp_path / "decision_boundary.png").exists()

    checkpoint = gg.load(tmp_path / "checkpoint.ckpt", map_location="cpu")
    assert checkpoint["epoch"] == 3
    assert checkpoint["args"]["classes"] == 3 and checkpoint["args"]["hidden"] == 16
    assert checkpoint["args"]["batch_size"] == 64 and checkpoint["args"]["no_plot"] is True
    assert all(isinstance(v, (str, int, float, bool)) for v in checkpoint["args"].values())

    model, optimizer, epoch = demo.load_checkpoint(tmp_path / "checkpoint.ckpt", gg.device("cpu"))
    assert epoch == 3
    assert model(gg.zeros(5, 2)).shape == (5, 3)
    trained_state = result["optimizer"].state_dict()["state"]
    loaded_state = optimizer.state_dict()["state"]
    assert sorted(loaded_state) == sorted(trained_state) and len(loaded_state) == 6  # 3 layers x (weight, bias)
    for index, moments in trained_state.items():
        assert loaded_state[index]["step"] == moments["step"] == 3 * 3  # 3 epochs of 3 batches (160 points / 64)
        np.testing.assert_array_equal(loaded_state[index]["exp_avg"].numpy(), moments["exp_avg"].numpy())
        np.testing.assert_array_equal(loaded_state[index]["exp_avg_sq"].numpy(), moments["exp_avg_sq"].numpy())


def test_spirals_are_seeded_balanced_and_split_without_overlap(example):
    demo = example("mlp_classifier")
    x, y = demo.make_spirals(300, 3, seed=7)
    x_again, y_again = demo.make_spirals(300, 3, seed=7)
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(x, demo.make_spirals(300, 3, seed=8)[0])
    assert x.shape == (300, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 100, 100]

    (x_train, y_train), (x_test, y_test) = demo.split(x, y, seed=7)
    assert len(y_train) == 240 and len(y_test) == 60
    rows = {tuple(row) for row in x_train}
    assert not any(tuple(row) in rows for row in x_test)
    assert sorted(map(tuple, np.concatenate([x_train, x_test]))) == sorted(map(tuple, x))


def test_auto_device_falls_back_to_cpu_with_a_notice(tmp_path, capsys, example):
    if gg.cuda.is_available():
        pytest.skip("a GPU is present")
    demo = example("mlp_classifier")
    demo.main(["--epochs", "1", "--points", "100", "--quiet", "--no-plot", "--out", str(tmp_path)])
    assert "running on the CPU" in capsys.readouterr().out
