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

    def operand(arg):
        if isinstance(arg, Node):
            if arg in members:
                return names[arg]
            if arg not in inputs:
                inputs.append(arg)
            return f"in{inputs.index(arg)}_v"
        if isinstance(arg, bool):
            return "true" if arg else "false"
        return repr(float(arg))

    for k, n in enumerate(region):
        ctype = _C_TYPES[n.value.dtype]
        if n.fn is np.where:
            expr = "({0} ? {1} : {2})".format(*(operand(a) for a in n.args))
        else:
            expr = FUSABLE[n.ufunc].format(*(operand(a) for a in n.args))
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

    executor = Executor(prog, xp=cupy, launch=elementwise_launcher)
    replay = CapturedReplay(executor, device, len(prog.outputs))
    if not capture:
        replay.reason = "not captured: cuda_graph=False"
    return replay


class CapturedReplay:
    """Runs an executor's schedule as one CUDA graph: captured on the second call, relaunched after.

    The first call runs the schedule normally (it compiles the kernels and shows the
    schedule runs at all); the second captures it on a side stream, with a private
    memory pool so no array the graph uses is ever handed to anyone else, and
    launches the graph; later calls only copy the inputs in and launch. A graph bakes
    in array addresses, so it is captured again when a captured tensor's array is
    replaced or folded constants are recomputed. Returned outputs are copies (a
    caller may keep them); values written back into tensors are the graph's own
    arrays, overwritten in place by the next launch, as PyTorch's CUDA graphs do.
    A schedule that synchronizes with the host (a ``gg.cond`` reads its predicate)
    cannot be captured: it then runs uncaptured, and ``reason`` says why.
    """

    def __init__(self, executor, device, n_outputs):
        self.executor, self.device, self.n_outputs = executor, device, n_outputs
        self.graph = None
        self.reason = None  # why the schedule runs uncaptured, if it does
        self.calls = self.captures = 0
        self._inputs, self._externals = [], []

    def refold(self):
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
            if self.graph is None or not self._same_arrays(input_arrays, external_arrays):
                self._capture(input_arrays, external_arrays)
                if self.graph is None:
                    return self.executor(input_arrays, external_arrays)
            for buffer, array in zip(self._inputs, input_arrays):
                buffer[...] = array
            self.graph.launch()
            return tuple(a.copy() for a in self._results[:self.n_outputs]) + self._results[self.n_outputs:]

    def _same_arrays(self, input_arrays, external_arrays) -> bool:
        """Whether the captured graph's addresses still hold: the same external arrays, inputs of the same layout."""
        if len(external_arrays) != len(self._externals) or any(
                a is not b for a, b in zip(external_arrays, self._externals)):
            return False
        return all(a.shape == b.shape and a.dtype == b.dtype for a, b in zip(input_arrays, self._inputs))

    def _capture(self, input_arrays, external_arrays):
        import cupy

        pool = cupy.cuda.MemoryPool()
        stream = cupy.cuda.Stream(non_blocking=True)
        cupy.cuda.get_current_stream().synchronize()
        inputs = [cupy.array(a, copy=True) for a in input_arrays]
        try:
            with cupy.cuda.using_allocator(pool.malloc), stream:
                stream.begin_capture()
                try:
                    results = self.executor(inputs, external_arrays)
                finally:
                    graph = stream.end_capture()
        except Exception as exc:  # noqa: BLE001 - any capture failure means: run uncaptured, say why
            self.graph, self.reason = None, f"{type(exc).__name__}: {exc}"
            return
        # the external arrays are kept alive with the graph: a freed one could not be told from a new one
        self.graph, self._pool, self._inputs, self._externals = graph, pool, inputs, list(external_arrays)
        self._results = tuple(results)
        self.captures += 1
