"""Tutorial: training LeNet-5 for a few steps, written exactly as for PyTorch; only the import differs.

Run it as a script (``python tests/tutorials/lenet_step.py``) or through
tests/tutorials/test_tutorials.py, which also runs it with ``import torch``
and compares the losses.
"""

import numpy as np

import gpugrad as torch
import gpugrad.nn as nn
import gpugrad.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)  # 1x28x28 -> 6x28x28
        self.conv2 = nn.Conv2d(6, 16, 5)  # 6x14x14 -> 16x10x10
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = torch.flatten(x, 1)  # all dimensions but the batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main(steps=5):
    rng = np.random.default_rng(0)
    net = LeNet()
    with torch.no_grad():  # the same starting weights whichever library runs this
        for p in net.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))
    images = torch.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))  # an MNIST-sized batch
    labels = torch.tensor(rng.integers(0, 10, 64))

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = criterion(net(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        print(f"step {step}: loss {loss.item():.4f}")
    return {"losses": losses, "conv1.weight": net.conv1.weight.detach().numpy(), "net": net}


if __name__ == "__main__":
    main()
