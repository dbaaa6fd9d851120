"""Fused GPU ops for the optimizers and losses: gpugrad's CUDA kernels behind plain array signatures.

Callers ask :func:`supports` first and use their NumPy/CuPy code when it says no: on the CPU, without
CuPy or a GPU, for dtypes other than float32/float64, or when the kernels do not compile.

- ``sgd_update`` and ``adam_update`` have exactly the signatures of the references in
  ``gpugrad.optim.functional`` (``run_update`` there calls them): lists of raw arrays, updated in
  place, in one multi-tensor launch per (dtype, device) group.
- ``bce_with_logits`` and ``mse_loss`` return the loss *and* its gradient from one pass, for a loss
  ArrayFunction to keep for backward; ``softmax``/``softmax_backward`` and ``sum`` run the row-wise and
  reduction kernels.

Every function takes an optional ``backend`` (a ``gpugrad.backends.kernels.LaunchBackend``); the
default is the CuPy backend. The tests pass the CPU emulator instead, so this glue runs there too.

    >>> from gpugrad.backends import fused
    >>> if fused.supports("adam", params):
    ...     fused.adam_update(params, grads, m, v, [None] * len(params), step=1, lr=1e-3, beta1=0.9,
    ...                       beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False,
    ...                       maximize=False, xp=cupy)
"""

from __future__ import annotations

from . import kernels

# Optimizer names as gpugrad.optim.functional.run_update spells them ("adam" covers AdamW), and the ops.
OPTIMIZERS = ("sgd", "adam")
OPS = ("bce_with_logits", "mse_loss", "softmax", "log_softmax", "sum", "mean")


def _resolve(backend):
    backend = backend if backend is not None else kernels.cupy_backend()
    if backend is None:
        raise RuntimeError("gpugrad.backends.fused needs a GPU (CuPy with a usable device); check fused.supports first")
    return backend


def _flatten(arrays):
    if isinstance(arrays, (list, tuple)):
        for item in arrays:
            yield from _flatten(item)
    elif arrays is not None:
        yield arrays


def supports(name: str, arrays, *, backend=None) -> bool:
    """Whether the fused kernel ``name`` can run on ``arrays`` (a list, possibly nested, or one array).

    True only for device arrays of the backend (CuPy by default), float32 or float64, C-contiguous,
    all on one device, when the kernels compile there; False otherwise, and always for NumPy
    arrays with the CuPy backend. Cheap enough to ask on every optimizer step (the compile check is
    memoized).

    Example:
        >>> fused.supports("sgd", [np.zeros(3)])
        False
    """
    if name not in OPTIMIZERS and name not in OPS:
        return False
    backend = backend if backend is not None else kernels.cupy_backend()
    if backend is None:
        return False
    arrays = list(_flatten(arrays))
    if not arrays or not all(backend.is_array(a) for a in arrays):
        return False
    if any(a.dtype not in kernels.FLOAT_DTYPES or not a.flags.c_contiguous for a in arrays):
        return False
    devices = {backend.device_id(a) for a in arrays}
    if len(devices) != 1:
        return False
    compiles = getattr(backend, "compiles", None)
    device = devices.pop()
    return compiles is None or all(compiles(dtype, device) for dtype in {a.dtype for a in arrays})


# ---------------------------------------------------------------------------------------------
# Optimizers


def _groups(backend, params, grads, *lists):
    """Split the indices of ``params`` into launchable groups by (dtype, device), and the rest.

    An entry can go to a kernel when its param, gradient and state arrays are device arrays of the
    param's float dtype, shape and device, and the param and states are C-contiguous (they are
    updated in place); a non-contiguous gradient is copied.
    """
    groups: dict = {}
    rest = []
    for i, param in enumerate(params):
        states = [lst[i] for lst in lists if lst is not None and lst[i] is not None]
        usable = backend.is_array(param) and param.dtype in kernels.FLOAT_DTYPES and all(
            backend.is_array(a) and a.dtype == param.dtype and a.shape == param.shape
            and backend.device_id(a) == backend.device_id(param) and (a is grads[i] or a.flags.c_contiguous)
            for a in [param, grads[i], *states]
        )
        if usable:
            groups.setdefault((param.dtype, backend.device_id(param)), []).append(i)
        else:
            rest.append(i)
    return groups, rest


def _contiguous_grad(backend, grad):
    return grad if grad.flags.c_contiguous else backend.broadcast_contiguous(grad, grad.shape)


def _pick(values, indices):
    return None if values is None else [values[i] for i in indices]


def sgd_update(params, grads, momentum_buffers, *, lr, momentum, dampening, nesterov, weight_decay, maximize,
               first_step, xp, backend=None) -> None:
    """SGD on lists of arrays, in place, one launch per (dtype, device); see ``gpugrad.optim.functional.sgd_update``.

    Entries the kernel cannot take (a non-contiguous param or buffer, a gradient of another dtype)
    go through the reference implementation instead.
    """
    backend = _resolve(backend)
    buffers = momentum_buffers if momentum != 0 else None
    groups, rest = _groups(backend, params, grads, buffers)
    for indices in groups.values():
        group_params = _pick(params, indices)
        group_grads = [_contiguous_grad(backend, grads[i]) for i in indices]
        kernels.sgd_multi_tensor(backend, group_params, group_grads, _pick(buffers, indices), lr=lr,
                                 momentum=momentum, dampening=dampening, nesterov=nesterov,
                                 weight_decay=weight_decay, maximize=maximize, first_step=first_step)
    if rest:
        from gpugrad.optim import functional

        functional.sgd_update(_pick(params, rest), _pick(grads, rest), _pick(momentum_buffers, rest), lr=lr,
                              momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay,
                              maximize=maximize, first_step=first_step, xp=xp)


def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step, lr, beta1, beta2, eps, weight_decay,
                decoupled, amsgrad, maximize, xp, backend=None) -> None:
    """Adam/AdamW on lists of arrays, in place, one launch per (dtype, device); see ``functional.adam_update``.

    Entries the kernel cannot take (a non-contiguous param or state) go through the reference.
    """
    backend = _resolve(backend)
    maxima = max_exp_avg_sqs if amsgrad else None
    groups, rest = _groups(backend, params, grads, exp_avgs, exp_avg_sqs, maxima)
    for indices in groups.values():
        group_grads = [_contiguous_grad(backend, grads[i]) for i in indices]
        kernels.adam_multi_tensor(backend, _pick(params, indices), group_grads, _pick(exp_avgs, indices),
                                  _pick(exp_avg_sqs, indices), _pick(maxima, indices), step=step, lr=lr, beta1=beta1,
                                  beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                                  amsgrad=amsgrad, maximize=maximize)
    if rest:
        from gpugrad.optim import functional

        functional.adam_update(_pick(params, rest), _pick(grads, rest), _pick(exp_avgs, rest),
                               _pick(exp_avg_sqs, rest), _pick(max_exp_avg_sqs, rest), step=step, lr=lr, beta1=beta1,
                               beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled, amsgrad=amsgrad,
                               maximize=maximize, xp=xp)


# ---------------------------------------------------------------------------------------------
# Losses, softmax, sums


def _contiguous(backend, array):
    return array if array.flags.c_contiguous else backend.broadcast_contiguous(array, array.shape)


def _repeating(backend, array, shape, name):
    """``array`` as the loss kernels take it: repeating over ``shape``, else broadcast to it."""
    if array is None:
        return None
    array = _contiguous(backend, array)
    try:
        kernels.repeat_period("fused", name, array, shape)
    except ValueError:
        return backend.broadcast_contiguous(array, shape)
    return array


def bce_with_logits(input, target, weight=None, pos_weight=None, reduction="mean", *, compute_grad=True,
                    backend=None):
    """``binary_cross_entropy_with_logits`` and its gradient for ``input`` in one pass (PyTorch's formula).

    ``weight`` and ``pos_weight`` broadcast against ``input`` as in PyTorch.

    Returns:
        (loss, grad_input): loss as ``reduction`` asks (0-d for "mean"/"sum"); grad_input is the
        gradient of that loss for an upstream gradient of 1 (multiply by the upstream scalar or,
        for "none", array), or None when ``compute_grad`` is False.

    Example:
        >>> loss, grad = fused.bce_with_logits(logits, target, pos_weight=pw)
    """
    backend = _resolve(backend)
    input, target = _contiguous(backend, input), _contiguous(backend, target)
    return kernels.bce_with_logits(backend, input, target, weight=_repeating(backend, weight, input.shape, "weight"),
                                   pos_weight=_repeating(backend, pos_weight, input.shape, "pos_weight"),
                                   reduction=reduction, compute_grad=compute_grad)


def mse_loss(input, target, reduction="mean", *, compute_grad=True, backend=None):
    """``mse_loss`` and its gradient for ``input`` in one pass (the gradient for ``target`` is its negative).

    Example:
        >>> loss, grad = fused.mse_loss(prediction, target)
    """
    backend = _resolve(backend)
    return kernels.mse_loss(backend, _contiguous(backend, input), _contiguous(backend, target), reduction=reduction,
                            compute_grad=compute_grad)


def softmax(x, *, log=False, backend=None):
    """softmax (or log_softmax) over the last axis.

    Example:
        >>> y = fused.softmax(x, log=True)
    """
    backend = _resolve(backend)
    return kernels.softmax_forward(backend, _contiguous(backend, x), log=log)


def softmax_backward(y, grad_y, *, log=False, backend=None):
    """Gradient of softmax (or log_softmax) over the last axis, from the forward output ``y``."""
    backend = _resolve(backend)
    return kernels.softmax_backward(backend, _contiguous(backend, y), _contiguous(backend, grad_y), log=log)


def sum(x, dim=None, *, mean=False, backend=None):  # noqa: A001 - the op's name
    """Sum (or mean) over all elements (``dim=None``, a 0-d result) or over the last axis (``dim=-1``).

    Example:
        >>> fused.sum(x, dim=-1, mean=True)
    """
    backend = _resolve(backend)
    x = _contiguous(backend, x)
    if dim is None:
        return kernels.sum_all(backend, x, mean=mean)
    if x.ndim and dim in (-1, x.ndim - 1):
        return kernels.sum_last_axis(backend, x, mean=mean)
    raise ValueError(f"fused.sum reduces over all elements or the last axis only, got dim={dim} for {x.ndim}-d input")
