"""netlib layers: each a forward map and its vector-Jacobian product."""

from netlib.layers.activations import (
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
from netlib.layers.base import Layer
from netlib.layers.dense import Dense
from netlib.layers.softmax import LogSoftmax, Softmax

__all__ = [
    "Dense",
    "Identity",
    "Layer",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]
