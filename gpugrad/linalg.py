"""``gg.linalg``: the part of ``torch.linalg`` gpugrad has, norms first.

    >>> gg.linalg.vector_norm(gg.tensor([3., 4.]))
    tensor(5.)
    >>> gg.linalg.matrix_norm(gg.eye(3), ord="nuc")
    tensor(3.)
"""

from .ops.linalg import matmul
from .ops.norms import linalg_norm as norm, matrix_norm, vector_norm

__all__ = ["matmul", "matrix_norm", "norm", "vector_norm"]
