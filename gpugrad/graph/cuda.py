"""CUDA C for fused regions: one complete ``extern "C" __global__`` kernel per region.

A region (see ``passes.fuse``) is a run of elementwise calls over one shape;
its kernel reads the region's inputs (full arrays, or one-element arrays
broadcast to every thread), computes every member in registers and writes
the values used outside the region. The source is plain CUDA C, so nvcc
compiles it, CuPy launches it unchanged with ``RawKernel``, and a CPU harness
can compile it with g++ (defining ``__global__`` and the thread indices) to
check it against the NumPy executor. Kernels are named by a hash of their
source, so equal structures share one compiled kernel.
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
    """The generated source of one region plus how to call it.

    Attributes:
        name: the kernel's function name (``gg_fused_<hash>``).
        source: the complete CUDA C source.
        inputs: the nodes read (in parameter order), each with ``scalar`` flags.
        outputs: the region members written out (after the inputs in the parameter list).
        size: the number of elements (threads of work).
    """

    def __init__(self, name, source, inputs, scalars, outputs, size):
        self.name, self.source = name, source
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
        body.append(f"        {ctype} t{k} = ({ctype}){expr};")
    outputs = [n for n in region if n in used_outside]
    scalars = [inp.value.size == 1 for inp in inputs]
    params = []
    loads = []
    for i, inp in enumerate(inputs):
        ctype = _C_TYPES[inp.value.dtype]
        params.append(f"const {ctype}* __restrict__ in{i}")
        loads.append(f"        const {ctype} in{i}_v = in{i}[{'0' if scalars[i] else 'i'}];")
    for j, out in enumerate(outputs):
        params.append(f"{_C_TYPES[out.value.dtype]}* __restrict__ out{j}")
    params.append("const long long n")
    stores = [f"        out{j}[i] = {names[out]};" for j, out in enumerate(outputs)]
    code = "\n".join([
        PRELUDE,
        'extern "C" __global__ void KERNEL_NAME(' + ", ".join(params) + ") {",
        "    const long long stride = (long long)blockDim.x * gridDim.x;",
        "    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {",
        *loads, *body, *stores,
        "    }",
        "}",
        "",
    ])
    name = "gg_fused_" + hashlib.sha1(code.encode()).hexdigest()[:12]
    return Kernel(name, code.replace("KERNEL_NAME", name), inputs, scalars, outputs, int(region[0].value.size))


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


def launch(kernel, arrays_in, arrays_out, block: int = 256):
    """Launch a region kernel with CuPy (needs a GPU): ``RawKernel`` cached by name."""
    import cupy

    raw = _RAW.get(kernel.name)
    if raw is None:
        raw = _RAW[kernel.name] = cupy.RawKernel(kernel.source, kernel.name)
    grid = max(1, min((kernel.size + block - 1) // block, 65535))
    raw((grid,), (block,), tuple(arrays_in) + tuple(arrays_out) + (np.int64(kernel.size),))


_RAW: dict = {}
