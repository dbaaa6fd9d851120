"""Tutorial: a classifier trained from a DataLoader over a TensorDataset, written as for PyTorch.

Only the import differs from the PyTorch version (tests/tutorials/test_tutorials.py
runs both). The data: points in the plane, labelled by the sign of x * y.
"""

import numpy as np

import gpugrad as torch
import gpugrad.nn as nn
import gpugrad.nn.functional as F
from gpugrad.utils.data import DataLoader, TensorDataset, random_split


def main(epochs=15):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    points = torch.tensor(rng.uniform(-1, 1, (500, 2)).astype(np.float32))
    labels = (points[:, 0] * points[:, 1] > 0).long()

    dataset = TensorDataset(points, labels)
    train_set, test_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=64)

    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    seen = 0
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            seen += len(y)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x).argmax(dim=1) == y).sum().item()
        print(f"epoch {epoch}: loss {loss.item():.3f}, test accuracy {correct / len(test_set):.1%}")
    return {"accuracy": correct / len(test_set), "sizes": (len(train_set), len(test_set)),
            "batches": (len(train_loader), len(test_loader)), "seen": seen, "last_batch": len(y)}


if __name__ == "__main__":
    main()
