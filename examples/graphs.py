"""The seed graphs, drawn next to their gradients.

Builds the three small programs autograd is usually taught with, prints every
value with its gradient, and writes two drawings per program into ``--out``:
``<name>.dot/.svg`` (the forward graph) and ``<name>_grad.dot/.svg`` (the graph
of the gradients themselves, recorded with ``create_graph=True``). SVGs need
Graphviz's ``dot`` (``apt-get install graphviz`` / ``brew install graphviz``);
the DOT files are always written.

    python examples/graphs.py                     # writes out/graphs/*.dot (and *.svg)
    python examples/graphs.py --out /tmp/g --device cuda
"""

from __future__ import annotations

import argparse
import shutil

import gpugrad as gg
from gpugrad import viz


def square_of_sums(device):
    """y = (x + w) * (w + 1): w is used twice, so its gradient adds two paths."""
    x = gg.tensor(1.0, device=device, requires_grad=True)
    w = gg.tensor(2.0, device=device, requires_grad=True)
    a = x + w
    b = w + 1
    y = a * b
    return y, {"x": x, "w": w}, {"a": a, "b": b}


def chain(device):
    """The a..g chain: a = 2, o = 1, b = 5 - 3a, ..., g = 3f - o."""
    a = gg.tensor(2.0, device=device, requires_grad=True)
    o = gg.tensor(1.0, device=device, requires_grad=True)
    b = 5 - 3 * a
    c = 2 * b + 3
    d = 5 * b + 6
    e = 7 * c + d**2
    f = 2 * e
    g = 3 * f - o
    return g, {"a": a, "o": o}, {"b": b, "c": c, "d": d, "e": e, "f": f}


def sum_of_products(device):
    """z = (a + b) + (c * d): the program static graphs are usually shown with."""
    a, b, c, d = (gg.tensor(v, device=device, requires_grad=True) for v in (1.0, 2.0, 3.0, 4.0))
    z = (a + b) + (c * d)
    return z, {"a": a, "b": b, "c": c, "d": d}, {}


PROGRAMS = {"square_of_sums": (square_of_sums, "y"), "chain": (chain, "g"), "sum_of_products": (sum_of_products, "z")}


def draw(name: str, out_name: str, device, folder: str, svg: bool) -> None:
    output, leaves, intermediates = PROGRAMS[name][0](device)
    named = {**leaves, **intermediates}
    # the gradients of the output with respect to every named tensor, themselves differentiable
    grads = gg.autograd.grad(output, list(named.values()), create_graph=True)

    print(f"\n{name}: {out_name} = {output.item():g}")
    for (label, t), grad in zip(named.items(), grads):
        kind = "leaf" if t.is_leaf else "    "
        print(f"  {kind} {label:>2} = {t.item():>6g}   d{out_name}/d{label} = {grad.item():>8g}")

    leaf_grads = {f"d{out_name}/d{label}": g for label, g in zip(leaves, grads)}
    drawings = {
        name: (output, {**named, out_name: output}),
        f"{name}_grad": (list(leaf_grads.values()), {**leaves, **leaf_grads}),
    }
    for file_name, (what, params) in drawings.items():
        written = [viz.render(what, f"{folder}/{file_name}.dot", format="dot", params=params)]
        if svg:
            written.append(viz.render(what, f"{folder}/{file_name}.svg", format="svg", params=params))
        print("  wrote " + ", ".join(written))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/graphs", help="folder for the .dot/.svg files (default out/graphs)")
    parser.add_argument("--device", default="cpu", help='"cpu", "cuda" or "auto"')
    args = parser.parse_args()
    device = gg.device(args.device)
    svg = shutil.which("dot") is not None
    if not svg:
        print("Graphviz `dot` not found: writing .dot files only (apt-get install graphviz / brew install graphviz)")
    for name, (_, out_name) in PROGRAMS.items():
        draw(name, out_name, device, args.out, svg)


if __name__ == "__main__":
    main()
