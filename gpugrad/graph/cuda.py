"""The GPU side of static graphs: generated kernels for fused regions, and the CuPy executor.

A region (see ``passes.fuse``) is a run of elementwise calls over one shape.
Its statements are generated once and used twice:

* a complete ``extern "C" __global__`` grid-stride kernel (``Kernel.source``),
  which nvcc compiles in CI and a CPU harness (g++, with ``__global__`` and the
  thread indices defined) runs against the NumPy executor in the tests;
* a ``cupy.ElementwiseKernel`` (``Kernel.elementwise``) that the GPU executor
  launches, with CuPy doing the indexing, so strides and one-element inputs
  broadcast for free. Kernels are named by a hash of their source, so equal
  structures share one compiled kernel.

:func:`cuda_executor` runs a program with CuPy: the same generated schedule as
on the CPU with NumPy's functions swapped for CuPy's, each fused region one
kernel launch, and the whole step captured into one CUDA graph
(:class:`CapturedReplay`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from .ir import Node
from .passes import FUSABLE

_C_TYPES = {np.dtype(np.float64): "double", np.dtype(np.float32): "float", np.dtype(np.bool_): "bool"}

PRELUDE = """\
#define gg_max(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define gg_min(a, b) (((a) < (b) || (a) != (a)) ? (a) : (b))
"""


class Kernel:
    """The generated code of one region plus how to call it.

    Attributes:
        name: the kernel's function name (``gg_fused_<hash>``).
        source: the complete CUDA C source (what nvcc, the CPU harness and ``RawKernel`` take).
        elementwise: ``(in_params, out_params, operation)`` for ``cupy.ElementwiseKernel``: the
            same statements, with CuPy doing the indexing (and so any strides and broadcasting).
        inputs: the nodes read (in parameter order); ``scalars`` flags the one-element ones.
        outputs: the region members written out (after the inputs in the parameter list).
        size: the number of elements (threads of work).
    """

    def __init__(self, name, source, elementwise, inputs, scalars, outputs, size):
        self.name, self.source, self.elementwise = name, source, elementwise
        self.inputs, self.scalars, self.outputs, self.size = inputs, scalars, outputs, size


def region_kernel(region, used_outside) -> Kernel:
    """Generate the kernel of one region; ``used_outside`` are the members needed after it."""
    members = set(region)
    inputs, names = [], {}
    body = []

    def operand(arg, literal_suffix):
        if isinstance(arg, Node):
            if arg in members:
                return names[arg]
            if arg not in inputs:
                inputs.append(arg)
            return f"in{inputs.index(arg)}_v"
        if isinstance(arg, bool):
            return "true" if arg else "false"
        return repr(float(arg)) + literal_suffix

    for k, n in enumerate(region):
        ctype = _C_TYPES[n.value.dtype]
        suffix = _literal_suffix(n)
        operands = [operand(a, suffix) for a in n.args]
        if n.fn is np.where:
            expr = "({0} ? {1} : {2})".format(*operands)
        else:
            expr = FUSABLE[n.ufunc].format(*operands)
        names[n] = f"t{k}"
        body.append(f"{ctype} t{k} = ({ctype}){expr};")
    outputs = [n for n in region if n in used_outside]
    scalars = [inp.value.size == 1 for inp in inputs]
    in_types = [_C_TYPES[inp.value.dtype] for inp in inputs]
    out_types = [_C_TYPES[out.value.dtype] for out in outputs]
    stores = [f"out{j} = {names[out]};" for j, out in enumerate(outputs)]
    raw = _raw_source(in_types, out_types, scalars, body, stores)
    name = "gg_fused_" + hashlib.sha1(raw.encode()).hexdigest()[:12]
    elementwise = (  # CuPy reads parameter types as NumPy dtype names ("float" would mean float64 there)
        ", ".join(f"{inp.value.dtype.name} in{i}_v" for i, inp in enumerate(inputs)),
        ", ".join(f"{out.value.dtype.name} out{j}" for j, out in enumerate(outputs)),
        "\n".join(body + stores),
    )
    return Kernel(name, raw.replace("KERNEL_NAME", name), elementwise, inputs, scalars, outputs,
                  int(region[0].value.size))


def _literal_suffix(n) -> str:
    """``"f"`` when a Python number meets float32 arrays in ``n``: NumPy casts it to float32 (NEP 50), so the
    kernel must too (a double literal would compute in double and compare differently, ``x == 0.1``)."""
    dtypes = {a.value.dtype for a in n.args if isinstance(a, Node)}
    return "f" if np.dtype(np.float32) in dtypes and np.dtype(np.float64) not in dtypes else ""


def _raw_source(in_types, out_types, scalars, body, stores) -> str:
    """A complete grid-stride kernel around the region's statements (``KERNEL_NAME`` left to fill in)."""
    params = [f"const {t}* __restrict__ in{i}" for i, t in enumerate(in_types)]
    params += [f"{t}* __restrict__ out{j}" for j, t in enumerate(out_types)]
    params.append("const long long n")
    loads = [f"const {t} in{i}_v = in{i}[{'0' if scalars[i] else 'i'}];" for i, t in enumerate(in_types)]
    stores = [s.replace(" = ", "[i] = ", 1) for s in stores]
    return "\n".join([
        PRELUDE,
        'extern "C" __global__ void KERNEL_NAME(' + ", ".join(params) + ") {",
        "    const long long stride = (long long)blockDim.x * gridDim.x;",
        "    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {",
        *("        " + line for line in loads + body + stores),
        "    }",
        "}",
        "",
    ])


def region_kernels(prog) -> list:
    """One :class:`Kernel` per fused region of an optimized program."""
    needed_after = set(prog.outputs) | set(prog.bindings)
    for n in prog.all_nodes():
        needed_after.update(n.inputs())
    kernels = []
    for region in prog.regions:
        members = set(region)
        outside = set(prog.outputs) | set(prog.bindings)
        for n in prog.all_nodes():
            if n not in members:
                outside.update(m for m in n.inputs() if m in members)
        kernels.append(region_kernel(region, outside))
    return kernels


def region_sources(prog) -> dict:
    """``{kernel name: CUDA C source}`` for every fused region."""
    return {k.name: k.source for k in region_kernels(prog)}


def elementwise_launcher(kernel):
    """A function running ``kernel`` on CuPy arrays as one ``cupy.ElementwiseKernel`` (compiled once per structure).

    Called as ``run(*inputs, *outputs)``: one-element inputs broadcast, outputs are written in place.
    """
    import cupy

    compiled = _ELEMENTWISE.get(kernel.name)
    if compiled is None:
        in_params, out_params, operation = kernel.elementwise
        compiled = cupy.ElementwiseKernel(in_params, out_params, operation, kernel.name, preamble=PRELUDE)
        _ELEMENTWISE[kernel.name] = compiled
    return compiled


_ELEMENTWISE: dict = {}


def cuda_executor(prog, device, capture: bool = True):
    """The GPU executor of a program: CuPy calls, one ElementwiseKernel per fused region, optionally one CUDA graph."""
    from ..backends import cupy  # the module itself: device.xp is a stand-in while another thread traces
    from .executor import Executor

    with cupy.cuda.Device(device.index):  # buffers and constants on this graph's device
        executor = Executor(prog, xp=cupy, launch=elementwise_launcher)
    mutated_inputs = sorted({n.root.index for n in prog.all_nodes() if n.kind == "mutate" and n.root.kind == "input"})
    replay = CapturedReplay(executor, device, len(prog.outputs), mutated_inputs)
    if not capture:
        replay.reason = "not captured: cuda_graph=False"
    elif any(getattr(n.fn, "draws_random", False) for n in prog.all_nodes()):
        # cuRAND generators keep host-side state: a captured graph could replay the numbers drawn when captured
        replay.reason = "not captured: the step draws random numbers (dropout, rand, randn, ...)"
    return replay


class CapturedReplay:
    """Runs an executor's schedule as one CUDA graph: captured on the second call, relaunched after.

    The first call runs the schedule normally (it compiles the kernels and shows the
    schedule runs at all); the second captures it on a side stream and launches the
    graph; later calls copy the inputs in, launch, and copy back inputs the step
    writes in place. Arrays allocated while capturing come from a private memory pool
    that each of them keeps alive, so no array the graph uses is freed or handed to
    other code while anything still holds it. A graph bakes in array addresses, so it
    is captured again when a captured tensor's array is replaced or folded constants
    are recomputed; when that happens on two calls in a row (a tensor gets a new
    array every step) the schedule runs uncaptured from then on. Returned outputs are
    copies (a caller may keep them); values written back into tensors are the graph's
    own arrays, overwritten in place by the next launch, as PyTorch's CUDA graphs do.
    A schedule that synchronizes with the host (a ``gg.cond`` reads its predicate)
    cannot be captured: it then runs uncaptured, and ``reason`` says why.
    """

    def __init__(self, executor, device, n_outputs, mutated_inputs=()):
        self.executor, self.device, self.n_outputs = executor, device, n_outputs
        self.mutated_inputs = list(mutated_inputs)
        self.graph = None
        self.reason = None  # why the schedule runs uncaptured, if it does
        self.calls = self.captures = 0
        self._inputs, self._externals = [], []
        self._recaptured_last_call = False

    def refold(self):
        import cupy

        with cupy.cuda.Device(self.device.index):
            self.executor.refold()
        self.graph = None  # folded arrays are new arrays: the graph's addresses are stale

    def __getattr__(self, name):  # externals, source, prog, namespace, interpret: the executor's
        return getattr(self.executor, name)

    def __call__(self, input_arrays, external_arrays):
        import cupy

        self.calls += 1
        with cupy.cuda.Device(self.device.index):
            if self.reason is not None or self.calls == 1:
                return self.executor(input_arrays, external_arrays)
            stale = self.graph is None or not self._same_arrays(input_arrays, external_arrays)
            recapture = stale and self.captures > 0  # the first capture is no sign of arrays that keep changing
            if recapture and self._recaptured_last_call:
                self.graph, self.reason = None, ("not captured: captured arrays change on every call (a tensor the "
                                                 "step reads gets a new array each time)")
            elif stale:
                self._capture(input_arrays, external_arrays)
            self._recaptured_last_call = recapture
            if self.graph is None:
                return self.executor(input_arrays, external_arrays)
            return self._launch(input_arrays)

    def _launch(self, input_arrays):
        for buffer, array in zip(self._inputs, input_arrays):
            if buffer is not None:
                buffer[...] = array
        self.graph.launch()
        for k in self.mutated_inputs:  # the graph wrote its own copy: hand the caller's array the result
            input_arrays[k][...] = self._inputs[k]
        return tuple(a.copy() for a in self._results[:self.n_outputs]) + self._results[self.n_outputs:]

    def _same_arrays(self, input_arrays, external_arrays) -> bool:
        """Whether the captured graph's addresses still hold: the same external arrays, inputs of the same layout."""
        if len(external_arrays) != len(self._externals) or any(
                a is not b for a, b in zip(external_arrays, self._externals)):
            return False
        return all((a is None) == (b is None) and (a is None or (a.shape == b.shape and a.dtype == b.dtype))
                   for a, b in zip(input_arrays, self._inputs))

    def _capture(self, input_arrays, external_arrays):
        import cupy

        self.graph = None
        pool = cupy.cuda.MemoryPool()
        stream = cupy.cuda.Stream(non_blocking=True)
        cupy.cuda.get_current_stream().synchronize()
        inputs = [None if a is None else cupy.array(a, copy=True) for a in input_arrays]
        with cupy.cuda.using_allocator(_self_owning(pool, self.device.index)), stream:
            stream.begin_capture()
            try:
                results = self.executor(inputs, external_arrays)
            except Exception as exc:  # noqa: BLE001 - any capture failure means: run uncaptured, say why
                try:
                    stream.end_capture()  # ends the (invalidated) capture; its own error says less than exc
                except Exception:  # noqa: BLE001, S110
                    pass
                self.reason = f"not captured: {type(exc).__name__}: {exc}"
                return
            graph = stream.end_capture()
        # the external arrays are kept alive with the graph: a freed one could not be told from a new one
        self.graph, self._inputs, self._externals = graph, inputs, list(external_arrays)
        self._results = tuple(results)
        self.captures += 1


def _self_owning(pool, device_index):
    """An allocator drawing from ``pool`` whose arrays keep ``pool`` alive.

    CuPy's pooled memory holds only a weak reference to its pool, and a dropped pool
    frees its blocks: an array the old graph returned (a gradient a tensor still holds)
    would then point at freed memory after the graph is captured again.
    """
    import cupy

    def malloc(size):
        pooled = pool.malloc(size)
        memory = cupy.cuda.UnownedMemory(pooled.ptr, size, (pooled, pool), device_index)
        return cupy.cuda.MemoryPointer(memory, 0)

    return malloc
