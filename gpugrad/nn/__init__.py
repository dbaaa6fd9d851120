"""gg.nn: Module, Parameter, layers, losses, ``functional``, ``init`` and ``utils``.

    >>> model = gg.nn.Sequential(gg.nn.Linear(3, 16), gg.nn.GELU(), gg.nn.Linear(16, 2))
    >>> loss = gg.nn.CrossEntropyLoss()(model(gg.randn(8, 3)), gg.randint(0, 2, (8,)))
    >>> loss.backward()
"""

from . import functional, init, parallel, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .containers import ModuleList, Sequential
from .conv import Conv1d, Conv2d, Fold, Unfold
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .sparse import Embedding

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "Conv1d",
    "Conv2d", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "Fold", "GELU", "HuberLoss", "Identity",
    "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "Module",
    "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax",
    "Tanh", "Unfold", "functional", "init", "parallel", "utils",
]
