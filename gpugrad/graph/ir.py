"""The graph IR: a program of array operations, in the order they ran.

A node is one NumPy-level call recorded while tracing (``np.sin(x)``,
``x.sum(axis=0)``, ``a[i] = v``), so the same IR holds forward ops, backward
passes and in-place updates: whatever gpugrad's ops and engine did to arrays.
Arguments hold other nodes where an array flowed and plain Python values
elsewhere.

Kinds:
    input     an array fed per call (a compiled function's tensor argument, a placeholder)
    external  the live array of a tensor captured from outside (a parameter, the data)
    const     an array that appeared in the trace without a tensor (a snapshot is kept)
    call      a call returning an array (fresh, or a view of an argument: see ``root``)
    mutate    a call writing into ``target``'s memory (``out=``, ``a[i] = v``, ``np.add.at``)
    cond      a data-dependent branch holding two sub-programs; ``item`` nodes read its outputs
"""

from __future__ import annotations

import itertools

_ids = itertools.count()


class Node:
    """One recorded array operation (see the module docstring for the kinds)."""

    __slots__ = (
        "id", "kind", "op", "fn", "args", "kwargs", "value", "root", "target", "ufunc", "tensor", "index",
        "name", "branches", "outputs", "tracer", "out_kw", "shape_only", "device_array",
    )

    def __init__(self, kind, op, fn=None, args=(), kwargs=None, value=None):
        self.id = next(_ids)
        self.kind, self.op, self.fn = kind, op, fn
        self.args, self.kwargs = args, kwargs or {}
        self.value = value  # the example value seen while tracing
        self.root = self  # the node owning the memory this value lives in (views point to their base)
        self.target = None  # for mutations: the node written into
        self.ufunc = None  # the NumPy ufunc for elementwise calls (what fusion looks at)
        self.tensor = None  # for externals: the tensor whose .array is read at run time
        self.index = None  # for inputs: the position among the inputs
        self.name = None
        self.branches = None  # for cond: ((nodes, outputs), (nodes, outputs))
        self.outputs = None
        self.tracer = None
        self.out_kw = False  # mutation written as fn(*args, out=target)
        self.shape_only = False  # result depends only on the argument's shape (zeros_like, ...)
        self.device_array = None  # for inputs/externals traced on a GPU: the live array (``value`` is a host copy)

    @property
    def shape(self):
        return getattr(self.value, "shape", None)

    @property
    def dtype(self):
        return getattr(self.value, "dtype", None)

    def inputs(self) -> list:
        """The nodes this node reads (for ``cond``: also the outer nodes its branches read)."""
        found = []
        walk(self.args, found.append)
        walk(self.kwargs, found.append)
        if self.target is not None and self.target not in found:
            found.append(self.target)
        if self.kind == "cond":
            for extra in free_nodes(self):
                if extra not in found:
                    found.append(extra)
        return found

    def label(self) -> str:
        shape = "x".join(map(str, self.shape)) if self.shape is not None else "-"
        dtype = self.dtype if self.dtype is not None else ""
        return f"%{self.id} = {self.op} [{shape} {dtype}]".rstrip()

    def __repr__(self) -> str:
        return f"<Node {self.label()}>"


def walk(obj, visit, leaf=None) -> None:
    """Call ``visit`` on every ``leaf`` (a type; Node by default) inside nested tuples/lists/dicts/slices."""
    leaf = leaf or Node
    if isinstance(obj, leaf):
        visit(obj)
    elif type(obj) in (tuple, list):
        for item in obj:
            walk(item, visit, leaf)
    elif type(obj) is dict:
        for item in obj.values():
            walk(item, visit, leaf)
    elif type(obj) is slice:
        walk((obj.start, obj.stop, obj.step), visit, leaf)


def remap(obj, mapping, leaf=None):
    """``obj`` with every ``leaf`` (a type; Node by default) ``n`` replaced by ``mapping(n)``."""
    leaf = leaf or Node
    if isinstance(obj, leaf):
        return mapping(obj)
    t = type(obj)
    if t is tuple:
        return tuple(remap(item, mapping, leaf) for item in obj)
    if t is list:
        return [remap(item, mapping, leaf) for item in obj]
    if t is dict:
        return {k: remap(v, mapping, leaf) for k, v in obj.items()}
    if t is slice:
        return slice(*(remap(v, mapping, leaf) for v in (obj.start, obj.stop, obj.step)))
    return obj


def free_nodes(cond_node) -> list:
    """The outer nodes a cond's branches read (its pred excluded)."""
    inside, outer = set(), []
    for nodes, outputs in cond_node.branches:
        for n in nodes:
            inside.add(n)
        for n in nodes:
            for m in n.inputs():
                if m not in inside and m not in outer:
                    outer.append(m)
        for m in outputs:
            if m not in inside and m not in outer:
                outer.append(m)
    return outer


def format_args(node) -> str:
    parts = []

    def show(obj):
        if isinstance(obj, Node):
            return f"%{obj.id}"
        t = type(obj)
        if t in (tuple, list):
            inner = ", ".join(show(o) for o in obj)
            return f"({inner})" if t is tuple else f"[{inner}]"
        if t is slice:
            return ":".join("" if v is None else show(v) for v in (obj.start, obj.stop, obj.step)).rstrip(":") or ":"
        if hasattr(obj, "shape") and getattr(obj, "ndim", 0) > 0:
            return f"<array {'x'.join(map(str, obj.shape))}>"
        return repr(obj)

    parts = [show(a) for a in node.args]
    parts += [f"{k}={show(v)}" for k, v in node.kwargs.items()]
    return ", ".join(parts)


def format_nodes(nodes, indent: str = "", notes=None) -> list:
    """Readable lines for a list of nodes; ``notes`` maps a node to a trailing remark."""
    lines = []
    for n in nodes:
        note = f"   # {notes[n]}" if notes and n in notes else ""
        if n.kind == "input":
            lines.append(f"{indent}%{n.id} = input {n.name or n.index} [{_shape(n)}]{note}")
        elif n.kind == "external":
            lines.append(f"{indent}%{n.id} = captured {n.name or 'tensor'} [{_shape(n)}]{note}")
        elif n.kind == "const":
            lines.append(f"{indent}%{n.id} = const [{_shape(n)}]{note}")
        elif n.kind == "mutate":
            lines.append(f"{indent}%{n.target.id} <- {n.op}({format_args(n)}){note}")
        elif n.kind == "cond":
            lines.append(f"{indent}%{n.id} = cond(%{n.args[0].id}){note}")
            for title, (body, results) in zip(("then", "else"), n.branches):
                lines.append(f"{indent}  {title}:")
                lines += format_nodes(body, indent + "    ")
                lines.append(f"{indent}    yield " + ", ".join(f"%{r.id}" for r in results))
        else:
            lines.append(f"{indent}%{n.id} = {n.op}({format_args(n)}) [{_shape(n)}]{note}")
    return lines


def _shape(n) -> str:
    shape = n.shape
    text = "x".join(map(str, shape)) if shape is not None else "?"
    return f"{text or 'scalar'} {n.dtype}" if n.dtype is not None else text


def to_dot(nodes, outputs=(), name: str = "graph", regions=None) -> str:
    """Graphviz DOT text for a list of nodes; fused regions drawn as clusters."""
    lines = [f'digraph "{name}" {{', "  rankdir=TB;", '  node [shape=box, fontname="monospace", fontsize=10];']
    in_region = {}
    for k, region in enumerate(regions or []):
        lines.append(f'  subgraph cluster_{k} {{ label="fused region {k}"; style=dashed;')
        for n in region:
            in_region[n] = k
            lines.append(f'    n{n.id} [label="{_dot_label(n)}"];')
        lines.append("  }")
    for n in nodes:
        if n not in in_region:
            style = ', style=filled, fillcolor="#eeeeff"' if n.kind in ("input", "external", "const") else ""
            lines.append(f'  n{n.id} [label="{_dot_label(n)}"{style}];')
    for n in nodes:
        for m in n.inputs():
            lines.append(f"  n{m.id} -> n{n.id};")
    for k, n in enumerate(outputs):
        lines.append(f'  out{k} [label="output {k}", shape=ellipse]; n{n.id} -> out{k};')
    lines.append("}")
    return "\n".join(lines)


def _dot_label(n) -> str:
    head = n.name or n.op
    if n.kind == "mutate":
        head = f"{n.op} -> %{n.target.id}"
    return f"%{n.id} {head}\\n{_shape(n)}".replace('"', "'")
