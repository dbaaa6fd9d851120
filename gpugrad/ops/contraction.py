"""Products over named dimensions: ``einsum`` and ``outer``.

einsum runs the array module's einsum (NumPy's or CuPy's). The gradient of
each operand is one more einsum: of the output gradient with the other
operands, contracted to that operand's subscripts. Two details make that
general: a letter repeated in one operand (a diagonal, ``"ii->i"``) gets a
fresh name tied to the first by an identity matrix, and a letter only that
operand sums over gets a vector of ones, which broadcasts the gradient back
along it. Being an einsum itself, the gradient is twice differentiable.
"""

from __future__ import annotations

import math
import string

from ..autograd.node import ArrayFunction
from ..tensor import Tensor
from .elementwise import mul, promote
from .shape import expand, reshape


_PLAIN_LOOP_LIMIT = 2**15


class Einsum(ArrayFunction):
    """``xp.einsum`` of operands whose subscripts are plain letters (no ``...``), with equal sizes per letter."""

    def __init__(self, terms, output, sizes):
        self.terms, self.output, self.sizes = tuple(terms), output, sizes
        self.saves_inputs = tuple(range(len(terms)))
        # einsum's plain loop visits every combination of letters; optimize=True contracts pairwise through
        # BLAS at a fixed ~10 us planning cost, which pays from about 2**15 combinations (a 32x32 matmul).
        # Measured with NumPy 2.4: 64x64 matmul 48 -> 16 us, 256x256 5.6 -> 1.1 ms; 8x8 2 -> 11 us.
        self.optimize = len(terms) > 2 or math.prod(sizes.values()) > _PLAIN_LOOP_LIMIT

    def forward(self, *arrays):
        equation = ",".join(self.terms) + "->" + self.output
        return self.xp.einsum(equation, *arrays, optimize=self.optimize)

    def backward(self, gy):
        operands = self.saved_tensors
        return tuple(self._operand_grad(i, gy, operands) if need else None
                     for i, need in enumerate(self.needs_input_grad))

    def _operand_grad(self, i, gy, operands) -> Tensor:
        terms = [self.output] + [t for j, t in enumerate(self.terms) if j != i]
        tensors = [gy] + [x for j, x in enumerate(operands) if j != i]
        sizes = dict(self.sizes)
        free = iter(c for c in string.ascii_letters if c not in self.sizes)
        xp, target = self.xp, ""
        for letter in self.terms[i]:
            if letter in target:  # a repeated letter: a fresh one, equal to it through an identity matrix
                fresh = next(free)
                sizes[fresh] = sizes[letter]
                terms.append(letter + fresh)
                tensors.append(_constant(gy, xp.eye(sizes[letter], dtype=gy.array.dtype)))
                target += fresh
                continue
            if not any(letter in t for t in terms):  # summed by this operand alone: broadcast back with ones
                terms.append(letter)
                tensors.append(_constant(gy, xp.ones(sizes[letter], dtype=gy.array.dtype)))
            target += letter
        return Einsum(terms, target, sizes)(*tensors)


def _constant(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like.device)


def _parse(equation: str, operands) -> tuple:
    """(terms, output, sizes, operands): ``...`` spelled as letters, operands broadcast to one size per letter."""
    equation = equation.replace(" ", "")
    lhs, arrow, output = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): {len(terms)} operand subscripts in {equation!r} but {len(operands)} "
                           "operands given; give one tensor per comma-separated term")
    spare = [c for c in string.ascii_letters if c not in equation]
    ellipsis_dims = [x.array.ndim - (len(t) - 3) if "..." in t else 0 for t, x in zip(terms, operands)]
    ellipsis = "".join(spare[:max(ellipsis_dims, default=0)])
    terms = [t.replace("...", ellipsis[len(ellipsis) - n:] if n else "") for t, n in zip(terms, ellipsis_dims)]
    for t, x in zip(terms, operands):
        if len(t) != x.array.ndim or not all(c in string.ascii_letters for c in t):
            raise RuntimeError(f"einsum(): the subscripts {t!r} do not fit an operand of shape {tuple(x.shape)} "
                               f"in {equation!r} (one letter per dimension, '...' for the rest)")
    if arrow:
        output = output.replace("...", ellipsis)
    else:  # implicit output: '...' first, then the letters seen once, in alphabetical order
        letters = "".join(terms)
        output = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis))
    sizes = _letter_sizes(equation, terms, operands)
    missing = [c for c in output if c not in sizes]
    if missing or len(set(output)) != len(output):
        raise RuntimeError(f"einsum(): the output subscripts of {equation!r} must each appear once in the output "
                           "and at least once among the operands")
    operands = [_broadcast(x, t, sizes) for t, x in zip(terms, operands)]
    return terms, output, sizes, operands


def _letter_sizes(equation: str, terms, operands) -> dict:
    """The size of each letter; sizes of 1 broadcast, as in PyTorch."""
    sizes = {}
    for t, x in zip(terms, operands):
        for c, n in zip(t, x.array.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise RuntimeError(f"einsum(): subscript {c!r} has size {n} for an operand of shape {tuple(x.shape)} "
                                   f"which does not broadcast with size {sizes[c]} seen before, in {equation!r}")
            sizes[c] = max(sizes.get(c, 1), n) if n else 0
    return sizes


def _broadcast(x: Tensor, term: str, sizes: dict) -> Tensor:
    """``x`` expanded where its size-1 dimensions meet larger ones (the engine sums the gradient back)."""
    shape = tuple(sizes[c] for c in term)
    return x if shape == tuple(x.shape) else expand(x, *shape)


def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the dimensions named in ``equation`` (Einstein notation), as ``torch.einsum``.

    Operands may be given one by one or as a list. ``...`` stands for dimensions that are not named;
    without ``->`` the output is the letters seen once, in alphabetical order. Runs the array module's einsum.

    Example:
        >>> a, b = gg.randn(2, 3), gg.randn(3, 4)
        >>> gg.einsum("ij,jk->ik", a, b).shape     # a @ b
        (2, 4)
        >>> gg.einsum("ii", gg.eye(3))              # the trace
        tensor(3.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(x, Tensor) for x in operands):
        raise TypeError(f"einsum(): expected Tensor operands after the equation, got "
                        f"{[type(x).__name__ for x in operands]}")
    target = operands[0]
    for x in operands[1:]:
        target, _ = promote("einsum", target, x)
    operands = [x.to(target.dtype) for x in operands]
    terms, output, sizes, operands = _parse(equation, operands)
    return Einsum(terms, output, sizes)(*operands)


def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """The outer product of two vectors: ``out[i, j] = input[i] * vec2[j]``.

    Example:
        >>> gg.outer(gg.tensor([1, 2]), gg.tensor([1, 10, 100]))
        tensor([[  1,  10, 100],
                [  2,  20, 200]])
    """
    if input.array.ndim != 1 or vec2.array.ndim != 1:
        raise RuntimeError(f"outer(): expected 1-D tensors, got shapes {tuple(input.shape)} and {tuple(vec2.shape)}; "
                           "flatten them first")
    return mul(reshape(input, -1, 1), reshape(vec2, 1, -1))
