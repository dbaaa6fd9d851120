"""gg.nn: Module, Parameter, layers, losses, ``functional``, ``init`` and ``utils``.

    >>> model = gg.nn.Sequential(gg.nn.Linear(3, 16), gg.nn.GELU(), gg.nn.Linear(16, 2))
    >>> loss = gg.nn.CrossEntropyLoss()(model(gg.randn(8, 3)), gg.randint(0, 2, (8,)))
    >>> loss.backward()
"""

from . import functional, init, parallel, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .containers import ModuleList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter
from .sparse import Embedding

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GELU", "HuberLoss",
    "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Tanh",
    "functional", "init", "parallel", "utils",
]
