"""Fit y = θ0·x + θ1·sin(x) + θ2·cos(x/4) with MSE and SGD, on the GPU when there is one.

    python examples/curve_fit.py                  # auto device, 500 epochs, plots into out/curve_fit
    python examples/curve_fit.py --device cpu --dtype float64 --epochs 500 --quiet

The data come from y = 1.5·sin(x) + 1.2·cos(x/4) (plus optional noise), so the
fit should approach θ = [0, 1.5, 1.2]; with the reference settings (θ starting
at [0.5, -0.3, 0.8], N=1000, 500 epochs, float64, no noise) it ends near
[0.000427, 1.481929, 1.193100] with a loss of about 1.69e-4.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import gpugrad as gg

INITIAL_THETA = [0.5, -0.3, 0.8]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (GPU when usable, else CPU), cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--n", type=int, default=1000, help="number of points in [-10, 10]")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=0, help="seed for the noise")
    parser.add_argument("--noise", type=float, default=0.0, help="std of Gaussian noise added to y")
    parser.add_argument("--init", default="reference", choices=["reference", "random"],
                        help="θ start: the reference [0.5, -0.3, 0.8] or gg.randn(3) from --seed")
    parser.add_argument("--out", default="out/curve_fit", help="directory for the PNG plots")
    parser.add_argument("--plot-every", type=int, default=0, metavar="K",
                        help="also save a snapshot of the fit every K epochs (and after epochs 1, 2, 10)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG files")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    parser.add_argument("--compile", action="store_true",
                        help="trace the training step once with gg.compile and replay it (CPU only for now)")
    return parser.parse_args(argv)


def pick_device(name: str) -> gg.Device:
    """The requested device; "auto" falls back to the CPU with a one-line notice."""
    if name == "auto" and not gg.cuda.is_available():
        print(f"note: no usable GPU ({gg.cuda.unavailable_reason().split(';')[0]}); running on the CPU")
    return gg.device(name)


def make_data(n: int, noise: float, seed: int, dtype, device):
    x = gg.linspace(-10, 10, n, dtype=dtype, device=device)
    y = 1.5 * gg.sin(x) + 1.2 * gg.cos(x / 4)
    if noise > 0:
        rng = np.random.default_rng(seed)
        y = y + gg.tensor(rng.normal(0.0, noise, n), dtype=dtype, device=device)
    return x, y


def model(theta, x):
    return theta[0] * x + theta[1] * gg.sin(x) + theta[2] * gg.cos(x / 4)


def progress(epochs: int, quiet: bool):
    """A tqdm bar when tqdm is installed and output is wanted, else a plain range."""
    if quiet:
        return None, range(epochs)
    try:
        from tqdm import tqdm
    except ImportError:
        return None, range(epochs)
    bar = tqdm(range(epochs), desc="fitting", unit="epoch", file=sys.stdout, mininterval=0.2)
    return bar, bar


def train(args) -> dict:
    device = pick_device(args.device)
    dtype = gg.dtypes.to_dtype(args.dtype)
    x, y = make_data(args.n, args.noise, args.seed, dtype, device)
    if args.init == "reference":
        theta = gg.tensor(INITIAL_THETA, dtype=dtype, device=device, requires_grad=True)
    else:
        gg.manual_seed(args.seed)
        theta = gg.randn(3, dtype=dtype, device=device, requires_grad=True)
    loss_fn = gg.nn.MSELoss()
    optimizer = gg.optim.SGD([theta], lr=args.lr)
    snapshots = {1, 2, 10} if args.plot_every else set()
    losses, fits = [], {}
    bar, epochs = progress(args.epochs, args.quiet)
    start = time.perf_counter()

    def training_step():
        loss = loss_fn(model(theta, x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    step = gg.compile(training_step) if args.compile else training_step
    for epoch in epochs:
        loss = step()
        losses.append(loss.detach())  # kept on the device: no sync per epoch
        number = epoch + 1
        if number in snapshots or (args.plot_every and number % args.plot_every == 0):
            with gg.no_grad():
                fits[number] = model(theta, x).cpu().numpy()
        if bar is not None and number % 25 == 0:
            bar.set_postfix(loss=f"{losses[-1].item():.3e}")
    if device.type == "cuda":
        gg.cuda.synchronize()
    seconds = time.perf_counter() - start
    with gg.no_grad():
        final_loss = loss_fn(model(theta, x), y).item()  # at the final θ, after the last update
    return {
        "device": device,
        "theta": theta.detach().cpu().numpy(),
        "loss": final_loss,
        "losses": np.array([float(v.item()) for v in losses]),
        "seconds": seconds,
        "x": x.cpu().numpy(),
        "y": y.cpu().numpy(),
        "fits": fits,
    }


def save_plots(result: dict, out_dir: Path) -> list:
    """The data, the true and fitted curves, and the loss on a log scale; snapshots if any."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed, skipping plots (pip install 'gpugrad[examples]')")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y, theta = result["x"], result["y"], result["theta"]
    fitted = theta[0] * x + theta[1] * np.sin(x) + theta[2] * np.cos(x / 4)
    true = 1.5 * np.sin(x) + 1.2 * np.cos(x / 4)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.scatter(x, y, s=4, color="0.6", label="data")
    left.plot(x, true, "k--", lw=1, label="true curve")
    left.plot(x, fitted, "C3", lw=1.5, label="fit θ=[" + ", ".join(f"{v:.3f}" for v in theta) + "]")
    left.set_xlabel("x")
    left.legend(loc="upper left", fontsize=8)
    left.set_title(f"fit on {result['device']}")
    right.semilogy(np.arange(1, len(result["losses"]) + 1), result["losses"], "C0")
    right.set_xlabel("epoch")
    right.set_ylabel("MSE loss")
    right.set_title("loss")
    fig.tight_layout()
    paths = [out_dir / "curve_fit.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)
    for epoch, fit in sorted(result["fits"].items()):
        fig, ax = plt.subplots(figsize=(5.5, 4))
        ax.scatter(x, y, s=4, color="0.6")
        ax.plot(x, fit, "C3")
        ax.set_title(f"after epoch {epoch}")
        path = out_dir / f"fit_epoch_{epoch:05d}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = train(args)
    theta = ", ".join(f"{v:.6f}" for v in result["theta"])
    print(f"device: {result['device']}  epochs: {args.epochs}  time: {result['seconds']:.3f} s")
    print(f"final loss (at the final θ): {result['loss']:.6e}")
    print(f"theta: [{theta}]   (true: [0, 1.5, 1.2])")
    if not args.no_plot:
        for path in save_plots(result, Path(args.out)):
            print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
