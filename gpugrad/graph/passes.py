"""Graph passes: common-subexpression elimination, constant folding, dead-code elimination, fusion.

They work on a :class:`Program` (a copy of the traced nodes) and keep program
order: nothing is moved across a mutation, so in-place updates (optimizer
steps, gradient accumulation, ``x[i] = v``) keep their meaning.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .ir import Node, format_nodes, remap

_LEAF_KINDS = ("input", "external", "const", "folded")


class Program:
    """The nodes of one executable graph and what it must produce.

    Attributes:
        leaves: input, external, const and folded nodes (no computation at run time).
        nodes: the operations, in program order.
        outputs: nodes whose values are returned.
        bindings: nodes whose values are written back into tensors after a run.
        keep_external_writes: whether writes to captured tensors always run (True for compiled
            functions and graphs: they are the program's side effects).
    """

    def __init__(self, leaves, nodes, outputs, bindings=(), keep_external_writes=True):
        mapping = {}
        self.leaves = [_clone(n, mapping) for n in leaves]
        self.nodes = [_clone(n, mapping) for n in nodes]
        for n in list(mapping.values()):
            _fix(n, mapping)
        get = lambda n: mapping.get(n, n)  # noqa: E731
        self.outputs = [get(n) for n in outputs]
        self.bindings = [get(n) for n in bindings]
        self.keep_external_writes = keep_external_writes
        self.fold_program, self.fold_map, self.fold_sources, self.regions = [], {}, [], []
        self.stats = {"traced": self.count()}

    def count(self) -> int:
        """Operations (not leaves) in the program, branches included."""
        return sum(1 + sum(len(b) for b, _ in (n.branches or ())) for n in self.nodes)

    def all_nodes(self):
        """Every node, branch bodies included."""
        stack = list(self.nodes)
        while stack:
            n = stack.pop()
            yield n
            for body, _ in n.branches or ():
                stack.extend(body)

    def __str__(self) -> str:
        notes = {}
        for k, region in enumerate(self.regions):
            for n in region:
                notes[n] = f"fused region {k}"
        lines = format_nodes(self.leaves) + format_nodes(self.nodes, notes=notes)
        lines.append("return " + ", ".join(f"%{n.id}" for n in self.outputs))
        if self.bindings:
            lines.append("write back " + ", ".join(f"%{n.id}" for n in self.bindings))
        return "\n".join(lines)


def _clone(n, mapping):
    c = Node.__new__(Node)
    for slot in Node.__slots__:
        setattr(c, slot, getattr(n, slot))
    mapping[n] = c
    if n.branches:
        c.branches = tuple(([_clone(m, mapping) for m in body], outs) for body, outs in n.branches)
    return c


def _fix(n, mapping):
    get = lambda m: mapping.get(m, m)  # noqa: E731
    n.args = remap(n.args, get)
    n.kwargs = remap(n.kwargs, get)
    n.root = get(n.root)
    if n.target is not None:
        n.target = get(n.target)
    if n.branches:
        n.branches = tuple((body, [get(o) for o in outs]) for body, outs in n.branches)
    if n.outputs:
        n.outputs = [get(o) for o in n.outputs]


def _replace_everywhere(prog, replace) -> None:
    def get(m):
        while m in replace:
            m = replace[m]
        return m

    for n in list(prog.all_nodes()):
        _fix_with(n, get)
    prog.outputs = [get(n) for n in prog.outputs]
    prog.bindings = [get(n) for n in prog.bindings]


def _fix_with(n, get):
    n.args = remap(n.args, get)
    n.kwargs = remap(n.kwargs, get)
    if n.target is not None:
        n.target = get(n.target)
    if n.branches:
        n.branches = tuple((body, [get(o) for o in outs]) for body, outs in n.branches)


def _draws_random(n) -> bool:
    """A random draw (``creation.RandomDraw``): a new value at every run, so never folded or merged."""
    return getattr(n.fn, "draws_random", False)


def mutated_roots(prog) -> set:
    return {n.root for n in prog.all_nodes() if n.kind == "mutate"}


# --------------------------------------------------------------------- CSE
def _key(obj):
    if isinstance(obj, Node):
        return ("node", obj.id)
    t = type(obj)
    if t in (tuple, list):
        return (t.__name__,) + tuple(_key(o) for o in obj)
    if t is dict:
        return ("dict",) + tuple(sorted((k, _key(v)) for k, v in obj.items()))
    if t is slice:
        return ("slice", _key(obj.start), _key(obj.stop), _key(obj.step))
    hash(obj)  # raises TypeError for unhashable constants: the node is skipped
    return (t.__name__, obj)


def cse(prog, stat: str = "after cse") -> None:
    """Merge calls of the same function on the same arguments, between two mutations."""
    written = mutated_roots(prog)
    table, replace, kept = {}, {}, []
    for n in prog.nodes:
        get = lambda m: replace.get(m, m)  # noqa: E731
        _fix_with(n, get)
        if n.kind != "call":
            if n.kind in ("mutate", "cond"):
                table.clear()
            kept.append(n)
            continue
        if n.root in written or n.root is not n and n.root.kind == "const" or _draws_random(n):
            kept.append(n)
            continue
        try:
            key = (n.fn, _key(n.args), _key(n.kwargs))
            hash(key)
        except TypeError:
            kept.append(n)
            continue
        twin = table.get(key)
        if twin is not None and twin.root not in written:
            replace[n] = twin
            continue
        table[key] = n
        kept.append(n)
    prog.nodes = kept
    _replace_everywhere(prog, replace)
    prog.stats[stat] = prog.count()


# ---------------------------------------------------------- simplification
def dot_all(a, b):
    """``(a * b).sum()`` for two arrays of one shape, as one BLAS dot: no temporary, one pass."""
    return a.reshape(-1) @ b.reshape(-1)


def simplify(prog) -> None:
    """Algebraic rewrites that save full passes over large arrays; results equal within rounding.

    * ``ufunc(broadcast_to(s), x)`` with a one-element ``s`` reads ``s`` directly (no
      full-size constant to stream through memory);
    * ``sum(a * b)`` over whole arrays becomes ``dot(a, b)`` (float64 only: BLAS
      accumulates float32 less accurately than NumPy's pairwise sum);
    * scalar factors on the way to a dot (``k * a``, ``a + a``, ``-a``, ``a / k``) are
      pulled out of it, so the scaled full arrays are no longer needed.

    Nothing written in place anywhere in the program takes part, so moving a read
    from one program point to another cannot change what it sees.
    """
    written = mutated_roots(prog)
    stable = lambda n: not isinstance(n, Node) or (n.root not in written and n.kind != "mutate")  # noqa: E731
    replace = {}
    for n in prog.nodes:
        _fix_with(n, lambda m: replace.get(m, m))
        if n.kind == "call" and n.ufunc is not None:
            n.args = tuple(_unbroadcast(a, n) if stable(a) else a for a in n.args)
    kept = []
    for n in prog.nodes:
        _fix_with(n, lambda m: replace.get(m, m))
        product = _whole_sum_of_product(n)
        if product is not None and all(stable(m) for m in (n, product) + tuple(product.args)):
            factors_a, a = _scaled(product.args[0], stable)
            factors_b, b = _scaled(product.args[1], stable)
            new = []
            # two vectors: NumPy's dot itself (no Python frame on every replay); else flattened first
            product = _ufunc_node(np.dot if a.value.ndim == 1 else dot_all, (a, b), new)
            product.op = "dot"
            scale = _combined_scale(factors_a + factors_b, new)
            if scale is not None:
                product = _ufunc_node(np.multiply, (product, scale), new)
            for m in new:
                m.tracer = n.tracer
            kept += new
            replace[n] = product
            continue
        kept.append(n)
    prog.nodes = kept
    _replace_everywhere(prog, replace)
    prog.stats["after simplify"] = prog.count()


def _ufunc_node(fn, args, new) -> Node:
    """A new call node of ``fn`` on ``args`` (appended to ``new``), its example value computed now."""
    value = fn(*(a.value if isinstance(a, Node) else a for a in args))
    node = Node("call", fn.__name__, fn, args, None, value)
    node.ufunc = fn if isinstance(fn, np.ufunc) else None
    new.append(node)
    return node


def _combined_scale(factors, new):
    """One scalar equal to the product of ``factors`` (``(multiply or true_divide, k)`` pairs), or None.

    Numbers are combined here; nodes into a chain whose every link depends only on
    the factors, so CSE shares it between dots and folding computes it once.
    """
    number, scale = 1.0, None
    for op, k in factors:
        if not isinstance(k, Node):
            number = number * k if op is np.multiply else number / k
        elif scale is None:
            scale = k if op is np.multiply else _ufunc_node(np.true_divide, (1.0, k), new)
        else:
            scale = _ufunc_node(op, (scale, k), new)
    if number != 1.0:
        scale = number if scale is None else _ufunc_node(np.multiply, (scale, number), new)
    return scale


def _unbroadcast(arg, user):
    """The one-element source of ``broadcast_to(source)`` when ``user`` broadcasts it by itself anyway."""
    if not (isinstance(arg, Node) and arg.kind == "call" and arg.fn is np.broadcast_to):
        return arg
    source = arg.args[0]
    size = getattr(source.value, "size", None) if isinstance(source, Node) else 1
    others = [a.value for a in user.args if isinstance(a, Node) and a is not arg]
    if size != 1 or not any(getattr(v, "shape", ()) == user.value.shape for v in others):
        return arg
    return source


def _whole_sum_of_product(n):
    """The ``multiply`` node when ``n`` sums a float64 product of two same-shape arrays over every axis."""
    if n.kind != "call" or getattr(n.fn, "method", None) != "sum" or len(n.args) != 1:
        return None
    if any(v not in (None, False) for v in n.kwargs.values()) or not set(n.kwargs) <= {"axis", "keepdims"}:
        return None
    product = n.args[0]
    if not isinstance(product, Node) or product.kind != "call" or product.ufunc is not np.multiply:
        return None
    if product.kwargs or len(product.args) != 2 or product.value.dtype != np.float64:
        return None
    shape = product.value.shape
    if not all(isinstance(a, Node) and getattr(a.value, "shape", None) == shape for a in product.args):
        return None
    if any(getattr(a.value, "dtype", None) != np.float64 for a in product.args):
        return None
    return product


def _scaled(n, stable):
    """``(factors, base)`` with ``n == base * factors...``: scalar multiples peeled off a full array."""
    factors = []
    while True:
        step = _scaling_step(n) if n.kind == "call" and n.ufunc is not None and not n.kwargs else None
        if step is None or not stable(step[1]) or not stable(step[0][1]):
            return factors, n
        factors.append(step[0])
        n = step[1]


def _scaling_step(n):
    """``((op, k), inner)`` when ``n == op(inner, k)`` for a scalar ``k``, else None."""
    args = n.args
    if n.ufunc is np.add and len(args) == 2 and args[0] is args[1]:
        return (np.multiply, 2.0), args[0]
    if n.ufunc is np.negative and len(args) == 1:
        return (np.multiply, -1.0), args[0]
    if n.ufunc not in (np.multiply, np.true_divide) or len(args) != 2:
        return None
    full = [a for a in args if _same_array_kind(a, n)]
    if not full:
        return None
    (scalar,) = [a for a in args if a is not full[0]] or [None]
    if scalar is None or not _one_element(scalar, n):
        return None
    if n.ufunc is np.true_divide and scalar is not args[1]:
        return None  # k / a is not a scaling of a
    return (n.ufunc, scalar), full[0]


def _same_array_kind(a, n) -> bool:
    value = getattr(a, "value", None)
    return isinstance(a, Node) and getattr(value, "shape", None) == n.value.shape and value.dtype == n.value.dtype


def _one_element(a, n) -> bool:
    if type(a) in (int, float):
        return True
    value = getattr(a, "value", None)
    return isinstance(a, Node) and getattr(value, "size", 0) == 1 and value.dtype == n.value.dtype


# --------------------------------------------------------------- folding
def fold(prog) -> None:
    """Compute once what depends only on constants and on captured tensors the program never writes.

    The folded values stay valid while those tensors keep their arrays and version
    counters; the executor checks both before each run and folds again when one changed.
    """
    written = mutated_roots(prog)
    static = set()
    for n in prog.leaves:
        if n.kind in ("const", "external") and n.root not in written:
            static.add(n)
    for n in prog.nodes:
        if n.kind != "call" or n.root in written or isinstance(n.value, tuple) or _draws_random(n):
            continue
        if n.root is not n and n.root not in static:
            continue
        if n.shape_only or all(m in static for m in n.inputs()):
            static.add(n)
    frontier = []
    needed_by_dynamic = set(prog.outputs) | set(prog.bindings)
    for n in prog.all_nodes():
        if n not in static:
            needed_by_dynamic.update(n.inputs())
    for n in prog.nodes:
        if n in static and n in needed_by_dynamic:
            frontier.append(n)
    prog.fold_program = [n for n in prog.nodes if n in static]
    replace = {}
    for n in frontier:
        folded = Node("folded", f"folded {n.op}", value=n.value)
        folded.root = folded
        folded.fn = n  # the node (of fold_program) that computes it
        replace[n] = folded
        prog.fold_map[n] = folded
    prog.fold_sources = [n for n in prog.leaves if n.kind == "external" and n in static and any(
        n in m.inputs() for m in prog.fold_program)]
    prog.leaves = prog.leaves + list(replace.values())
    prog.nodes = [n for n in prog.nodes if n not in static]
    _replace_everywhere(prog, replace)
    prog.stats["after folding"] = prog.count()


# ---------------------------------------------------------------------- DCE
def dce(prog) -> None:
    """Drop what neither an output, a write-back, nor a kept write needs."""
    needed = set(prog.outputs) | set(prog.bindings)
    live_roots = {n.root for n in needed}
    kept = []
    for n in reversed(prog.nodes):
        if n.kind == "mutate":
            live = n.root in live_roots or (prog.keep_external_writes and n.root.kind in ("external", "input"))
        else:
            live = n in needed
        if live:
            kept.append(n)
            for m in n.inputs():
                needed.add(m)
                live_roots.add(m.root)
    prog.nodes = kept[::-1]
    prog.leaves = [n for n in prog.leaves if n in needed or n.kind == "input"]
    prog.stats["after dce"] = prog.count()


# ----------------------------------------------------------------- fusion
FUSABLE = {
    np.add: "({0} + {1})", np.subtract: "({0} - {1})", np.multiply: "({0} * {1})", np.true_divide: "({0} / {1})",
    np.negative: "(-{0})", np.sin: "sin({0})", np.cos: "cos({0})", np.exp: "exp({0})", np.log: "log({0})",
    np.tanh: "tanh({0})", np.sqrt: "sqrt({0})", np.absolute: "fabs({0})", np.log1p: "log1p({0})",
    np.tan: "tan({0})", np.square: "({0} * {0})", np.power: "pow({0}, {1})",
    np.maximum: "gg_max({0}, {1})", np.minimum: "gg_min({0}, {1})",
    np.greater: "({0} > {1})", np.less: "({0} < {1})", np.greater_equal: "({0} >= {1})",
    np.less_equal: "({0} <= {1})", np.equal: "({0} == {1})", np.not_equal: "({0} != {1})",
}
_FUSABLE_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.bool_))


def fusable(n) -> bool:
    """An elementwise call a generated kernel can compute: a known ufunc (or where) over same-shape or scalar inputs."""
    if n.kind != "call" or n.kwargs:
        return False
    if n.ufunc not in FUSABLE and n.fn is not np.where:
        return False
    value = n.value
    if not isinstance(value, np.ndarray) or value.ndim == 0 or value.dtype not in _FUSABLE_DTYPES:
        return False
    for a in n.args:
        if isinstance(a, Node):
            v = a.value
            if not isinstance(v, (np.ndarray, np.generic)) or v.dtype not in _FUSABLE_DTYPES:
                return False
            if v.size != 1 and (v.shape != value.shape or not v.flags.c_contiguous):
                return False
        elif type(a) not in (int, float, bool) or not math.isfinite(a):
            return False  # C has no literal for inf or nan
    return True


def fuse(prog) -> None:
    """Group runs of consecutive fusable calls of one shape into regions (one generated kernel each).

    Consecutive in program order, so no write can fall between two members and a
    region is always safe to run as one kernel.
    """
    regions, current = [], []
    for n in prog.nodes:
        if fusable(n) and (not current or current[0].value.shape == n.value.shape):
            current.append(n)
            continue
        if len(current) >= 2:
            regions.append(current)
        current = [n] if fusable(n) else []
    if len(current) >= 2:
        regions.append(current)
    prog.regions = regions
    prog.stats["fused regions"] = len(regions)
    prog.stats["ops in regions"] = sum(len(r) for r in regions)


def optimize(prog) -> "Program":
    """The default pipeline: CSE, simplification, CSE of what it exposed, folding, DCE, fusion."""
    cse(prog)
    simplify(prog)
    cse(prog, "after simplify + cse")
    fold(prog)
    dce(prog)
    fuse(prog)
    return prog


def evaluate(nodes, env, function=None) -> dict:
    """Run ``nodes`` one by one (the reference executor); ``env`` maps nodes to arrays.

    ``function`` maps a recorded function to the one to call (see ``executor.xp_function``).
    """
    get = env.__getitem__
    for n in nodes:
        args = remap(n.args, get)
        kwargs = remap(n.kwargs, get)
        fn = n.fn if function is None or n.kind == "cond" else function(n.fn)
        if n.kind == "call":
            env[n] = fn(*args, **kwargs)
        elif n.kind == "mutate":
            if n.out_kw:
                fn(*args, out=env[n.target], **kwargs)
            else:
                fn(*args, **kwargs)
        elif n.kind == "cond":
            body, outs = n.branches[0] if bool(args[0]) else n.branches[1]
            evaluate(body, env, function)
            env[n] = tuple(env[o] for o in outs)
    return env


_ = operator  # getitem is recorded as operator.getitem
