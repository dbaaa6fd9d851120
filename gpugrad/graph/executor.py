"""The CPU executor: a program turned into one generated Python function of NumPy calls.

Each operation becomes one line such as ``v12 = f3(v10, v11, out=B2)``: no
per-op Tensor objects, no dispatch, no autograd bookkeeping. Results that do
not leave the function are written (``out=``) into buffers allocated once and
reused as soon as their last reader has run; values returned or written back
into tensors are fresh arrays, so a caller may keep them across calls.
Folded constants are globals of the generated function; folding again only
replaces those globals.
"""

from __future__ import annotations

import math

import numpy as np

from .ir import Node, remap
from .passes import evaluate
from .tracer import _METHOD_FNS, raw_data

_OUT_METHODS = {"sum", "mean", "prod", "max", "min", "cumsum", "cumprod", "clip"}


class Executor:
    """Runs a :class:`~gpugrad.graph.passes.Program` on NumPy arrays.

    Args:
        prog: the optimized program.
        pool: plan preallocated buffers (False runs every op allocating, for comparison).
        xp: the array module to run on: NumPy, or CuPy for the GPU executor (the NumPy
            functions recorded while tracing are looked up by name in it).
        launch: None runs the members of fused regions one call each; otherwise
            ``launch(kernel)`` gives a function ``run(*inputs, *outputs)`` computing a whole
            region (a :class:`~gpugrad.graph.cuda.Kernel`) at once, such as
            :func:`~gpugrad.graph.cuda.elementwise_launcher` on the GPU.

    Attributes:
        externals: the external nodes read live per run (their ``tensor`` attribute says from where).
        source: the generated Python source (``print(executor.source)``).
    """

    def __init__(self, prog, pool: bool = True, xp=np, launch=None):
        self.prog, self.xp = prog, xp
        self.externals = [n for n in prog.leaves if n.kind == "external"]
        self.inputs = sorted((n for n in prog.leaves if n.kind == "input"), key=lambda n: n.index)
        self.namespace = {"xp": xp}
        self._names = {}
        self.buffers = []
        self.kernels = {}
        if launch is not None and prog.regions:
            from .cuda import region_kernels

            for region, kernel in zip(prog.regions, region_kernels(prog)):
                self.kernels[region[0]] = (kernel, set(region))
            self._launch = launch
        self.source = self._generate(pool)
        code = compile(self.source, "<gpugrad.graph replay>", "exec")
        exec(code, self.namespace)  # noqa: S102 - our own generated source
        self.run_generated = self.namespace["_replay"]
        self.executed = 0

    # ---------------------------------------------------------------- names
    def _global(self, obj, prefix: str) -> str:
        key = (prefix, id(obj))
        name = self._names.get(key)
        if name is None:
            name = f"{prefix}{len(self._names)}"
            self._names[key] = name
            self.namespace[name] = obj
        return name

    def _value_name(self, n) -> str:
        if n.kind == "folded":
            return self._global_folded(n)
        if n.kind == "const" and n.root not in self._written:
            return self._global(self._array(n.fn), "K")
        return f"v{n.id}"

    def _array(self, value):
        """A constant moved to the executor's device once (NumPy values stay as they are)."""
        return value if self.xp is np or not isinstance(value, (np.ndarray, np.generic)) else self.xp.asarray(value)

    def _global_folded(self, n) -> str:
        name = f"F{n.id}"
        self.namespace[name] = self._array(n.value)
        return name

    def _expr(self, obj) -> str:
        if isinstance(obj, Node):
            return self._value_name(obj)
        t = type(obj)
        if obj is None or t is bool or t is str:
            return repr(obj)
        if t is int or (t is float and math.isfinite(obj)):
            return repr(obj)
        if t is tuple:
            return "(" + "".join(self._expr(o) + ", " for o in obj) + ")"
        if t is list:
            return "[" + ", ".join(self._expr(o) for o in obj) + "]"
        if t is dict:
            return "{" + ", ".join(f"{k!r}: {self._expr(v)}" for k, v in obj.items()) + "}"
        if t is slice:
            return f"slice({self._expr(obj.start)}, {self._expr(obj.stop)}, {self._expr(obj.step)})"
        return self._global(obj, "C")

    def _call(self, fn, args, kwargs, extra="") -> str:
        parts = [self._expr(a) for a in args] + [f"{k}={self._expr(v)}" for k, v in kwargs.items()]
        if extra:
            parts.append(extra)
        return f"{self._global(self._function(fn), 'f')}({', '.join(parts)})"

    def _function(self, fn):
        return xp_function(fn, self.xp)

    # ------------------------------------------------------------- planning
    def _plan(self, nodes, escaping) -> dict:
        """Assign a reusable buffer to each value that can be written with ``out=`` and does not escape."""
        last, inside = {}, set()
        for i, n in enumerate(nodes):
            last.setdefault(n.root, i)
            for m in n.inputs():
                last[m.root] = i
            if n.kind == "mutate":
                last[n.root] = i
        for kernel, members in self.kernels.values():
            end = max(nodes.index(m) for m in members)
            for m in kernel.inputs:  # a kernel reads its inputs until its last member: no output may reuse them
                last[m.root] = max(last[m.root], end)
            inside |= members - set(kernel.outputs)
        free, assigned, owners = {}, {}, {}
        for i, n in enumerate(nodes):
            if self._poolable(n) and n not in escaping and n not in inside:
                value = n.value
                order = "F" if value.flags.f_contiguous and not value.flags.c_contiguous else "C"
                key = (value.shape, value.dtype.str, order)
                stack = free.get(key)
                if stack:
                    buf = stack.pop()
                else:
                    buf = self._global(self.xp.empty(value.shape, value.dtype, order=order), "B")
                    self.buffers.append(buf)
                assigned[n] = buf
                owners[n] = key
            for root in {m.root for m in n.inputs()} | {n.root}:
                if last.get(root) == i and root in owners:
                    free.setdefault(owners.pop(root), []).append(assigned[root])
        return assigned

    def _poolable(self, n) -> bool:
        if n.kind != "call" or n.root is not n or not isinstance(n.value, np.ndarray) or n.value.ndim == 0:
            return False
        if "out" in n.kwargs:
            return False
        if n.ufunc is not None:
            return True
        method = getattr(n.fn, "method", None)
        if method in _OUT_METHODS:
            return True
        return method in ("copy", "astype") and len(n.args) <= 2 and not n.kwargs

    # ----------------------------------------------------------- generation
    def _generate(self, pool: bool) -> str:
        prog = self.prog
        self._written = {n.root for n in prog.all_nodes() if n.kind == "mutate"}
        escaping = {n.root for n in prog.outputs + prog.bindings}
        escaping |= {n for n in prog.nodes if n.root in escaping}
        buffers = self._plan(prog.nodes, escaping) if pool else {}
        lines = ["def _replay(I, E):"]
        for n in self.inputs:
            lines.append(f"    v{n.id} = I[{n.index}]")
        for k, n in enumerate(self.externals):
            lines.append(f"    v{n.id} = E[{k}]")
        for n in prog.leaves:
            if n.kind == "const" and n.root in self._written:
                lines.append(f"    v{n.id} = {self._global(self._array(n.fn), 'K')}.copy()")
        lines += self._lines(prog.nodes, buffers, "    ")
        results = [self._result(n) for n in prog.outputs + prog.bindings]
        lines.append("    return (" + "".join(r + ", " for r in results) + ")")
        return "\n".join(lines) + "\n"

    def _result(self, n) -> str:
        name = self._value_name(n)
        if n.kind in ("folded", "const"):
            return f"{name}.copy()"  # cached values never leave: callers may write into them
        return name

    def _lines(self, nodes, buffers, indent) -> list:
        lines, skip = [], set()
        for n in nodes:
            if n in skip:
                continue
            if n in self.kernels:
                kernel, members = self.kernels[n]
                lines += self._launch_lines(kernel, buffers, indent)
                skip |= members
            elif n.kind == "call":
                buf = buffers.get(n)
                method = getattr(n.fn, "method", None)
                if buf is not None and method in ("copy", "astype"):
                    lines.append(f"{indent}xp.copyto({buf}, {self._expr(n.args[0])}, casting='unsafe')")
                    lines.append(f"{indent}v{n.id} = {buf}")
                else:
                    extra = f"out={buf}" if buf is not None else ""
                    lines.append(f"{indent}v{n.id} = {self._call(n.fn, n.args, n.kwargs, extra)}")
            elif n.kind == "mutate":
                extra = f"out={self._value_name(n.target)}" if n.out_kw else ""
                lines.append(f"{indent}{self._call(n.fn, n.args, n.kwargs, extra)}")
            elif n.kind == "cond":
                lines.append(f"{indent}if {self._expr(n.args[0])}:")
                for k, (body, outs) in enumerate(n.branches):
                    if k == 1:
                        lines.append(f"{indent}else:")
                    lines += self._lines(body, {}, indent + "    ") or [f"{indent}    pass"]
                    lines.append(f"{indent}    v{n.id} = (" + "".join(self._expr(o) + ", " for o in outs) + ")")
        return lines

    def _launch_lines(self, kernel, buffers, indent) -> list:
        """One kernel call for a whole region: its outputs into planned buffers (fresh arrays when they escape)."""
        lines = []
        for out in kernel.outputs:
            buf = buffers.get(out)
            if buf is None:
                buf = f"xp.empty({out.value.shape!r}, {self._global(out.value.dtype, 'C')})"
            lines.append(f"{indent}v{out.id} = {buf}")
        run = self._global(self._launch(kernel), "R")
        args = [self._expr(m) for m in kernel.inputs] + [f"v{out.id}" for out in kernel.outputs]
        produced = ", ".join(f"%{m.id}" for m in kernel.outputs)
        lines.append(f"{indent}{run}({', '.join(args)})  # fused: {produced}")
        return lines

    # ------------------------------------------------------------------ run
    def refold(self) -> None:
        """Recompute the folded constants from the captured tensors' current arrays."""
        prog = self.prog
        if not prog.fold_map:
            return
        env = {}
        for n in _fold_leaves(prog):
            env[n] = self._array(n.fn) if n.kind == "const" else raw_data(n.tensor)
        evaluate(prog.fold_program, env, self._function)
        for source, folded in prog.fold_map.items():
            folded.value = env[source]
            self.namespace[f"F{folded.id}"] = env[source]

    def __call__(self, input_arrays, external_arrays):
        self.executed += 1
        return self.run_generated(input_arrays, external_arrays)

    def interpret(self, input_arrays, external_arrays, keep=frozenset()) -> dict:
        """Run node by node with plain NumPy calls; returns every value (the reference for fused kernels).

        The values of the nodes in ``keep`` are copied as they are computed: a view (``theta[0]``) shows
        the in-place writes that later nodes make to its base, which a kernel running at that point never saw.
        """
        env = {}
        for n in self.inputs:
            env[n] = input_arrays[n.index]
        for n, a in zip(self.externals, external_arrays):
            env[n] = a
        for n in self.prog.leaves:
            if n.kind == "const":
                env[n] = self._array(n.fn.copy()) if isinstance(n.fn, np.ndarray) else n.fn
            elif n.kind == "folded":
                env[n] = self.namespace.get(f"F{n.id}", n.value)
        if not keep:
            return evaluate(self.prog.nodes, env, self._function)
        kept = {n: np.array(value) for n, value in env.items() if n in keep}
        for n in self.prog.nodes:
            evaluate((n,), env, self._function)
            if n in keep:
                kept[n] = np.array(env[n])  # a copy, as it is now
        env.update(kept)
        return env


def xp_function(fn, xp):
    """The function of array module ``xp`` standing for a NumPy function recorded while tracing.

    Ufuncs, their methods (``np.add.at``) and NumPy's functions are looked up by
    name (``np.sin`` -> ``cupy.sin``); everything else recorded (array methods,
    ``operator.getitem``, gpugrad's own helpers) works on any array already.
    """
    if xp is np:
        return fn
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc):
        return getattr(getattr(xp, owner.__name__), fn.__name__)
    module = getattr(fn, "__module__", None) or ""
    if isinstance(fn, np.ufunc) or module.startswith("numpy"):
        found = getattr(_submodule(xp, module), fn.__name__, None) or getattr(xp, fn.__name__, None)
        if found is None:
            raise NotImplementedError(f"{xp.__name__} has no {fn.__name__} (recorded as NumPy's {fn.__name__})")
        return found
    return fn


def _submodule(xp, numpy_module: str):
    """``xp.linalg`` for ``numpy.linalg`` (private parts skipped: ``numpy._core.umath`` is ``xp``)."""
    found = xp
    for part in numpy_module.split(".")[1:]:
        if not part.startswith("_"):
            found = getattr(found, part, None)
            if found is None:
                return xp
    return found


def _fold_leaves(prog):
    seen = []
    for n in prog.fold_program:
        for m in n.inputs():
            if m.kind in ("external", "const") and m not in seen:
                seen.append(m)
    return seen


_ = (remap, _METHOD_FNS)
