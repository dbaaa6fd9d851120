"""Graph drawings: DOT structure (nodes, edges, labels) and, where Graphviz is installed, real SVG."""

from __future__ import annotations

import pathlib
import re
import runpy
import shutil
import sys

import pytest

import gpugrad as gg
import gpugrad.viz as viz

NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
EDGE = re.compile(r"^  (n\d+) -> (n\d+)( \[style=dashed, dir=none\])?;$")


def parse(dot: str):
    """(labels by id, styles by id, solid edges, dashed edges); fails on any line it does not expect."""
    lines = dot.splitlines()
    assert lines[0] == "digraph autograd {" and lines[-1] == "}"
    labels, styles, edges, dashed = {}, {}, [], []
    for line in lines[2:-1]:
        node, edge = NODE.match(line), EDGE.match(line)
        assert node or edge, f"unexpected DOT line: {line!r}"
        if node:
            assert node.group(1) not in labels, "node declared twice"
            labels[node.group(1)] = node.group(2).replace("\\n", "\n")
            styles[node.group(1)] = node.group(3)
        elif edge.group(3):
            dashed.append((edge.group(1), edge.group(2)))
        else:
            edges.append((edge.group(1), edge.group(2)))
    for a, b in edges + dashed:
        assert a in labels and b in labels, "edge to an undeclared node"
    return labels, styles, edges, dashed


def by_label(labels, edges):
    """Edges as (source label, target label)."""
    return sorted((labels[a], labels[b]) for a, b in edges)


def test_seed_graph_structure_and_labels():
    x = gg.tensor(1.0, requires_grad=True)
    w = gg.tensor(2.0, requires_grad=True)
    y = (x + w) * (w + 1)
    labels, styles, edges, dashed = parse(viz.to_dot(y, params={"x": x, "w": w, "y": y}))
    assert sorted(labels.values()) == [
        "AddBackward0\n() float32", "AddBackward0\n() float32", "MulBackward0\n() float32",
        "w\n() float32", "x\n() float32", "y\n() float32",
    ]
    node = {label.split("\n")[0]: n for n, label in labels.items()}
    assert "lightblue" in styles[node["x"]] and "lightblue" in styles[node["w"]]
    assert "darkolivegreen1" in styles[node["y"]] and "lightgrey" in styles[node["MulBackward0"]]
    # data flows leaves -> ops -> output: x -> (x + w), w -> both additions, additions -> mul -> y
    x_plus_w = next(target for source, target in edges if source == node["x"])
    w_plus_1 = next(target for source, target in edges if source == node["w"] and target != x_plus_w)
    assert sorted(edges) == sorted([
        (node["x"], x_plus_w), (node["w"], x_plus_w), (node["w"], w_plus_1),
        (x_plus_w, node["MulBackward0"]), (w_plus_1, node["MulBackward0"]), (node["MulBackward0"], node["y"]),
    ])
    assert dashed == []


def test_shapes_dtypes_and_tensor_names():
    a = gg.ones(2, 3, dtype=gg.float64, requires_grad=True)
    a.name = "a"
    m = gg.ones(3, dtype=gg.float64, requires_grad=True)
    out = (a * m).sum(dim=1)
    out.name = "out"
    labels, _, edges, _ = parse(viz.to_dot(out))
    assert "a\n(2, 3) float64" in labels.values()
    assert "(3,) float64" in labels.values()  # an unnamed leaf: shape and dtype only
    assert "out\n(2,) float64" in labels.values()
    assert any(label.startswith("MulBackward0\n(2, 3)") for label in labels.values())
    assert len(edges) == 4  # a, m -> Mul -> Sum -> out


def test_named_intermediate_labels_the_op_that_made_it():
    a = gg.tensor(2.0, requires_grad=True)
    b = 5 - 3 * a
    c = 2 * b + 3
    labels, _, edges, _ = parse(viz.to_dot(c, params={"a": a, "b": b, "c": c}))
    assert sum(label.endswith("\nb: () float32") for label in labels.values()) == 1  # 5 - 3a, named b
    assert "c\n() float32" in labels.values()  # the output carries its own name, its op does not
    assert not any(label.endswith("\nc: () float32") for label in labels.values())
    assert len(labels) == 6 and len(edges) == 5  # a -> Mul -> Sub -> Mul -> Add -> c


def test_show_saved_draws_saved_tensors_and_marks_freed_ones():
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = gg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = (x * w).sum()
    labels, styles, edges, dashed = parse(viz.to_dot(y, params={"x": x, "w": w}, show_saved=True))
    saved = sorted(label for label in labels.values() if label.startswith("saved"))
    assert saved == ["saved input 0: x\n(3,) float32", "saved input 1: w\n(3,) float32"]
    mul = next(node for node, label in labels.items() if label.startswith("MulBackward0"))
    assert sorted(target for _, target in dashed) == [mul, mul]
    assert all("orange" in styles[source] for source, _ in dashed)
    assert parse(viz.to_dot(y))[3] == []  # off by default

    y.backward()
    labels, _, _, dashed = parse(viz.to_dot(y, show_saved=True))
    assert dashed == []
    assert any("(saved values freed by backward)" in label for label in labels.values())


def test_saved_output_is_drawn():
    x = gg.tensor([0.0, 1.0], requires_grad=True)
    y = gg.exp(x)  # exp saves its output
    labels, _, _, dashed = parse(viz.to_dot(y, show_saved=True))
    assert "saved output\n(2,) float32" in labels.values() and len(dashed) == 1


def test_deep_chain_needs_no_recursion():
    x = gg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):  # deeper than Python's default recursion limit
        y = y * 1.0
    labels, _, edges, _ = parse(viz.to_dot(y))
    assert len(labels) == 3002 and len(edges) == 3001


def test_leaf_alone_and_several_outputs():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    labels, _, edges, _ = parse(viz.to_dot(x, params={"x": x}))
    assert list(labels.values()) == ["x\n(2,) float32"] and edges == []

    u, v = x * 2, x.sin()
    labels, _, edges, _ = parse(viz.to_dot([u, v], params={"x": x, "u": u, "v": v}))
    assert {label.split("\n")[0] for label in labels.values()} == {"x", "MulBackward0", "SinBackward0", "u", "v"}
    assert len(edges) == 4  # x is drawn once and feeds both ops


def test_grad_fn_node_is_accepted():
    x = gg.tensor(1.0, requires_grad=True)
    labels, _, edges, _ = parse(viz.to_dot((x * 3).grad_fn))
    assert len(labels) == 2 and len(edges) == 1


def test_labels_are_escaped():
    x = gg.tensor(1.0, requires_grad=True)
    dot = viz.to_dot(x * 2, params={'say "hi"\\': x})
    labels, _, _, _ = parse(dot)
    assert '\\"hi\\"\\\\' in dot
    assert len(labels) == 3


def test_objects_with_their_own_to_dot_are_drawn_by_it():
    class StaticGraph:
        def to_dot(self, **options):
            self.options = options
            return "digraph static {}\n"

    graph = StaticGraph()
    assert viz.to_dot(graph) == "digraph static {}\n" and graph.options == {}
    viz.to_dot(graph, show_saved=True)
    assert graph.options == {"show_saved": True}


def test_wrong_input_type_is_a_clear_error():
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.to_dot(3.0)


def test_render_dot_text_needs_no_graphviz(tmp_path):
    x = gg.tensor(1.0, requires_grad=True)
    path = viz.render(x * 2, tmp_path / "sub" / "graph", format="dot")
    assert path.endswith("graph.dot")
    parse(open(path, encoding="utf-8").read())


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    x = gg.tensor(1.0, requires_grad=True)
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz") as info:
        viz.render(x * 2, tmp_path / "g.svg")
    assert "brew install graphviz" in str(info.value)
    with pytest.raises(ValueError, match="format must be"):
        viz.render(x * 2, tmp_path / "g.gif", format="gif")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_with_graphviz(tmp_path, fmt):
    x = gg.tensor(1.0, requires_grad=True)
    w = gg.tensor(2.0, requires_grad=True)
    y = (x + w) * (w + 1)
    path = viz.render(y, tmp_path / "y", format=fmt, params={"x": x, "w": w})
    data = open(path, "rb").read()
    if fmt == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        text = data.decode()
        assert "<svg" in text and text.rstrip().endswith("</svg>")
        assert "MulBackward0" in text and ">x<" in text and ">w<" in text


def test_device_is_shown_off_the_cpu(device):
    x = gg.tensor([1.0], device=device, requires_grad=True)
    labels, _, _, _ = parse(viz.to_dot(x * 2, params={"x": x}))
    expected = "(1,) float32" if device.type == "cpu" else f"(1,) float32 {device}"
    assert f"x\n{expected}" in labels.values()


def test_seed_graph_example_prints_gradients_and_writes_drawings(tmp_path, monkeypatch, capsys):
    script = pathlib.Path(__file__).resolve().parents[1] / "examples" / "graphs.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    assert "dy/dw =        6" in printed  # (x + w)(w + 1) at x=1, w=2: 2w + x + 1
    assert "dg/da =     -432" in printed and "dg/do =       -1" in printed
    assert "dz/dc =        4" in printed and "dz/dd =        3" in printed
    for name in ("square_of_sums", "chain", "sum_of_products"):
        for suffix in ("", "_grad"):
            labels, _, edges, _ = parse((tmp_path / f"{name}{suffix}.dot").read_text())
            assert labels
    labels, _, _, _ = parse((tmp_path / "chain.dot").read_text())
    assert {"a\n() float32", "o\n() float32", "g\n() float32"} <= set(labels.values())
