"""netlib: a numpy neural-network library whose gradients are derived and verified.

Row layout is canonical: a batch ``x`` has shape ``(batch, features)`` and a
dense layer computes ``x @ W + b`` with ``W`` of shape ``(in, out)``.
``backward(g)`` always computes a vector-Jacobian product. See the site's
glossary page for every convention.
"""

from netlib.gradcheck import check_gradients, check_layer, check_model
from netlib.layers import (
    ELU,
    GELU,
    AvgPool2D,
    BatchNorm1d,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    LogSoftmax,
    MaxPool2D,
    MultiHeadAttention,
    ReLU,
    Residual,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from netlib.losses import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    Loss,
    MeanSquaredError,
    SoftmaxCrossEntropy,
)
from netlib.model import Sequential
from netlib.optim import SGD, Adam, Momentum, Optimizer
from netlib.serialization import load_parameters, save_parameters
from netlib.training import History, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "Dense",
    "History",
    "Identity",
    "Layer",
    "LeakyReLU",
    "LogSoftmax",
    "Loss",
    "MeanSquaredError",
    "Momentum",
    "Optimizer",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Softmax",
    "Softplus",
    "Tanh",
    "check_gradients",
    "check_layer",
    "check_model",
    "evaluate",
    "fit",
    "load_parameters",
    "save_parameters",
    "AvgPool2D",
    "BatchNorm1d",
    "Conv2D",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "LayerNorm",
    "MaxPool2D",
    "MultiHeadAttention",
    "Residual",
    "SiLU",
]
