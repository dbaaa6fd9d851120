"""Check analytic gradients against central finite differences (float64).

    >>> x = gg.randn(3, 4, dtype=gg.float64, requires_grad=True)
    >>> gg.autograd.gradcheck(lambda t: (t.sin() * t).sum(dim=1), (x,))
    True
"""

from __future__ import annotations

import numpy as np

from .engine import grad


class GradcheckError(AssertionError):
    """Raised by gradcheck when analytic and numerical Jacobians disagree."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_tensor(x) -> bool:
    from ..tensor import Tensor

    return isinstance(x, Tensor)


def _differentiable_inputs(inputs) -> list:
    found = [x for x in inputs if _is_tensor(x) and x.requires_grad]
    for x in found:
        if x.array.dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: inputs that require grad should be float64 for a meaningful check, got {x.dtype}; "
                "create them with dtype=gg.float64"
            )
    if not found:
        raise GradcheckError("gradcheck: no input requires grad; set requires_grad=True on the inputs to check")
    return found


def _host(array) -> np.ndarray:
    from ..backends import to_host

    return np.array(to_host(array), dtype=np.float64)


def _analytic(outputs, wrt) -> list:
    """Per output, a (numel(wrt_total), numel(output)) Jacobian built one output element at a time."""
    from ..tensor import Tensor

    jacobians = []
    for out in outputs:
        columns = np.zeros((sum(x.array.size for x in wrt), out.array.size))
        if out.requires_grad:
            for j in range(out.array.size):
                with out.device.activate():  # CuPy allocates on its current device, not the tensor's
                    seed = out.device.xp.zeros(out.array.shape, dtype=out.array.dtype)
                    seed.reshape(-1)[j] = 1
                grads = grad(out, wrt, grad_outputs=Tensor._make(seed, out.device), retain_graph=True, allow_unused=True)
                columns[:, j] = np.concatenate(
                    [_host(g.array).ravel() if g is not None else np.zeros(x.array.size) for g, x in zip(grads, wrt)]
                )
        jacobians.append(columns)
    return jacobians


def _numerical(fn, inputs, wrt, eps: float) -> list:
    """Per output, the central-difference Jacobian, perturbing each element of each input in turn.

    ``fn`` runs with grad mode as the caller has it: gradgradcheck's ``fn`` itself calls ``grad``.
    """
    sizes = [o.array.size for o in _as_tuple(fn(*inputs))]
    jacobians = [np.zeros((sum(x.array.size for x in wrt), n)) for n in sizes]
    row = 0
    for x in wrt:
        flat = x.array.reshape(-1)  # a view: writes reach the tensor
        for k in range(x.array.size):
            original = flat[k].item()
            _write(x, flat, k, original + eps)
            plus = [_host(o.array).ravel() for o in _as_tuple(fn(*inputs))]
            _write(x, flat, k, original - eps)
            minus = [_host(o.array).ravel() for o in _as_tuple(fn(*inputs))]
            _write(x, flat, k, original)
            for jac, p, m in zip(jacobians, plus, minus):
                jac[row, :] = (p - m) / (2 * eps)
            row += 1
    return jacobians


def _write(x, flat, k, value) -> None:
    with x.device.activate():  # a write into a cuda:1 array runs on cuda:1
        flat[k] = value


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare ``fn``'s gradients with central differences for every input that requires grad.

    Args:
        fn: a function of ``inputs`` returning a tensor or a tuple of tensors.
        inputs: a tuple of arguments; tensors with ``requires_grad`` (float64) are checked.
        eps, atol, rtol: the step and the tolerance ``|analytic - numerical| <= atol + rtol * |numerical|``.
        raise_exception: raise GradcheckError on a mismatch (default) instead of returning False.

    Returns:
        True when every Jacobian entry agrees.
    """
    inputs = _as_tuple(inputs)
    wrt = _differentiable_inputs(inputs)
    if any(not x.array.flags.c_contiguous for x in wrt):
        raise GradcheckError("gradcheck: inputs must be contiguous (call .contiguous() on a detached copy)")
    outputs = [o for o in _as_tuple(fn(*inputs))]
    analytic = _analytic(outputs, wrt)
    numerical = _numerical(fn, inputs, wrt, eps)
    for out_index, (a, n) in enumerate(zip(analytic, numerical)):
        error = np.abs(a - n) - (atol + rtol * np.abs(n))
        if error.size and (error.max() > 0 or not np.all(np.isfinite(a))):
            if not raise_exception:
                return False
            raise GradcheckError(_report(out_index, a, n, error, wrt))
    return True


def _report(out_index: int, analytic, numerical, error, wrt) -> str:
    row, col = np.unravel_index(np.nanargmax(np.where(np.isfinite(analytic), error, np.inf)), error.shape)
    input_index, offset = 0, row
    while offset >= wrt[input_index].array.size:
        offset -= wrt[input_index].array.size
        input_index += 1
    position = np.unravel_index(offset, wrt[input_index].array.shape)
    return (
        f"Jacobian mismatch for output {out_index} with respect to input {input_index}: worst element "
        f"d out[{col}] / d input[{tuple(int(p) for p in position)}]: analytic {analytic[row, col]!r}, "
        f"numerical {numerical[row, col]!r}, difference {abs(analytic[row, col] - numerical[row, col]):.3g}.\n"
        f"analytic:\n{analytic}\nnumerical:\n{numerical}"
    )


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of ``inputs, v -> grad(fn(inputs), inputs, v, create_graph=True)``.

    ``grad_outputs`` (the ``v``) are random float64 tensors when not given; they are checked as inputs too.
    """
    from ..creation import randn

    inputs = _as_tuple(inputs)
    wrt_mask = [_is_tensor(x) and x.requires_grad for x in inputs]
    outputs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(
            randn(*o.shape, dtype="float64", device=o.device, requires_grad=True) for o in outputs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)

    def first_derivative(*args):
        ins, vs = args[:n], args[n:]
        outs = _as_tuple(fn(*ins))
        wrt = [x for x, m in zip(ins, wrt_mask) if m]
        grads = grad(outs, wrt, grad_outputs=list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
