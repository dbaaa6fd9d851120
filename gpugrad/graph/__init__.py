"""Static graphs: define-then-run (``Graph``, ``placeholder``, ``gradients``, ``cond``) and ``compile``.

Both build the same IR by tracing gpugrad at the array level (see ``tracer``),
optimize it (``passes``: CSE, constant folding, dead code, fusion) and run it
with a generated NumPy schedule over preallocated buffers (``executor``);
``cuda`` turns fused regions into CUDA C kernels.
"""

from .api import Graph, cond, gradients, placeholder
from .compile import CompiledFunction, compile  # noqa: A004 - gg.compile
from .tracer import TraceError, TraceValueError, guard_value, on_abort, on_replay

__all__ = ["Graph", "placeholder", "gradients", "cond", "compile", "CompiledFunction", "TraceError",
           "TraceValueError", "guard_value", "on_abort", "on_replay"]
