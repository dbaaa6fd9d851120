"""Distances between vectors: ``F.cosine_similarity``, ``F.pairwise_distance`` and their layers."""

from __future__ import annotations

from ..ops import norms as _norms
from ..tensor import Tensor
from .module import Module


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (they broadcast); each norm is
    clamped to at least ``eps``, so zero vectors give 0.

    Example:
        >>> F.cosine_similarity(gg.tensor([[1., 0.]]), gg.tensor([[1., 1.]]))
        tensor([0.7071])
    """
    unit1 = x1 / _norms.vector_norm(x1, 2, dim, keepdim=True).clamp_min(eps)
    unit2 = x2 / _norms.vector_norm(x2, 2, dim, keepdim=True).clamp_min(eps)
    return (unit1 * unit2).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dimension (they broadcast).

    Example:
        >>> F.pairwise_distance(gg.tensor([[0., 0.]]), gg.tensor([[3., 4.]]), eps=0.0)
        tensor([5.])
    """
    return _norms.vector_norm(x1 - x2 + eps, p, -1, keepdim=keepdim)


class CosineSimilarity(Module):
    """``F.cosine_similarity`` along ``dim``.

    Example:
        >>> gg.nn.CosineSimilarity(dim=1)(gg.ones(2, 3), gg.ones(2, 3))
        tensor([1., 1.])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``F.pairwise_distance``: the ``p``-norm distance between the rows of two inputs.

    Example:
        >>> gg.nn.PairwiseDistance()(gg.zeros(2, 3), gg.ones(2, 3)).shape
        (2,)
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
