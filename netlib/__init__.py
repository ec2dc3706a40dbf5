"""netlib: a numpy neural-network library whose gradients are derived and verified.

Row layout is canonical: a batch ``x`` has shape ``(batch, features)`` and a
dense layer computes ``x @ W + b`` with ``W`` of shape ``(in, out)``.
``backward(g)`` always computes a vector-Jacobian product. See the site's
glossary page for every convention.
"""

from netlib import layers
from netlib._validation import NonFiniteError
from netlib.gradcheck import check_gradients, check_layer, check_model
from netlib.layers import *  # noqa: F403
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
from netlib.training import History, TrainingDivergedWarning, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    *layers.__all__,
    "SGD",
    "Adam",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "History",
    "Loss",
    "MeanSquaredError",
    "Momentum",
    "NonFiniteError",
    "Optimizer",
    "Sequential",
    "SoftmaxCrossEntropy",
    "TrainingDivergedWarning",
    "check_gradients",
    "check_layer",
    "check_model",
    "evaluate",
    "fit",
    "load_parameters",
    "save_parameters",
]
