"""Autograd: the tape (nodes), the engine, grad mode, gradient checks and PyTorch's custom ``Function``.

``gg.autograd.Function`` is PyTorch's ``torch.autograd.Function`` (static forward/backward
with a ``ctx``); the built-in ops subclass the engine's array-level ``node.ArrayFunction``.

    >>> x = gg.tensor(3.0, requires_grad=True)
    >>> (dx,) = gg.autograd.grad(x ** 3, x, create_graph=True)    # 27
    >>> (ddx,) = gg.autograd.grad(dx, x)                           # 18
"""

from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from . import function
from .function import Function, FunctionCtx, once_differentiable
from .node import AccumulateGrad, Node
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "AccumulateGrad", "Function", "FunctionCtx", "GradcheckError", "Node", "Variable", "backward", "detect_anomaly",
    "enable_grad", "grad", "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "set_detect_anomaly",
    "gradcheck", "gradgradcheck", "inference_mode", "once_differentiable", "is_grad_enabled", "no_grad",
    "set_grad_enabled",
]
