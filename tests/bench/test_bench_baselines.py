"""The hand-written baselines compute what gpugrad and PyTorch compute; otherwise a ratio means nothing.

Gradients derived by hand (tiny ops, the curve fit, the MLP) are checked
against gpugrad's autograd, the Adam steps against each other and PyTorch's,
and the curve-fit loop against the reference values in issue 3.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.bench import chain, curvefit, mlp, tiny
from gpugrad.bench.common import Config, find_libraries


@pytest.mark.parametrize("name", list(tiny.OPS))
@pytest.mark.parametrize("shape", tiny.SHAPES)
def test_tiny_hand_gradients_match_autograd(name, shape):
    op, grads = tiny.OPS[name]
    a_np, b_np = (x.astype(np.float64) for x in tiny._inputs(shape))
    a, b = gg.tensor(a_np, requires_grad=True), gg.tensor(b_np, requires_grad=True)
    out = op(a, b)
    g_np = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(gg.tensor(g_np))
    ga, gb = grads(a_np, b_np, g_np, np)
    np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-12)
    if gb is None:
        assert b.grad is None
    else:
        np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-12)


def test_curvefit_numpy_loop_reaches_the_issue_reference():
    X, y = curvefit.data(1000)
    loss, theta = curvefit.train_numpy(np, X, y, np.array(curvefit.THETA0), 500)
    np.testing.assert_allclose(theta, [0.000427, 1.481929, 1.193100], atol=1e-6)
    final = ((theta[0] * X + theta[1] * np.sin(X) + theta[2] * np.cos(X / 4) - y) ** 2).mean()
    assert final == pytest.approx(1.69e-4, rel=0.01) and loss > final


def test_curvefit_autograd_loop_matches_the_numpy_loop():
    X_np, y_np = curvefit.data(200)
    theta = gg.tensor(curvefit.THETA0, dtype=gg.float64, requires_grad=True)
    loss = curvefit.train_autograd(gg, gg.tensor(X_np), gg.tensor(y_np), theta, 20)
    ref_loss, ref_theta = curvefit.train_numpy(np, X_np, y_np, np.array(curvefit.THETA0), 20)
    np.testing.assert_allclose(theta.detach().numpy(), ref_theta, rtol=1e-12)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-12)


def test_curvefit_same_code_on_torch():
    torch = pytest.importorskip("torch")
    X_np, y_np = curvefit.data(200)
    theta = torch.tensor(curvefit.THETA0, dtype=torch.float64, requires_grad=True)
    curvefit.train_autograd(torch, torch.tensor(X_np), torch.tensor(y_np), theta, 20)
    _, ref_theta = curvefit.train_numpy(np, X_np, y_np, np.array(curvefit.THETA0), 20)
    np.testing.assert_allclose(theta.detach().numpy(), ref_theta, rtol=1e-12)


def test_mlp_hand_gradients_match_autograd():
    sizes, size = mlp.TEST_SIZES, mlp.TEST_BATCH
    params_np = [p.astype(np.float64) for p in mlp.init_params(sizes)]
    x_np, _, one_hot_np = mlp.batch(sizes, size)
    x_np, one_hot_np = x_np.astype(np.float64), one_hot_np.astype(np.float64)
    loss_np, grads_np = mlp.raw_loss_and_grads(np, params_np, x_np, one_hot_np)
    params = [gg.tensor(p, requires_grad=True) for p in params_np]
    h = gg.tensor(x_np)
    for i in range(0, 6, 2):
        h = h @ params[i].T + params[i + 1]
        if i < 4:
            h = gg.relu(h)
    loss = mlp._own_cross_entropy(h, gg.tensor(one_hot_np))
    loss.backward()
    assert loss.item() == pytest.approx(loss_np, rel=1e-12)
    for p, g in zip(params, grads_np):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-9, atol=1e-12)


def _raw_params_after(steps: int) -> list:
    sizes, size = mlp.TEST_SIZES, mlp.TEST_BATCH
    params = mlp.init_params(sizes)
    x, _, one_hot = mlp.batch(sizes, size)
    adam = mlp.RawAdam(np, params)
    for _ in range(steps):
        adam.step(mlp.raw_loss_and_grads(np, params, x, one_hot)[1])
    return params


@pytest.mark.parametrize("use_nn", [False, True])
def test_mlp_gpugrad_steps_match_the_numpy_steps(use_nn):
    libs = find_libraries()
    forward, loss_fn, optimizer, x, described = mlp._gg_pieces("cpu", use_nn, mlp.TEST_SIZES, mlp.TEST_BATCH)
    if not use_nn:
        assert described == (
            "plain tensors (x @ W.T + b), own log_softmax cross-entropy, own Adam (gg ops under no_grad)"
        )
    for _ in range(3):
        mlp.gg_train_step(forward, loss_fn, optimizer, x)
    if hasattr(optimizer, "param_groups"):  # gg.optim.Adam
        params = [p for group in optimizer.param_groups for p in group["params"]]
    else:  # the bench's own GgAdam stand-in
        params = optimizer.params
    for p, ref in zip(params, _raw_params_after(3)):
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-4, atol=1e-6)
    assert mlp.build_gg("cpu", libs, use_nn=use_nn, sizes=mlp.TEST_SIZES, batch_size=mlp.TEST_BATCH).note


def test_mlp_torch_steps_match_the_numpy_steps():
    torch = pytest.importorskip("torch")
    sizes, size = mlp.TEST_SIZES, mlp.TEST_BATCH
    model = mlp.torch_model(torch, "cpu", sizes)
    optimizer = torch.optim.Adam(model.parameters(), lr=mlp.LR)
    x, targets, _ = mlp.batch(sizes, size)
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(targets)).backward()
        optimizer.step()
    for p, ref in zip(model.parameters(), _raw_params_after(3)):
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-4, atol=1e-6)


def test_chain_steps_compute_the_chain_gradient():
    libs = find_libraries()
    x = gg.tensor(1.0, dtype=gg.float64, requires_grad=True)
    for backward_only in (False, True):
        impl = chain._autograd_impl("gpugrad", x, "cpu", libs, 50, backward_only)
        seconds = impl.step()
        assert (seconds > 0) if backward_only else seconds is None
        assert x.grad is None  # the step resets it, as a loop must
    h = x
    for _ in range(50):
        h = h * chain.FACTOR
    h.backward()
    assert x.grad.item() == pytest.approx(chain.FACTOR**50, rel=1e-14)


def test_every_suite_builds_cases_for_each_device():
    from gpugrad.bench import SUITES

    libs = find_libraries()
    for suite in SUITES.values():
        cases = suite.cases(Config(mode="tiny"), ["cpu"], libs)
        assert cases, suite.name
        for case in cases:
            assert case.suite == suite.name
            names = [s.impl for s in case.specs]
            assert names[0] == "gpugrad" and "numpy" in names
