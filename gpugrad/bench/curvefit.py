"""Suite ``curvefit``: the flagship training loop, 500 epochs of full-batch SGD on three parameters.

    X = linspace(-10, 10, N) (float64, N=1000);  y = 1.5 sin X + 1.2 cos(X/4)
    theta = [0.5, -0.3, 0.8];  yhat = theta0 X + theta1 sin X + theta2 cos(X/4)
    loss = ((yhat - y)**2).mean();  backward;  theta -= 0.01 theta.grad (under no_grad);  zero the grad

gpugrad and PyTorch run literally the same function (:func:`train_autograd`,
given ``gg`` or ``torch``); NumPy runs the same math with hand-derived
gradients, allocating freely as naive code does. One sample is one whole
training run from the same start; the final loss and theta go in the JSON
and the three are checked to agree.
"""

from __future__ import annotations

import numpy as np

import gpugrad as gg

from .common import Config, Suite, add_case, impl_with_sync, xp_for

THETA0 = [0.5, -0.3, 0.8]
LR = 0.01


def data(n: int) -> tuple:
    x = np.linspace(-10.0, 10.0, n)
    return x, 1.5 * np.sin(x) + 1.2 * np.cos(x / 4)


def train_autograd(lib, X, y, theta, epochs: int, lr: float = LR):
    """The eager loop, written once for any library with PyTorch's API (``gg`` or ``torch``)."""
    loss = None
    for _ in range(epochs):
        yhat = theta[0] * X + theta[1] * lib.sin(X) + theta[2] * lib.cos(X / 4)
        loss = ((yhat - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            theta.sub_(lr * theta.grad)
            theta.grad.zero_()
    return loss


def train_numpy(xp, X, y, theta, epochs: int, lr: float = LR):
    """The same loop with hand-derived gradients: d loss / d theta_k = mean(2 (yhat - y) feature_k)."""
    loss = None
    for _ in range(epochs):
        sin_x, cos_x4 = xp.sin(X), xp.cos(X / 4)
        yhat = theta[0] * X + theta[1] * sin_x + theta[2] * cos_x4
        residual = yhat - y
        loss = (residual**2).mean()
        g = 2.0 * residual / X.shape[0]
        grad = xp.stack([(g * X).sum(), (g * sin_x).sum(), (g * cos_x4).sum()])
        theta = theta - lr * grad
    return loss, theta


def _outcome(loss, theta) -> dict:
    """The final loss and theta as plain floats, for the JSON and the agreement check."""
    as_list = theta.tolist() if hasattr(theta, "tolist") else list(theta)
    return {"loss": float(loss), "theta": [float(v) for v in as_list]}


def _autograd_builder(impl_name: str):
    """A build(device, n, epochs, libs) running :func:`train_autograd` with gpugrad or PyTorch."""

    def build(device, n, epochs, libs):
        lib = gg if impl_name == "gpugrad" else libs.torch
        x_np, y_np = data(n)
        X, y = lib.tensor(x_np, device=device), lib.tensor(y_np, device=device)
        state = {}

        def step():
            theta = lib.tensor(THETA0, dtype=lib.float64, device=device, requires_grad=True)
            state["loss"] = train_autograd(lib, X, y, theta, epochs)
            state["theta"] = theta

        def result():
            return _outcome(state["loss"].item(), state["theta"].detach().cpu().numpy())

        return impl_with_sync(impl_name, device, libs, step=step, result=result)

    return build


def _build_gg_compiled(device, n, epochs, libs):
    """The same epoch, traced once by ``gg.compile`` and replayed; theta is reset in place per sample,
    so every sample after the first replays the one trace (its cost is in ``python -m gpugrad.graph.bench``)."""
    x_np, y_np = data(n)
    X, y = gg.tensor(x_np, device=device), gg.tensor(y_np, device=device)
    theta = gg.tensor(THETA0, dtype=gg.float64, device=device, requires_grad=True)
    start = gg.tensor(THETA0, dtype=gg.float64, device=device)
    epoch = gg.compile(lambda: train_autograd(gg, X, y, theta, 1))
    state = {}

    def step():
        with gg.no_grad():
            theta.copy_(start)
        for _ in range(epochs):
            state["loss"] = epoch()

    def result():
        return _outcome(state["loss"].item(), theta.detach().cpu().numpy())

    return impl_with_sync("gpugrad", device, libs, step=step, result=result)


def _build_raw(device, n, epochs, libs):
    xp = xp_for(device, libs)
    x_np, y_np = data(n)
    X, y = xp.asarray(x_np), xp.asarray(y_np)
    state = {}

    def step():
        state["loss"], state["theta"] = train_numpy(xp, X, y, xp.asarray(THETA0, dtype=xp.float64), epochs)

    def result():
        theta = state["theta"]
        return _outcome(float(state["loss"]), theta.get() if hasattr(theta, "get") else theta)

    return impl_with_sync("raw", device, libs, step=step, result=result)


# The implementations in table order; each a build(device, n, epochs, libs) returning an Impl, and
# every gpugrad row gets ratios against numpy and torch. The preallocated and hoisted NumPy loops of
# the static-graph issue are in gpugrad/graph/bench.py.
BUILDERS = {
    "gpugrad": _autograd_builder("gpugrad"),
    "gpugrad-compiled": _build_gg_compiled,
    "raw": _build_raw,
    "torch": _autograd_builder("torch"),
}


def settings(config: Config) -> tuple:
    """(N, epochs): the issue's 1000 points and 500 epochs, smaller only for the test hook."""
    return config.pick((1000, 500), (1000, 500), (100, 5))


def cases(config: Config, devices, libs) -> list:
    n, epochs = settings(config)
    builders = {name: _with(build, n, epochs, libs) for name, build in BUILDERS.items()}
    out = []
    add_case(out, "curvefit", f"N={n}, {epochs} epochs", n, builders, devices, libs, number=1)
    return out


def _with(build, n, epochs, libs):
    return lambda device: build(device, n, epochs, libs)


def summarize(measurements, config) -> list:
    """Check the implementations agree, and issue 2's target (at most 0.6x PyTorch's time)."""
    lines = []
    done = [m for m in measurements if m.ok and m.result]
    reference = next((m for m in done if m.impl in ("numpy", "cupy")), None)
    if reference is not None:
        for m in done:
            if m is not reference:
                diff = max(abs(a - b) for a, b in zip(m.result["theta"], reference.result["theta"]))
                lines.append(
                    f"{m.impl} on {m.device}: final loss {m.result['loss']:.6g}, "
                    f"max |theta - numpy theta| = {diff:.1e}" + (" (DISAGREES)" if diff > 1e-6 else "")
                )
        lines.append(f"numpy: final loss {reference.result['loss']:.6g}, theta {_short(reference.result['theta'])}")
    for m in measurements:
        if m.impl == "gpugrad" and "torch" in m.ratios:
            verdict = "met" if m.ratios["torch"] <= 0.6 else "not met"
            lines.append(f"target <= 0.6x torch ({m.device}): {m.ratios['torch']:.2f}x, {verdict}")
    return lines


def _short(values) -> str:
    return "[" + ", ".join(f"{v:.6f}" for v in values) + "]"


SUITE = Suite(
    name="curvefit",
    title="curve-fit training loop (float64, manual SGD)",
    cases=cases,
    repeat=lambda config: config.repeats(7, 3),
    unit="per run",
    summarize=summarize,
)
