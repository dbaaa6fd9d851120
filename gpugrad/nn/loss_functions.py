"""Loss functions with PyTorch's formulas, arguments and reductions (re-exported by ``gg.nn.functional``).

Each loss is a composition of differentiable ops, so its gradient (and
double backward) comes from the primitives. ``reduction`` is ``"mean"``
(default), ``"sum"`` or ``"none"`` (the per-element losses).

One deliberate difference from PyTorch: where PyTorch broadcasts an input
and target of different shapes with a warning (mse_loss, l1_loss,
huber_loss), gpugrad raises, because that broadcast is almost always a bug
(``(N, 1)`` predictions against ``(N,)`` targets give an ``(N, N)`` loss).
"""

from __future__ import annotations

from .. import dtypes
from ..ops.elementwise import _const, abs, clamp, log, softplus, where
from ..ops.shape import permute, reshape
from ..ops.reduction import log_softmax
from ..tensor import Tensor
from ..device import on_tensor_device

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------- argument checks
def _check_reduction(loss: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{loss}(): reduction={reduction!r} is not a valid value; use 'mean' (default), 'sum' or 'none'"
        )


def _check_tensors(loss: str, input, target) -> None:
    for role, value in (("input", input), ("target", target)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{loss}(): {role} must be a Tensor, got {type(value).__name__}; wrap it with gg.tensor(...)"
            )


def _check_same_shape(loss: str, input: Tensor, target: Tensor) -> None:
    _check_tensors(loss, input, target)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{loss}(): target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}. "
            f"PyTorch would broadcast them (usually a bug); make them equal, e.g. target.view({tuple(input.shape)}) "
            "or input.squeeze(-1)"
        )


def _check_broadcasts_to(loss: str, role: str, value: Tensor, shape: tuple) -> None:
    ok = value.ndim <= len(shape) and all(
        v in (1, s) for v, s in zip(reversed(value.shape), reversed(shape))
    )
    if not ok:
        raise ValueError(
            f"{loss}(): {role} of shape {tuple(value.shape)} does not broadcast to the input's shape {shape}"
        )


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


# ----------------------------------------------------------- regression
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target) ** 2``, reduced.

    Example:
        >>> F.mse_loss(gg.tensor([1.0, 2.0]), gg.tensor([1.0, 4.0]))
        tensor(2.)
    """
    _check_reduction("mse_loss", reduction)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``, reduced (gradient 0 where they are equal, as PyTorch)."""
    _check_reduction("l1_loss", reduction)
    _check_same_shape("l1_loss", input, target)
    return _reduce(abs(input - target), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``, with ``d = input - target``."""
    _check_reduction("huber_loss", reduction)
    _check_same_shape("huber_loss", input, target)
    if not delta > 0:
        raise ValueError(f"huber_loss(): delta must be positive, got {delta}")
    diff = input - target
    size = abs(diff)
    quadratic = diff * diff * 0.5
    linear = (size - 0.5 * delta) * delta
    return _reduce(where(size < delta, quadratic, linear), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``, with ``d = input - target``.

    That is ``huber_loss(delta=beta) / beta``; ``beta=0`` is the L1 loss, as in PyTorch.
    (PyTorch's deprecated ``size_average``/``reduce`` arguments are not taken: use ``reduction``.)

    Example:
        >>> F.smooth_l1_loss(gg.tensor([0.0, 3.0]), gg.tensor([0.5, 0.0]))
        tensor(1.3125)
    """
    _check_reduction("smooth_l1_loss", reduction)
    _check_same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss(): does not support negative values for beta, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) / beta


# ----------------------------------------------------------- binary classification
def _log_clamped(x: Tensor) -> Tensor:
    """``max(log(x), -100)`` as PyTorch's BCE computes it, with a finite gradient at ``x == 0``.

    ``x`` is swapped for 1 where it is not positive before the log, so the
    log's backward never divides by zero there; that position gets gradient 0.
    """
    positive = x > 0
    safe_log = clamp(log(where(positive, x, 1.0)), min=-100.0)
    return where(positive, safe_log, -100.0)


def _outside_unit_interval(x: Tensor) -> bool:
    """Whether any element is outside [0, 1]; NaN counts as outside, as in PyTorch's check."""
    xp = x.device.xp
    return x.numel() > 0 and not bool(xp.all((x.array >= 0) & (x.array <= 1)))


@on_tensor_device
def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """``-weight * (target * log(input) + (1 - target) * log(1 - input))`` for probabilities ``input``.

    Each log is clamped to >= -100 as PyTorch does, so ``input`` of exactly 0
    or 1 gives a finite loss. Prefer ``binary_cross_entropy_with_logits`` on
    raw scores: it is stable where ``sigmoid`` followed by this is not.

    Args:
        input: probabilities in [0, 1].
        target: same shape as ``input``, usually 0/1 labels.
        weight: optional rescaling that broadcasts to ``input``'s shape.
        reduction: "mean" | "sum" | "none".
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    _check_same_shape(name, input, target)
    if _outside_unit_interval(input):
        raise RuntimeError(
            f"{name}(): all elements of input should be between 0 and 1 (they are probabilities); "
            "apply sigmoid first, or use binary_cross_entropy_with_logits on the raw scores"
        )
    if _outside_unit_interval(target):
        raise RuntimeError(
            f"{name}(): all elements of target should be between 0 and 1 (labels or probabilities), as in PyTorch"
        )
    losses = -(target * _log_clamped(input) + (1.0 - target) * _log_clamped(1.0 - input))
    if weight is not None:
        _check_broadcasts_to(name, "weight", weight, tuple(input.shape))
        losses = losses * weight
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy on raw scores (logits): ``BCE(sigmoid(input), target)`` computed stably.

    Uses ``(1 - y) * x + l * softplus(-x)`` with ``l = 1 + (pos_weight - 1) * y``,
    which equals ``max(x, 0) - x * y + log1p(exp(-|x|))`` without pos_weight and
    stays finite for logits of any size (±1000 included). Written with
    ``softplus`` rather than ``max``/``abs`` so the gradient at ``x == 0`` is the
    exact ``sigmoid(0) - y`` instead of a kink's one-sided value.

    Args:
        input: logits of any shape.
        target: same shape, values in [0, 1].
        weight: optional rescaling per element, broadcast to ``input``'s shape.
        reduction: "mean" | "sum" | "none".
        pos_weight: weight of the positive term, broadcast along the last
            dimension (one value per class): > 1 raises recall, < 1 precision.

    Example:
        >>> F.binary_cross_entropy_with_logits(gg.tensor([1000.0, -1000.0]), gg.tensor([1.0, 0.0]))
        tensor(0.)
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    _check_same_shape(name, input, target)
    # log1p(exp(t)) equals t to float64 precision past 50 (softplus computes float16 in float32)
    log_one_plus_exp_neg = softplus(-input, threshold=50.0)
    if pos_weight is not None:
        _check_broadcasts_to(name, "pos_weight", pos_weight, tuple(input.shape))
        log_one_plus_exp_neg = (1.0 + (pos_weight - 1.0) * target) * log_one_plus_exp_neg
    losses = (1.0 - target) * input + log_one_plus_exp_neg
    if weight is not None:
        _check_broadcasts_to(name, "weight", weight, tuple(input.shape))
        losses = losses * weight
    return _reduce(losses, reduction)


# ----------------------------------------------------------- multi-class
def _class_rows(input: Tensor) -> Tensor:
    """``input`` as (M, C) rows, classes last: (C,) -> (1, C); (N, C, d1, ...) -> (N*d1*..., C)."""
    if input.ndim == 1:
        return reshape(input, 1, input.shape[0])
    if input.ndim == 2:
        return input
    classes_last = permute(input, 0, *range(2, input.ndim), 1)
    return reshape(classes_last, -1, input.shape[1])


def _num_classes(loss: str, input: Tensor) -> int:
    if input.ndim == 0:
        raise ValueError(f"{loss}(): input must have a class dimension, got a 0-d tensor")
    return input.shape[0 if input.ndim == 1 else 1]


def _check_class_weight(loss: str, weight: Tensor | None, input: Tensor) -> None:
    if weight is None:
        return
    classes = _num_classes(loss, input)
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise ValueError(
            f"{loss}(): weight must be a 1-D tensor with one value per class ({classes}), got shape "
            f"{tuple(weight.shape)}"
        )
    if weight.device is not input.device:
        raise RuntimeError(f"{loss}(): weight is on {weight.device} but input is on {input.device}; move it with .to()")


@on_tensor_device
def _pick_target_log_probs(loss: str, log_probs: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int):
    """The per-position ``-weight[t] * log_probs[t]`` for class indices ``target``.

    Returns:
        (losses, target_weights, valid): ``losses`` and ``target_weights`` (a
        constant, 0 at ignored positions) have ``target``'s shape; ``valid`` is
        the raw bool array of positions not equal to ``ignore_index``.
    """
    classes = _num_classes(loss, log_probs)
    expected = () if log_probs.ndim == 1 else (log_probs.shape[0],) + tuple(log_probs.shape[2:])
    if not isinstance(target, Tensor):
        raise TypeError(f"{loss}(): target must be a Tensor of class indices, got {type(target).__name__}")
    if target.dtype.category != dtypes.INT:
        raise TypeError(
            f"{loss}(): expected target of class indices with an integer dtype (int64), got {target.dtype}; "
            "cast with target.long(), or pass class probabilities of the input's shape to cross_entropy"
        )
    if target.device is not log_probs.device:
        raise RuntimeError(
            f"{loss}(): target is on {target.device} but input is on {log_probs.device}; move it with "
            f"target.to('{log_probs.device}')"
        )
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{loss}(): expected target of shape {expected} for input of shape {tuple(log_probs.shape)} (classes at "
            f"dim {0 if log_probs.ndim == 1 else 1}), got {tuple(target.shape)}"
        )
    xp = log_probs.device.xp
    flat_target = target.array.reshape(-1)
    valid = flat_target != ignore_index
    out_of_range = valid & ((flat_target < 0) | (flat_target >= classes))
    if bool(xp.any(out_of_range)):
        bad = int(flat_target[out_of_range][0])
        raise IndexError(
            f"{loss}(): target {bad} is out of bounds for {classes} classes (input shape {tuple(log_probs.shape)}); "
            f"class indices must be in [0, {classes}) or equal ignore_index={ignore_index}"
        )
    safe_target = xp.where(valid, flat_target, 0)
    dtype = log_probs.array.dtype
    if weight is None:
        weights = valid.astype(dtype)
    else:
        weights = weight.array.astype(dtype)[safe_target] * valid
    rows = _class_rows(log_probs)
    picked = rows[xp.arange(rows.shape[0]), safe_target]
    weights = _const(log_probs, weights)
    losses = reshape(-(picked * weights), *expected)
    return losses, reshape(weights, *expected), valid.reshape(expected)


@on_tensor_device
def _weighted_mean(losses: Tensor, target_weights: Tensor) -> Tensor:
    """PyTorch's weighted mean: divided by the weights of the non-ignored targets.

    When they sum to 0 (every target is ``ignore_index``, e.g. an all-padding batch) the loss is NaN
    but its gradient is 0, as in PyTorch, so such a batch does not poison the weights: the sum is
    divided by 1 there and NaN is added as a constant. ``target_weights`` is a constant, so this
    costs no host read (and traces under gg.compile).
    """
    total = target_weights.sum()
    xp = total.device.xp
    nothing = total.array == 0
    safe_total = _const(total, xp.where(nothing, 1, total.array).astype(total.array.dtype))
    nan_if_nothing = _const(total, xp.where(nothing, xp.nan, 0).astype(total.array.dtype))
    return losses.sum() / safe_total + nan_if_nothing


def nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log likelihood: ``-weight[t] * input[n, t]`` for log-probabilities ``input`` and class indices ``t``.

    Args:
        input: log-probabilities, shape (C,), (N, C) or (N, C, d1, ...).
        target: integer class indices, shape (), (N,) or (N, d1, ...).
        weight: optional per-class weights, shape (C,).
        ignore_index: positions whose target equals this contribute nothing
            (not even to the mean's denominator).
        reduction: "mean" divides by the sum of ``weight[t]`` over non-ignored positions.
    """
    _check_reduction("nll_loss", reduction)
    _check_tensors("nll_loss", input, target)
    _check_class_weight("nll_loss", weight, input)
    losses, target_weights, _ = _pick_target_log_probs("nll_loss", input, target, weight, ignore_index)
    if reduction == "mean":
        return _weighted_mean(losses, target_weights)
    return _reduce(losses, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` and a target of class indices or of class probabilities.

    The classes are at dim 1 (dim 0 for a 1-D input). A target of the input's
    shape is read as probabilities, anything else as integer class indices
    of the input's shape without the class dim, as in PyTorch.

    Args:
        input: unnormalised scores, shape (C,), (N, C) or (N, C, d1, ...).
        target: class indices (integers; ``ignore_index`` allowed) or class probabilities (floats).
        weight: optional per-class weights, shape (C,).
        ignore_index: for class indices: positions with this target are skipped.
        reduction: "mean" | "sum" | "none". For class indices, "mean" divides by
            the total weight of the non-ignored targets; for probabilities, by the
            number of positions (N * d1 * ...).
        label_smoothing: in [0, 1]; mixes the target with the uniform
            distribution: ``(1 - s) * target + s / C``.

    Example:
        >>> logits = gg.randn(4, 3, requires_grad=True)
        >>> F.cross_entropy(logits, gg.tensor([0, 2, 1, -100]), label_smoothing=0.1).backward()
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    _check_tensors(name, input, target)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}(): label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    classes = _num_classes(name, input)
    class_dim = 0 if input.ndim == 1 else 1
    _check_class_weight(name, weight, input)
    log_probs = log_softmax(input, class_dim)
    class_weight = None  # weight shaped to broadcast along the class dim
    if weight is not None:
        class_weight = reshape(weight.to(input.dtype), *[-1 if d == class_dim else 1 for d in range(input.ndim)])
    if tuple(target.shape) == tuple(input.shape):
        if ignore_index >= 0:
            raise ValueError(
                f"{name}(): ignore_index={ignore_index} is not supported for a target of class probabilities "
                f"(target shape {tuple(target.shape)} equals the input's); drop it or pass class indices"
            )
        return _cross_entropy_probabilities(log_probs, target, class_weight, class_dim, reduction, label_smoothing)

    losses, target_weights, valid = _pick_target_log_probs(name, log_probs, target, weight, ignore_index)
    nll = _weighted_mean(losses, target_weights) if reduction == "mean" else _reduce(losses, reduction)
    if label_smoothing == 0.0:
        return nll
    # the uniform part: -sum_c weight_c * log_probs_c at each position, ignored positions zeroed
    weighted = log_probs if class_weight is None else log_probs * class_weight
    smooth = where(_const(input, valid), -weighted.sum(dim=class_dim), 0.0)
    if reduction == "mean":
        smooth = _weighted_mean(smooth, target_weights)
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


def _cross_entropy_probabilities(log_probs, target, class_weight, class_dim, reduction, label_smoothing):
    if not target.dtype.is_floating_point:
        raise TypeError(
            f"cross_entropy(): a target of the input's shape {tuple(log_probs.shape)} is read as class probabilities "
            f"and must be floating point, got {target.dtype}; for class indices drop the class dim {class_dim}"
        )
    classes = log_probs.shape[class_dim]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    products = log_probs * target if class_weight is None else log_probs * target * class_weight
    losses = -products.sum(dim=class_dim)
    if reduction == "mean":
        return losses.sum() / (log_probs.numel() // classes) if log_probs.numel() else losses.sum() * float("nan")
    return _reduce(losses, reduction)


# ----------------------------------------------------------- distributions
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """The Kullback-Leibler divergence ``target * (log(target) - input)`` of log-probabilities ``input``
    from ``target`` (probabilities, or log-probabilities with ``log_target=True``); 0 where ``target`` is 0.

    ``reduction="batchmean"`` divides the sum by the batch size (the true KL divergence per sample);
    ``"mean"`` (the default, as PyTorch's) averages over all elements.

    Example:
        >>> F.kl_div(gg.tensor([[0.5, 0.5]]).log(), gg.tensor([[0.5, 0.5]]), reduction="batchmean")
        tensor(0.)
    """
    if reduction != "batchmean":
        _check_reduction("kl_div", reduction)
    _check_tensors("kl_div", input, target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        positive = target > 0
        safe_log = where(positive, target, 1.0).log()  # log(0) would poison the gradient where() discards
        losses = where(positive, target * (safe_log - input), 0.0 * input)
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(losses, reduction)
