"""The curve-fit training step the graph tests compile, written once (eager; wrap it in gg.compile)."""

from __future__ import annotations

import gpugrad as gg


def curve_fit_step(n=64, dtype=gg.float64, momentum=0.0, device="cpu"):
    """``(theta, x, step)``: one SGD step of the flagship fit, ``y = 1.5 sin x + 1.2 cos(x/4)``."""
    x = gg.linspace(-10, 10, n, dtype=dtype).to(device)
    y = 1.5 * gg.sin(x) + 1.2 * gg.cos(x / 4)
    theta = gg.tensor([0.5, -0.3, 0.8], dtype=dtype).to(device).requires_grad_()
    opt = gg.optim.SGD([theta], lr=0.01, momentum=momentum)

    def step():
        pred = theta[0] * x + theta[1] * gg.sin(x) + theta[2] * gg.cos(x / 4)
        loss = gg.nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return theta, x, step
