"""A two-layer net trained by hand through ``.data``, as PyTorch's early tutorials (and many scripts) do.

Unchanged but for the import: the updates are ``w.data -= lr * w.grad.data``, the gradients are
cleared with ``w.grad.data.zero_()``, and a weight is replaced once by assigning ``w.data = ...``.
"""

import gpugrad as torch

dtype = torch.float64
N, D_in, H, D_out = 16, 5, 8, 2
x = torch.linspace(-1, 1, N * D_in, dtype=dtype).reshape(N, D_in)
y = torch.cos(torch.arange(N * D_out, dtype=dtype)).reshape(N, D_out)

w1 = (torch.sin(torch.arange(D_in * H, dtype=dtype)) * 0.5).reshape(D_in, H).requires_grad_()
w2 = (torch.cos(torch.arange(H * D_out, dtype=dtype)) * 0.5).reshape(H, D_out).requires_grad_()

learning_rate = 1e-2
losses = []
for t in range(200):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()

    w1.data -= learning_rate * w1.grad.data
    w2.data.sub_(learning_rate * w2.grad.data)
    w1.grad.data.zero_()
    w2.grad.data.zero_()
    if t == 100:
        w2.data = w2.data * 0.5  # replace the values: the leaf keeps its identity and requires_grad

norms = [w1.data.pow(2).sum().sqrt().item(), w2.data.pow(2).sum().sqrt().item()]
print(f"loss {losses[0]:.6f} -> {losses[-1]:.6f}; weight norms {norms[0]:.6f} {norms[1]:.6f}")
