"""The lenet suite's three implementations compute the same step: hand-written gradients, gpugrad and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.bench import lenet


def test_hand_written_gradients_match_autograd():
    x_np, labels_np = lenet.batch(4)
    params = [p.astype(np.float64) for p in lenet.init_params()]
    loss, grads = lenet.raw_loss_and_grads(np, params, x_np.astype(np.float64), labels_np)
    model = lenet.model_for(gg, "cpu").to(gg.float64)
    ours = gg.nn.functional.cross_entropy(model(gg.tensor(x_np.astype(np.float64))), gg.tensor(labels_np))
    ours.backward()
    assert ours.item() == pytest.approx(float(loss), rel=1e-12)
    autograd = [p.grad.numpy() for layer in lenet._learnable(model) for p in (layer.weight, layer.bias)]
    for hand, auto in zip(grads, autograd):
        np.testing.assert_allclose(hand, auto, rtol=1e-9, atol=1e-12)


def test_gpugrad_and_torch_models_train_alike():
    torch = pytest.importorskip("torch")
    model, reference = lenet.model_for(gg, "cpu"), lenet.model_for(torch, "cpu")
    optimizer = gg.optim.SGD(model.parameters(), lr=lenet.LR)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=lenet.LR)
    x_np, labels_np = lenet.batch(4)
    runs = [(model, optimizer, gg.tensor(x_np), gg.tensor(labels_np), gg),
            (reference, reference_optimizer, torch.tensor(x_np), torch.tensor(labels_np), torch)]
    for _ in range(3):
        for net, opt, x, y, lib in runs:
            opt.zero_grad()
            lib.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    for mine, theirs in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_every_implementation_builds_and_steps():
    libs = type("Libs", (), {"torch": None, "cupy": None})()
    for build in (lenet.build_gg, lenet.build_raw):
        build("cpu", libs, batch_size=2).step()
