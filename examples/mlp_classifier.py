"""Classify interleaved spirals with a small MLP, Adam and cross-entropy; checkpoint it and load it back.

    python examples/mlp_classifier.py                       # auto device, 2 spirals, plot + checkpoint in out/
    python examples/mlp_classifier.py --classes 3 --epochs 200 --device cpu --quiet

The data (``--points`` points split evenly over ``--classes`` spiral arms, a
fixed ``--seed``) are made in NumPy, shuffled and split 80/20 into train and
test sets. After training the script writes ``decision_boundary.png`` (the
model's predicted class over a grid, with the points on top) and
``checkpoint.ckpt`` (model and optimizer state, epoch, args) into ``--out``,
then builds a fresh model, loads the checkpoint with ``gg.load(...,
map_location=device)`` and checks that it scores exactly the same test accuracy.
With the defaults (2 spirals of 1.5 turns, 1000 points, 100 epochs of 13
batches) train and test accuracy reach 100 % in about 2 s on a 2-core CPU;
3 spirals reach about 98-99 % test accuracy in the same time.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

import gpugrad as gg

TEST_FRACTION = 0.2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (GPU when usable, else CPU), cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=64, help="width of each of the two hidden layers")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate (annealed to 0 by a cosine)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="seed for the data, the split, the init and the shuffles")
    parser.add_argument("--points", type=int, default=1000, help="number of points over all classes")
    parser.add_argument("--classes", type=int, default=2, help="number of spiral arms (2 or more)")
    parser.add_argument("--out", default="out/mlp_classifier", help="directory for the PNG and the checkpoint")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    args = parser.parse_args(argv)
    if args.classes < 2:
        parser.error(f"--classes must be at least 2, got {args.classes}")
    if args.points < 5 * args.classes:
        parser.error(f"--points must be at least 5 per class ({5 * args.classes}), got {args.points}")
    return args


def pick_device(name: str) -> gg.Device:
    """The requested device; "auto" falls back to the CPU with a one-line notice."""
    if name == "auto" and not gg.cuda.is_available():
        print(f"note: no usable GPU ({gg.cuda.unavailable_reason().split(';')[0]}); running on the CPU")
    return gg.device(name)


# ------------------------------------------------------------------ data
def make_spirals(points: int, classes: int, seed: int, turns: float = 1.5, noise: float = 0.04):
    """``classes`` interleaved spiral arms in the plane, as NumPy arrays (x float32 (N, 2), y int64 (N,)).

    Arm k at radius r in (0, 1] sits at angle 2π·(k/classes + turns·r); small
    Gaussian noise keeps the arms apart, so a good model can classify nearly every point.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(points) % classes
    radius = np.sqrt(rng.uniform(0.02, 1.0, points))  # sqrt: evenly spread over the area, not bunched at the centre
    angle = 2 * math.pi * (labels / classes + turns * radius)
    xy = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    xy += rng.normal(0.0, noise, xy.shape)
    return xy.astype(np.float32), labels.astype(np.int64)


def split(x: np.ndarray, y: np.ndarray, seed: int):
    """A shuffled train/test split, the last ``TEST_FRACTION`` of a seeded permutation for testing."""
    order = np.random.default_rng(seed + 1).permutation(len(y))
    n_test = max(1, int(round(TEST_FRACTION * len(y))))
    train, test = order[:-n_test], order[-n_test:]
    return (x[train], y[train]), (x[test], y[test])


# ----------------------------------------------------------------- model
def make_model(classes: int, hidden: int, device) -> gg.nn.Module:
    return gg.nn.Sequential(
        gg.nn.Linear(2, hidden, device=device),
        gg.nn.ReLU(),
        gg.nn.Linear(hidden, hidden, device=device),
        gg.nn.ReLU(),
        gg.nn.Linear(hidden, classes, device=device),
    )


def accuracy(model: gg.nn.Module, x: gg.Tensor, y: gg.Tensor) -> float:
    """The fraction of points whose highest-scoring class is the label, in eval mode without a tape."""
    model.eval()
    with gg.no_grad():
        predicted = model(x).argmax(dim=1)
        return (predicted == y).float().mean().item()


def predict_grid(model: gg.nn.Module, lo: np.ndarray, hi: np.ndarray, device, steps: int = 300):
    """The predicted class at each point of a ``steps`` x ``steps`` grid over [lo, hi] (NumPy arrays)."""
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    grid = gg.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=gg.float32, device=device)
    model.eval()
    with gg.no_grad():
        classes = model(grid).argmax(dim=1).cpu().numpy()
    return gx, gy, classes.reshape(gx.shape)


def progress(epochs: int, quiet: bool):
    """A tqdm bar when tqdm is installed and output is wanted, else a plain range."""
    if quiet:
        return None, range(epochs)
    try:
        from tqdm import tqdm
    except ImportError:
        return None, range(epochs)
    bar = tqdm(range(epochs), desc="training", unit="epoch", file=sys.stdout, mininterval=0.2)
    return bar, bar


# ----------------------------------------------------------------- train
def train(args) -> dict:
    device = pick_device(args.device)
    x, y = make_spirals(args.points, args.classes, args.seed)
    (x_train_np, y_train_np), (x_test_np, y_test_np) = split(x, y, args.seed)
    x_train, y_train = gg.tensor(x_train_np, device=device), gg.tensor(y_train_np, device=device)
    x_test, y_test = gg.tensor(x_test_np, device=device), gg.tensor(y_test_np, device=device)

    gg.manual_seed(args.seed)
    model = make_model(args.classes, args.hidden, device)
    optimizer = gg.optim.Adam(model.parameters(), lr=args.lr)
    # A cosine decay to 0 lets the last epochs settle instead of bouncing around the optimum.
    scheduler = gg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    shuffle = np.random.default_rng(args.seed + 2)  # the batch order, independent of the device's generator
    n = len(y_train_np)
    losses = []
    bar, epochs = progress(args.epochs, args.quiet)
    start = time.perf_counter()
    for epoch in epochs:
        model.train()
        order = gg.tensor(shuffle.permutation(n), device=device)
        epoch_loss = 0.0
        for first in range(0, n, args.batch_size):
            batch = order[first:first + args.batch_size]
            loss = gg.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss = epoch_loss + loss.detach() * len(batch)  # stays on the device: no sync per batch
        scheduler.step()
        losses.append(epoch_loss / n)
        if bar is not None and (epoch + 1) % 10 == 0:
            bar.set_postfix(loss=f"{losses[-1].item():.4f}")
    if device.type == "cuda":
        gg.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "device": device,
        "model": model,
        "optimizer": optimizer,
        "seconds": seconds,
        "losses": np.array([float(v.item()) for v in losses]),
        "train_accuracy": accuracy(model, x_train, y_train),
        "test_accuracy": accuracy(model, x_test, y_test),
        "data": {"x_train": x_train_np, "y_train": y_train_np, "x_test": x_test_np, "y_test": y_test_np},
        "test_tensors": (x_test, y_test),
    }


# ------------------------------------------------------------ checkpoint
def save_checkpoint(path: Path, model, optimizer, epoch: int, args) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gg.save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "args": dict(vars(args)),  # plain str/int/float/bool values
    }, path)


def load_checkpoint(path: Path, device):
    """A fresh model and optimizer, built from the checkpoint's args and filled with its state."""
    checkpoint = gg.load(path, map_location=device)
    saved = checkpoint["args"]
    model = make_model(saved["classes"], saved["hidden"], device)
    model.load_state_dict(checkpoint["model"])
    optimizer = gg.optim.Adam(model.parameters(), lr=saved["lr"])
    optimizer.load_state_dict(checkpoint["optimizer"])  # enough to resume training where it stopped
    return model, optimizer, checkpoint["epoch"]


# ------------------------------------------------------------------ plot
def save_plot(result: dict, classes: int, path: Path):
    """The predicted class regions over a grid, train points as dots and test points as crosses."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
    except ImportError:
        print("note: matplotlib is not installed, skipping the plot (pip install 'gpugrad[examples]')")
        return None
    data = result["data"]
    points = np.concatenate([data["x_train"], data["x_test"]])
    margin = 0.15
    lo, hi = points.min(axis=0) - margin, points.max(axis=0) + margin
    gx, gy, regions = predict_grid(result["model"], lo, hi, result["device"])
    colours = [plt.get_cmap("tab10")(k) for k in range(classes)]
    fig, ax = plt.subplots(figsize=(6, 6.6))
    ax.pcolormesh(gx, gy, regions, cmap=ListedColormap(colours), alpha=0.3, shading="auto",
                  vmin=-0.5, vmax=classes - 0.5)
    for k in range(classes):
        train, test = data["y_train"] == k, data["y_test"] == k
        ax.scatter(*data["x_train"][train].T, s=10, color=colours[k], edgecolors="k", linewidths=0.3,
                   label=f"class {k} (train)")
        ax.scatter(*data["x_test"][test].T, s=22, color=colours[k], marker="x", linewidths=1.2,
                   label=f"class {k} (test)")
    ax.set_aspect("equal")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), fontsize=8, ncol=classes)  # below: off the data
    ax.set_title(f"MLP decision regions: train {result['train_accuracy']:.1%}, test {result['test_accuracy']:.1%}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = train(args)
    out = Path(args.out)
    print(f"device: {result['device']}  epochs: {args.epochs}  time: {result['seconds']:.3f} s  "
          f"final loss: {result['losses'][-1]:.4f}")
    print(f"train accuracy: {result['train_accuracy']:.2%}   test accuracy: {result['test_accuracy']:.2%}")
    if not args.no_plot:
        path = save_plot(result, args.classes, out / "decision_boundary.png")
        if path is not None:
            print(f"wrote {path}")

    checkpoint = out / "checkpoint.ckpt"
    save_checkpoint(checkpoint, result["model"], result["optimizer"], args.epochs, args)
    print(f"wrote {checkpoint}")
    reloaded, _, epoch = load_checkpoint(checkpoint, result["device"])
    reloaded_accuracy = accuracy(reloaded, *result["test_tensors"])
    same = "identical" if reloaded_accuracy == result["test_accuracy"] else "DIFFERENT"
    print(f"test accuracy: trained model {result['test_accuracy']:.2%}, fresh model loaded from the checkpoint "
          f"(epoch {epoch}) {reloaded_accuracy:.2%} ({same})")
    result.update(checkpoint=checkpoint, reloaded_model=reloaded, reloaded_test_accuracy=reloaded_accuracy)
    return result


if __name__ == "__main__":
    main()
