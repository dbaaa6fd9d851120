"""A PyTorch-style script (ranking metrics, a masked attention step, a manual update) run unchanged twice:
with ``import torch`` and with ``import gpugrad as torch``. Every printed number must agree."""

from __future__ import annotations

import numpy as np
import pytest

SCRIPT = '''
import math
F = torch.nn.functional

logits = torch.tensor([[0.1, 2.0, -1.0, 0.5, 0.3], [1.5, 0.2, 0.1, -0.3, 0.9],
                       [0.0, -0.2, 2.2, 1.0, -1.5], [0.3, 0.8, 0.4, 1.9, 0.6]])
labels = torch.tensor([1, 4, 2, 0])
top2 = logits.topk(2, dim=1).indices
results["top2_hits"] = (top2 == labels.unsqueeze(1)).any(dim=1).float().mean()
results["ranks"] = logits.argsort(dim=1, descending=True)
results["sorted"] = torch.sort(logits, dim=0).values
probs = logits.softmax(dim=1)
results["cdf"] = probs.cumsum(dim=1)
results["picked"] = probs.gather(1, labels.unsqueeze(1)).squeeze(1)
results["onehot"] = torch.zeros(4, 5).scatter_(1, labels.unsqueeze(1), 1.0)
results["counts"] = torch.zeros(5).scatter_add(0, labels, torch.ones(4))
results["buckets"] = torch.arange(-5, 5) // 3
results["phase"] = torch.arange(-5, 5) % 3
results["wrapped"] = torch.fmod(torch.linspace(-4.0, 4.0, 9), 3.0)

q = torch.tensor([[0.2, -0.4, 0.6], [0.1, 0.5, -0.3], [-0.6, 0.2, 0.4], [0.3, 0.3, 0.3]], requires_grad=True)
k = torch.tensor([[0.5, 0.1, -0.2], [-0.1, 0.4, 0.2], [0.3, -0.5, 0.1], [0.2, 0.2, -0.4]], requires_grad=True)
causal = torch.ones(4, 4).tril() == 0
scores = torch.einsum("id,jd->ij", q, k) / math.sqrt(3)
weights = scores.masked_fill(causal, float("-inf")).softmax(dim=-1)
out = torch.einsum("ij,jd->id", weights, k.flip(0))
loss = F.smooth_l1_loss(out, torch.outer(torch.ones(4), torch.ones(3)) * 0.1, beta=0.05)
loss = loss + 0.01 * q.norm() + 0.01 * torch.linalg.matrix_norm(k, ord=1) + torch.diag(q @ k.T).sum() * 0.1
loss = loss + (k.repeat(2, 1).cumprod(dim=0)[-1] ** 2).sum() + (torch.triu(q @ q.T, 1) ** 2).sum() * 0.05
loss.backward()
results["loss"] = loss.detach()
with torch.no_grad():
    q.data.add_(q.grad, alpha=-0.5).clamp_(-0.5, 0.5)
    k.data.sub_(k.grad * 0.5).tanh_()
results["q"] = q.detach()
results["k"] = k.detach()
results["k_norms"] = k.norm(dim=1)
results["vector_inf"] = torch.linalg.vector_norm(q, ord=math.inf, dim=0)
'''


def run(torch_module) -> dict:
    results = {}
    exec(SCRIPT, {"torch": torch_module, "results": results})  # noqa: S102 - the script is this file's own text
    return results


def test_the_same_script_gives_the_same_numbers():
    torch = pytest.importorskip("torch")
    import gpugrad

    ours, theirs = run(gpugrad), run(torch)
    assert ours.keys() == theirs.keys()
    for name in theirs:
        expected = theirs[name].detach().numpy()
        got = ours[name].detach().numpy()
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_the_script_runs_without_torch():
    import gpugrad

    assert set(run(gpugrad)) >= {"loss", "q", "k"}
