"""The update math of every optimizer, on raw arrays, in one place each.

Each ``*_update`` function takes lists of arrays of one device (NumPy or CuPy,
computed with the array module ``xp``) and updates the parameters and their
state buffers **in place**; gradients are only read. The optimizer classes
gather the arrays of a param group and call :func:`run_update`, which hands the
lists to a fused kernel from ``gpugrad.backends.fused`` when that module exists
and says it supports them, and to the function here otherwise. A fused kernel
therefore has the exact signature of the function it replaces, and this file
is its reference.

The formulas (and, where it matters for rounding, the order of operations)
are PyTorch's single-tensor implementations of ``torch.optim``:

    >>> import numpy as np
    >>> p, g = [np.array([1.0, 2.0])], [np.array([0.5, -0.5])]
    >>> sgd_update(p, g, [None], lr=0.1, momentum=0.0, dampening=0.0, nesterov=False,
    ...            weight_decay=0.0, maximize=False, first_step=True, xp=np)
    >>> p[0]
    array([0.95, 2.05])
"""

from __future__ import annotations


def sgd_update(params, grads, momentum_buffers, *, lr, momentum, dampening, nesterov, weight_decay, maximize,
               first_step, xp) -> None:
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    Args:
        params, grads: lists of same-shaped arrays; params are updated in place.
        momentum_buffers: one array per param (updated in place), or Nones when ``momentum == 0``.
        first_step: True when the buffers have never been written: PyTorch then sets the buffer
            to the gradient itself, without dampening.
    """
    for param, grad, buf in zip(params, grads, momentum_buffers):
        d_p = -grad if maximize else grad
        if weight_decay != 0:
            d_p = d_p + weight_decay * param
        if momentum != 0:
            if first_step:
                buf[...] = d_p
            else:
                buf *= momentum
                buf += (1 - dampening) * d_p
            d_p = d_p + momentum * buf if nesterov else buf
        param -= lr * d_p


def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step, lr, beta1, beta2, eps,
                weight_decay, decoupled, amsgrad, maximize, xp) -> None:
    """Adam (``decoupled=False``, L2 penalty added to the gradient) or AdamW (``decoupled=True``).

    Args:
        exp_avgs, exp_avg_sqs: first and second moment buffers, updated in place.
        max_exp_avg_sqs: the running maxima of the second moments when ``amsgrad``, else Nones.
        step: the step count *after* incrementing (1 on the first update), used for the bias
            corrections: a Python number shared by all params, or (``capturable``) a list with
            one 0-d array per param, on its device. From arrays the bias corrections are
            computed with array ops, so no value leaves the device and a traced graph reads
            the live counters; the arithmetic is the same, in the same order.
    """
    shared_step = not isinstance(step, list)
    if shared_step:
        step_size, bias_correction2_sqrt = _adam_bias_corrections(step, lr, beta1, beta2)
    for i, param in enumerate(params):
        if not shared_step:
            step_size, bias_correction2_sqrt = _adam_bias_corrections(step[i], lr, beta1, beta2)
        grad = -grads[i] if maximize else grads[i]
        if weight_decay != 0:
            if decoupled:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        # one scratch array per parameter, every step written with out=: the same arithmetic, in the
        # same order, as the plain expressions in the comments, without their seven temporaries
        scratch = xp.subtract(grad, exp_avg)
        scratch *= 1 - beta1
        exp_avg += scratch  # exp_avg += (1 - beta1) * (grad - exp_avg), PyTorch's lerp_(grad, 1 - beta1)
        exp_avg_sq *= beta2
        xp.multiply(grad, 1 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq += scratch  # exp_avg_sq += (1 - beta2) * grad * grad
        if amsgrad:
            xp.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])
            second_moment = max_exp_avg_sqs[i]
        else:
            second_moment = exp_avg_sq
        xp.sqrt(second_moment, out=scratch)
        scratch /= bias_correction2_sqrt
        scratch += eps  # denom = sqrt(second_moment) / bias_correction2_sqrt + eps
        xp.divide(exp_avg, scratch, out=scratch)
        scratch *= step_size
        param -= scratch  # param -= step_size * (exp_avg / denom)


def _adam_bias_corrections(step, lr, beta1, beta2):
    """Adam's ``lr / (1 - beta1**t)`` and ``sqrt(1 - beta2**t)``: Python floats from a number, 0-d arrays from one."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    return lr / bias_correction1, bias_correction2_sqrt


def rmsprop_update(params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr, alpha, eps, weight_decay,
                   momentum, centered, maximize, xp) -> None:
    """RMSprop, optionally centered (dividing by an estimate of the variance) and with momentum.

    Args:
        square_avgs: running averages of the squared gradients, updated in place.
        grad_avgs: running averages of the gradients when ``centered``, else Nones.
        momentum_buffers: one array per param when ``momentum > 0``, else Nones.
    """
    for i, param in enumerate(params):
        grad = -grads[i] if maximize else grads[i]
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg = square_avgs[i]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if centered:
            grad_avg = grad_avgs[i]
            grad_avg += (1 - alpha) * (grad - grad_avg)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = momentum_buffers[i]
            buf *= momentum
            buf += grad / avg
            param -= lr * buf
        else:
            param -= lr * (grad / avg)


def adagrad_update(params, grads, state_sums, *, step, lr, lr_decay, weight_decay, eps, maximize, xp) -> None:
    """Adagrad: each coordinate's step shrinks with the sum of its squared gradients.

    Args:
        state_sums: the accumulated squared gradients, updated in place.
        step: the step count *after* incrementing; the learning rate decays as
            ``lr / (1 + (step - 1) * lr_decay)``.
    """
    clr = lr / (1 + (step - 1) * lr_decay)
    for param, grad, state_sum in zip(params, grads, state_sums):
        if maximize:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        state_sum += grad * grad
        std = xp.sqrt(state_sum)
        std += eps
        param -= clr * (grad / std)


def adadelta_update(params, grads, square_avgs, acc_deltas, *, lr, rho, eps, weight_decay, maximize, xp) -> None:
    """Adadelta: steps scaled by the ratio of the running RMS of past steps to that of the gradients.

    Args:
        square_avgs: running averages of the squared gradients, updated in place.
        acc_deltas: running averages of the squared steps, updated in place.
    """
    for param, grad, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
        if maximize:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= lr * delta


def adamax_update(params, grads, exp_avgs, exp_infs, *, step, lr, beta1, beta2, eps, weight_decay, maximize,
                  xp) -> None:
    """Adamax: Adam with the second moment replaced by a decaying maximum of the gradient's magnitude.

    Args:
        exp_avgs: first moment buffers, updated in place.
        exp_infs: the decaying maxima ``max(beta2 * u, |grad| + eps)``, updated in place.
        step: the step count *after* incrementing, for the bias correction ``1 - beta1**step``.
    """
    clr = lr / (1 - beta1 ** step)
    for param, grad, exp_avg, exp_inf in zip(params, grads, exp_avgs, exp_infs):
        if maximize:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        exp_avg += (1 - beta1) * (grad - exp_avg)  # PyTorch's lerp_(grad, 1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + eps, out=exp_inf)
        param -= clr * (exp_avg / exp_inf)


UPDATES = {
    "sgd": sgd_update,
    "adam": adam_update,
    "rmsprop": rmsprop_update,
    "adagrad": adagrad_update,
    "adadelta": adadelta_update,
    "adamax": adamax_update,
}


_NOT_LOOKED_UP = object()
_fused = _NOT_LOOKED_UP


def fused_backend():
    """``gpugrad.backends.fused`` when it exists, else None (the module is optional).

    Looked up once: a failed import costs tens of microseconds, too much to pay on every step.
    """
    global _fused
    if _fused is _NOT_LOOKED_UP:
        try:
            from gpugrad.backends import fused
        except ImportError:
            fused = None
        _fused = fused
    return _fused


def run_update(name: str, params, *args, **kwargs) -> None:
    """Run optimizer ``name``'s update on ``params``: a fused kernel when one supports them, else the code above.

    The fused module is asked ``fused.supports(name, params)`` with the list of
    raw parameter arrays (all of one device) and must answer False for a name it
    has no kernel for; if it answers True, ``fused.<name>_update`` is called with
    exactly the arguments the function in this file would get, ``xp`` included.

    A step count held in arrays (``step=[...]``, Adam with ``capturable=True``) always runs
    the code here: the fused kernels take the step as a host scalar, and reading it back
    would synchronize with the device and bake one value into a captured graph.
    """
    fused = fused_backend()
    if fused is not None and not isinstance(kwargs.get("step"), list) and fused.supports(name, params):
        getattr(fused, f"{name}_update")(params, *args, **kwargs)
        return
    UPDATES[name](params, *args, **kwargs)
