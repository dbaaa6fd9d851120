"""Draw the autograd graph: Graphviz DOT text, and SVG/PNG files when Graphviz is installed.

    >>> x = gg.tensor(1.0, requires_grad=True); w = gg.tensor(2.0, requires_grad=True)
    >>> y = (x + w) * (w + 1)
    >>> print(gg.viz.to_dot(y, params={"x": x, "w": w}))
    digraph autograd { ... }
    >>> gg.viz.render(y, "y.svg", params={"x": x, "w": w})    # needs the `dot` program

The drawing follows the classic autograd pictures (torchviz, DeZero): leaf
tensors (light blue ellipses) feed op nodes named like their ``grad_fn``
(``MulBackward0``, grey boxes) which feed the output tensor (green); arrows
point the way data flows in forward. Ops that ``grad_fn`` does not hold,
such as the constant ``1`` in ``w + 1``, and tensors that do not require
grad, are not part of the graph and so are not drawn.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .autograd.node import AccumulateGrad, Node
from .tensor import Tensor

__all__ = ["GraphvizNotFoundError", "render", "to_dot"]

_STYLE = {
    "leaf": 'shape=ellipse, fillcolor="lightblue"',
    "op": 'shape=box, fillcolor="lightgrey"',
    "output": 'shape=ellipse, fillcolor="darkolivegreen1"',
    "saved": 'shape=box, fillcolor="orange", fontsize=9',
}


class GraphvizNotFoundError(RuntimeError):
    """Raised by ``render`` when Graphviz's ``dot`` program is not on the PATH."""


def to_dot(tensor_or_graph, params=None, show_saved: bool = False) -> str:
    """The graph that produced a tensor, as Graphviz DOT text (no Graphviz needed).

    Args:
        tensor_or_graph: a Tensor, a list/tuple of Tensors (one drawing), a ``grad_fn``
            node, or any object with a ``to_dot()`` method (such as a static graph),
            whose own drawing is returned.
        params: ``{name: tensor}`` labels for leaves, outputs or intermediate results
            (an intermediate's name labels the op that produced it). ``tensor.name``
            is used for tensors not in ``params``.
        show_saved: also draw what each op saved for backward (orange, dashed), with
            shapes and dtypes, and mark ops whose saved values were freed by backward.

    Returns:
        The DOT source, ``digraph autograd { ... }``; node ids are ``n0, n1, ...`` in
        the order a walk from the output meets them.

    Example:
        >>> a = gg.tensor([1.0, 2.0], requires_grad=True)
        >>> print(gg.viz.to_dot((a * a).sum(), params={"a": a}))
    """
    if not isinstance(tensor_or_graph, (Tensor, Node, list, tuple)) and hasattr(tensor_or_graph, "to_dot"):
        options = {k: v for k, v in (("params", params), ("show_saved", show_saved)) if v}
        return tensor_or_graph.to_dot(**options)
    return _DotWriter(params, show_saved).write(tensor_or_graph)


def render(tensor_or_graph, path, format: str = "svg", **to_dot_kwargs) -> str:
    """Write the drawing of ``to_dot(tensor_or_graph, **to_dot_kwargs)`` to ``path``.

    ``format`` is "svg", "png" or "pdf" (these run Graphviz's ``dot`` program)
    or "dot" (the text itself, no Graphviz needed). A path without an extension
    gets ``.<format>`` appended. Returns the path written.

    Raises:
        GraphvizNotFoundError: when ``dot`` is needed but not installed.

    Example:
        >>> gg.viz.render(loss, "out/loss.svg", params=dict(model.named_parameters()))
    """
    if format not in ("svg", "png", "pdf", "dot"):
        raise ValueError(f"render(): format must be 'svg', 'png', 'pdf' or 'dot', got {format!r}")
    path = os.fspath(path)
    if not os.path.splitext(path)[1]:
        path = f"{path}.{format}"
    dot_program = None if format == "dot" else shutil.which("dot")
    if format != "dot" and dot_program is None:
        raise GraphvizNotFoundError(
            f"render(): writing {format} needs Graphviz's `dot` program, which is not on the PATH. "
            "Install it (Debian/Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`; "
            "conda: `conda install graphviz`), or use format='dot' / gg.viz.to_dot() for the text alone."
        )
    text = to_dot(tensor_or_graph, **to_dot_kwargs)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if format == "dot":
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        return path
    result = subprocess.run([dot_program, f"-T{format}", "-o", path], input=text.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"render(): `dot -T{format}` failed with exit code {result.returncode}: "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    return path


# ------------------------------------------------------------------ internals
def _quote(text: str) -> str:
    """A DOT string literal; ``\\n`` in ``text`` stays a line break in the label."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _id_number(node_line: str) -> int:
    return int(node_line.split(maxsplit=1)[0][1:])


def _describe(shape, dtype_name=None, device=None) -> str:
    text = "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
    if dtype_name:
        text += f" {dtype_name}"
    if device is not None and device.type != "cpu":
        text += f" {device}"
    return text


def _describe_tensor(t: Tensor) -> str:
    return _describe(t.array.shape, t.dtype.name, t.device)


class _DotWriter:
    """One drawing: walks the graph iteratively (deep graphs need no stack) and emits DOT lines."""

    def __init__(self, params, show_saved: bool):
        self.show_saved = show_saved
        self.names = {}  # id(tensor) -> name
        self.op_names = {}  # grad_fn node -> name of the intermediate tensor it produced
        self.op_dtype = {}  # node -> dtype name of what it produced, when the graph tells us
        self.keep = []  # the tensors named above, so their ids stay unique while we draw
        for name, t in (params or {}).items():
            if isinstance(t, Tensor):
                self.names[id(t)] = str(name)
                self.keep.append(t)
                if t.grad_fn is not None:
                    self.op_names.setdefault(t.grad_fn, str(name))
                    self.op_dtype.setdefault(t.grad_fn, t.dtype.name)
        self.ids = {}  # id(object) -> "nK"
        self.objects = []  # what the ids refer to, kept alive for the walk
        self.node_lines, self.edge_lines = [], []

    def write(self, root) -> str:
        roots = list(root) if isinstance(root, (list, tuple)) else [root]
        start = []
        for item in roots:
            if isinstance(item, Tensor):
                start.extend(self._add_output(item, len(roots)))
            elif isinstance(item, Node):
                start.append(item)
            else:
                raise TypeError(
                    f"to_dot(): expected a Tensor, a grad_fn node, a list of them, or an object with a "
                    f"to_dot() method, got {type(item).__name__}"
                )
        ops = self._walk(start)
        for node in ops:
            self._emit_op(node)
        return "\n".join(
            ["digraph autograd {",
             '  node [style="filled", fontname="Helvetica", fontsize=11, height=0.3];',
             *sorted(self.node_lines, key=_id_number), *self.edge_lines, "}"]
        ) + "\n"

    def _id(self, obj, kind: str | None = None, label: str | None = None) -> tuple:
        """``(dot id, new?)``; a new object gets the next id and, given a label, its node line."""
        key = id(obj)
        if key in self.ids:
            return self.ids[key], False
        node_id = self.ids[key] = f"n{len(self.ids)}"
        self.objects.append(obj)
        if label is not None:
            self.node_lines.append(f"  {node_id} [label={_quote(label)}, {_STYLE[kind]}];")
        return node_id, True

    def _name(self, t: Tensor):
        return self.names.get(id(t)) or t.name

    def _add_output(self, t: Tensor, n_roots: int) -> list:
        """The output tensor's node; returns its grad_fn to walk from (none for a leaf)."""
        if t.grad_fn is None:
            self._leaf(t)
            return []
        name = self._name(t)
        label = _describe_tensor(t) if not name else f"{name}\n{_describe_tensor(t)}"
        out_id, _ = self._id(t, "output", label)
        node = t.grad_fn
        self.op_names.pop(node, None)  # the output's own node carries its name
        self.op_dtype.setdefault(node, t.dtype.name)
        op_id, _ = self._id(node)
        self.edge_lines.append(f"  {op_id} -> {out_id};")
        return [node]

    def _leaf(self, t: Tensor) -> str:
        name = self._name(t)
        label = _describe_tensor(t) if not name else f"{name}\n{_describe_tensor(t)}"
        return self._id(t, "leaf", label)[0]

    def _walk(self, start: list) -> list:
        """Every op node reachable from ``start``, in discovery order; records the edges on the way."""
        ops, stack, seen = [], list(reversed(start)), set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            ops.append(node)
            node_id, _ = self._id(node)
            self._learn_input_facts(node)
            for source, _ in node.next_functions:
                if source is None:
                    continue
                if isinstance(source, AccumulateGrad):
                    self.edge_lines.append(f"  {self._accumulated_leaf(source)} -> {node_id};")
                    continue
                source_id, _ = self._id(source)
                self.edge_lines.append(f"  {source_id} -> {node_id};")
                if source not in seen:
                    stack.append(source)
        return ops

    def _accumulated_leaf(self, accumulator) -> str:
        leaf = accumulator.variable
        if leaf is not None:
            return self._leaf(leaf)
        # the graph holds leaves weakly: one dropped by the user is drawn by its accumulator alone
        return self._id(accumulator, "leaf", "(leaf no longer alive)")[0]

    def _learn_input_facts(self, node) -> None:
        """Dtypes (and names) of this node's inputs from the tensors it saved for backward."""
        saved = getattr(node, "_saved", None)
        if not saved:
            return
        for index, (value, _) in zip(getattr(node, "saves_inputs", ()), saved):
            source = node.next_functions[index][0] if index < len(node.next_functions) else None
            if isinstance(value, Tensor) and source is not None and not isinstance(source, AccumulateGrad):
                self.op_dtype.setdefault(source, value.dtype.name)
                if value.name:
                    self.op_names.setdefault(source, value.name)

    def _emit_op(self, node) -> None:
        node_id = self.ids[id(node)]
        lines = [node.name()]
        known = getattr(node, "dtype", None)  # used if the core ever records the output dtype on nodes
        if known is not None:
            self.op_dtype[node] = getattr(known, "name", str(known))
        output = getattr(node, "_output_data", None)
        if node not in self.op_dtype and output is not None:
            self.op_dtype[node] = output.dtype.name
        shape = getattr(node, "shape", None)
        if shape is not None:
            description = _describe(shape, self.op_dtype.get(node), getattr(node, "device", None))
            name = self.op_names.get(node)
            lines.append(f"{name}: {description}" if name else description)
        if self.show_saved and getattr(node, "_freed", False):
            lines.append("(saved values freed by backward)")
        self.node_lines.append(f"  {node_id} [label={_quote(chr(10).join(lines))}, {_STYLE['op']}];")
        if self.show_saved:
            self._emit_saved(node, node_id)

    def _emit_saved(self, node, node_id: str) -> None:
        items = []
        for index, (value, _) in zip(getattr(node, "saves_inputs", ()), getattr(node, "_saved", None) or ()):
            if isinstance(value, Tensor):
                name = self._name(value)
                title = f"saved input {index}" + (f": {name}" if name else "")
                items.append((title, _describe_tensor(value)))
            else:
                items.append((f"saved input {index}", repr(value)))
        output = getattr(node, "_output_data", None)
        if output is not None:
            items.append(("saved output", _describe(output.shape, output.dtype.name, getattr(node, "device", None))))
        for k, (title, description) in enumerate(items):
            saved_id, _ = self._id((node, k), "saved", f"{title}\n{description}")
            self.edge_lines.append(f"  {saved_id} -> {node_id} [style=dashed, dir=none];")
