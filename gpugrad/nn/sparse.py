"""Embedding."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """A lookup table: integer indices of any shape pick rows of ``weight`` (num_embeddings, embedding_dim).

    ``weight`` starts as N(0, 1), as in PyTorch. With ``padding_idx`` that row
    starts at zeros and receives no gradient, so it stays a fixed "nothing here" vector.

    Example:
        >>> emb = gg.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(gg.tensor([[1, 2, 0]])).shape
        (1, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 _weight: Tensor | None = None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding(): padding_idx={padding_idx} must be within num_embeddings={num_embeddings}"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype, device=device))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding(): _weight has shape {tuple(_weight.shape)}, "
                    f"expected ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None) -> "Embedding":
        """An Embedding holding ``embeddings`` (2-D); frozen (no gradient) unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained(): embeddings must be 2-D, got shape {tuple(embeddings.shape)}"
            )
        rows, dim = embeddings.shape
        module = cls(rows, dim, padding_idx=padding_idx, _weight=embeddings)
        module.weight.requires_grad_(not freeze)
        return module

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
