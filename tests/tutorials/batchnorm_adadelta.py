"""Tutorial: a small conv net with batch normalisation, trained by Adadelta as in PyTorch's MNIST example.

Written exactly as for PyTorch; only the import differs. The weights start from one NumPy stream,
so ``tests/tutorials/test_tutorials_conv_data.py`` can compare the losses with PyTorch's.
"""

import numpy as np

import gpugrad as torch
import gpugrad.nn as nn
import gpugrad.nn.functional as F
from gpugrad.optim.lr_scheduler import StepLR


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.ZeroPad2d(1),
            nn.Conv2d(1, 4, 3),
            nn.BatchNorm2d(4),
            nn.ELU(),
            nn.MaxPool2d(2),
        )
        self.heads = nn.ModuleDict({"hidden": nn.Linear(4 * 4 * 4, 16), "out": nn.Linear(16, 3)})
        self.norm = nn.BatchNorm1d(16)
        self.scale = nn.ParameterList([nn.Parameter(torch.ones(3))])

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        x = F.softplus(self.norm(self.heads["hidden"](x)))
        return F.log_softmax(self.heads["out"](x) * self.scale[0], dim=1)


def main(steps: int = 6):
    rng = np.random.default_rng(0)
    images = torch.tensor(rng.normal(size=(32, 1, 8, 8)), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 3, size=32))
    net = Net()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.tensor(rng.normal(scale=0.3, size=tuple(p.shape)), dtype=torch.float32))
    optimizer = torch.optim.Adadelta(net.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.7)
    losses = []
    net.train()
    for step in range(steps):
        optimizer.zero_grad()
        loss = F.nll_loss(net(images), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        print(f"step {step}: loss {loss.item():.4f}")
    net.eval()
    with torch.inference_mode():
        pred = net(images).argmax(dim=1, keepdim=True)
        correct = pred.eq(labels.view_as(pred)).sum().item()
        classes, counts = torch.unique(pred, return_counts=True)
    return {"losses": losses, "correct": correct, "counts": dict(zip(classes.tolist(), counts.tolist())),
            "running_var": net.features[2].running_var.numpy().copy(), "net": net}


if __name__ == "__main__":
    main()
