"""netlib layers: each a forward map and its vector-Jacobian product."""

from netlib.layers.activations import (
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
from netlib.layers.attention import MultiHeadAttention
from netlib.layers.base import Layer
from netlib.layers.combinators import Residual
from netlib.layers.conv import Conv2D
from netlib.layers.dense import Dense
from netlib.layers.dropout import Dropout
from netlib.layers.embedding import Embedding
from netlib.layers.normalization import BatchNorm1d, LayerNorm
from netlib.layers.pooling import AvgPool2D, MaxPool2D
from netlib.layers.shape import Flatten
from netlib.layers.smooth_activations import ELU, GELU, SiLU
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
