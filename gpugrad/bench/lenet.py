"""Suite ``lenet``: one training step of LeNet-5 on an MNIST-sized batch (64 x 1 x 28 x 28), float32, plain SGD.

LeNet-5 here is PyTorch's usual one: conv 1->6 (5x5, padding 2), ReLU, 2x2 max
pool, conv 6->16 (5x5), ReLU, 2x2 max pool, flatten, 400-120-84-10 with ReLUs.
A step is forward, cross-entropy, backward and an SGD update (lr 0.01).
Implementations:

* ``gpugrad``: ``gg.nn.Conv2d``/``MaxPool2d``/``Flatten``/``Linear`` in ``nn.Sequential``,
  ``F.cross_entropy``, ``gg.optim.SGD``: the script a PyTorch user writes.
* ``numpy`` (``cupy`` on a GPU): hand-written forward and backward: im2col by a strided
  view and one matmul per convolution, max pooling by a reshape.
* ``torch``: the same model in PyTorch with its default threads, and ``torch-1t`` with one (CPU only).

All start from the same weights (drawn once with NumPy, PyTorch's default ranges).
"""

from __future__ import annotations

import math

import numpy as np

import gpugrad as gg

from .common import Config, Suite, add_step_cases, impl_with_sync, to_raw, torch_impl, xp_for

BATCH, TEST_BATCH, LR = 64, 4, 0.01
# (name, weight shape) in the order of the layers; biases have the weight's first dimension
LAYERS = [("conv1", (6, 1, 5, 5)), ("conv2", (16, 6, 5, 5)), ("fc1", (120, 400)), ("fc2", (84, 120)),
          ("fc3", (10, 84))]


def init_params(seed: int = 0) -> list:
    """[w, b] per layer as float32 NumPy arrays, U(+-1/sqrt(fan_in)) as PyTorch's default initialisation."""
    rng = np.random.default_rng(seed)
    params = []
    for _, shape in LAYERS:
        bound = 1.0 / math.sqrt(int(np.prod(shape[1:])))
        params += [rng.uniform(-bound, bound, shape).astype(np.float32),
                   rng.uniform(-bound, bound, shape[0]).astype(np.float32)]
    return params


def batch(size: int = BATCH, seed: int = 1) -> tuple:
    """Random images (B, 1, 28, 28) float32 and labels (B,) int64."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((size, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, size).astype(np.int64)


def lenet(nn):
    """LeNet-5 from a PyTorch-like ``nn`` module (gpugrad's or torch's)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def _learnable(model) -> list:
    return [layer for layer in model if hasattr(layer, "weight")]


# ------------------------------------------------------------------ hand-written NumPy / CuPy
def _im2col(xp, x, k: int, pad: int):
    """Columns (C*k*k, N*oH*oW) of a stride-1 convolution's windows."""
    if pad:
        x = xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    s = x.strides
    windows = xp.lib.stride_tricks.as_strided(x, (c, k, k, n, oh, ow), (s[1], s[2], s[3], s[0], s[2], s[3]))
    return windows.reshape(c * k * k, n * oh * ow), (n, oh, ow)


def _col2im(xp, columns, x_shape, k: int, pad: int):
    n, c, h, w = x_shape
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    columns = columns.reshape(c, k, k, n, oh, ow)
    out = xp.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=columns.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + oh, j : j + ow] += columns[:, i, j].transpose(1, 0, 2, 3)
    return out[:, :, pad : pad + h, pad : pad + w]


def _conv(xp, x, w, b, pad):
    columns, (n, oh, ow) = _im2col(xp, x, w.shape[2], pad)
    out = (w.reshape(w.shape[0], -1) @ columns + b[:, None]).reshape(w.shape[0], n, oh, ow).transpose(1, 0, 2, 3)
    return xp.ascontiguousarray(out), columns


def _conv_backward(xp, gy, x_shape, w, columns, pad, need_input: bool):
    g = gy.transpose(1, 0, 2, 3).reshape(w.shape[0], -1)
    gw, gb = (g @ columns.T).reshape(w.shape), g.sum(axis=1)
    gx = _col2im(xp, w.reshape(w.shape[0], -1).T @ g, x_shape, w.shape[2], pad) if need_input else None
    return gx, gw, gb


def _pool(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    return out, r == out[:, :, :, None, :, None]


def raw_loss_and_grads(xp, params, x, labels):
    """Cross-entropy of LeNet-5 and the gradients of every parameter, derived by hand."""
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    z1, cols1 = _conv(xp, x, w1, b1, 2)
    p1, mask1 = _pool(xp.maximum(z1, 0))
    z2, cols2 = _conv(xp, p1, w2, b2, 0)
    p2, mask2 = _pool(xp.maximum(z2, 0))
    f = p2.reshape(len(x), -1)
    z3 = f @ w3.T + b3
    h3 = xp.maximum(z3, 0)
    z4 = h3 @ w4.T + b4
    h4 = xp.maximum(z4, 0)
    logits = h4 @ w5.T + b5
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = xp.exp(shifted)
    probs = exp / exp.sum(axis=1, keepdims=True)
    n = len(x)
    loss = -xp.log(probs[xp.arange(n), labels]).mean()
    d5 = probs
    d5[xp.arange(n), labels] -= 1
    d5 /= n
    d4 = (d5 @ w5) * (z4 > 0)
    d3 = (d4 @ w4) * (z3 > 0)
    df = (d3 @ w3).reshape(p2.shape)
    dz2 = (mask2 * df[:, :, :, None, :, None]).reshape(z2.shape) * (z2 > 0)
    dp1, gw2, gb2 = _conv_backward(xp, dz2, p1.shape, w2, cols2, 0, True)
    dz1 = (mask1 * dp1[:, :, :, None, :, None]).reshape(z1.shape) * (z1 > 0)
    _, gw1, gb1 = _conv_backward(xp, dz1, x.shape, w1, cols1, 2, False)
    grads = [gw1, gb1, gw2, gb2, d3.T @ f, d3.sum(0), d4.T @ h3, d4.sum(0), d5.T @ h4, d5.sum(0)]
    return loss, grads


def build_raw(device, libs, batch_size=BATCH):
    xp = xp_for(device, libs)
    params = [to_raw(p, device, libs) for p in init_params()]
    x_np, labels_np = batch(batch_size)
    x, labels = to_raw(x_np, device, libs), to_raw(labels_np, device, libs)

    def step():
        _, grads = raw_loss_and_grads(xp, params, x, labels)
        for p, g in zip(params, grads):
            p -= LR * g

    return impl_with_sync("raw", device, libs, step=step, note="hand-written forward, backward and SGD (im2col)")


# ------------------------------------------------------------------ gpugrad and PyTorch: one script, two libraries
def model_for(lib, device):
    """LeNet-5 in ``lib`` (gpugrad or torch) holding the shared initial weights, on ``device``."""
    model = lenet(lib.nn)
    arrays = init_params()
    with lib.no_grad():
        for i, layer in enumerate(_learnable(model)):
            layer.weight.copy_(lib.tensor(arrays[2 * i]))
            layer.bias.copy_(lib.tensor(arrays[2 * i + 1]))
    return model.to(device)


def training_step(lib, device, batch_size):
    """The step a PyTorch user writes, for ``lib`` = gpugrad or torch."""
    model = model_for(lib, device)
    optimizer = lib.optim.SGD(model.parameters(), lr=LR)
    x_np, labels_np = batch(batch_size)
    x, labels = lib.tensor(x_np, device=device), lib.tensor(labels_np, device=device)

    def step():
        optimizer.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()

    return step


def build_gg(device, libs, batch_size=BATCH):
    return impl_with_sync("gpugrad", device, libs, step=training_step(gg, device, batch_size),
                          note="gg.nn.Conv2d/MaxPool2d/Linear + gg.optim.SGD")


def build_torch(device, libs, threads: int | None = None, batch_size=BATCH):
    return torch_impl(device, libs, training_step(libs.torch, device, batch_size), threads)


def cases(config: Config, devices, libs) -> list:
    size = config.pick(BATCH, BATCH, TEST_BATCH)
    out = []
    add_step_cases(out, "lenet", f"LeNet-5, batch {size} x 1 x 28 x 28, SGD step", size,
                   (build_gg, build_raw, build_torch), devices, libs, config, batch_size=size)
    return out


SUITE = Suite(
    name="lenet",
    title="LeNet-5 training step (forward, backward, SGD), float32",
    cases=cases,
    repeat=lambda config: config.repeats(9, 5),
    unit="per step",
)
