"""netlib: a numpy neural-network library whose gradients are derived and verified.

Row layout is canonical: a batch ``x`` has shape ``(batch, features)`` and a
dense layer computes ``x @ W + b`` with ``W`` of shape ``(in, out)``.
``backward(g)`` always computes a vector-Jacobian product. See the site's
glossary page for every convention.
"""

from netlib.layers import (
    Dense,
    Identity,
    Layer,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
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
    "evaluate",
    "fit",
    "load_parameters",
    "save_parameters",
]
