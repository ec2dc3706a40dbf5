r"""Layers built from layers: the residual connection.

A residual block computes :math:`y = x + f(x)`. Its Jacobian is
:math:`I + J_f`, so its VJP is :math:`g + J_f^\top g`: the upstream gradient
flows through the skip path *unchanged* and is added to whatever the inner
layer sends back. (That unchanged path is why deep residual networks train.)
"""

from __future__ import annotations

from netlib._validation import check_layer_object
from netlib.layers.base import Layer, forward_checked_upstream

__all__ = ["Residual"]


class Residual(Layer):
    r"""Residual connection around one layer: :math:`y = x + f(x)`.

    VJP: :math:`\partial L/\partial x = g + f\text{.backward}(g)`; the inner
    layer's parameter gradients are filled by its own ``backward``.
    ``params`` and ``grads`` *are* the inner layer's dicts (same keys, same
    arrays), so optimizers, ``Sequential.parameters()`` and the checks see
    them directly. ``f`` must keep the shape of its input.

    Parameters
    ----------
    inner : Layer
        The layer :math:`f` (e.g. a ``MultiHeadAttention``, or a ``Sequential``-free
        single ``Dense(d, d)``).

    Examples
    --------
    >>> import numpy as np
    >>> from netlib.layers.activations import Tanh
    >>> block = Residual(Tanh())
    >>> x = np.array([[0.0, 1.0]])
    >>> block.forward(x).round(4)
    array([[0.    , 1.7616]])
    >>> block.backward(np.ones((1, 2))).round(4)      # 1 + (1 - tanh²)
    array([[2.  , 1.42]])
    """

    name = "residual"

    def __init__(self, inner: Layer) -> None:
        super().__init__()
        check_layer_object("Residual", inner, "as the inner layer")
        self.inner = inner
        self.params = inner.params          # shared, not copied
        self.grads = inner.grads
        self.training = getattr(inner, "training", True)

    def describe(self):
        return f"Residual({self.inner.describe()})"

    def train(self, mode: bool = True) -> Residual:
        self.training = mode
        if hasattr(self.inner, "train"):
            self.inner.train(mode)
        return self

    def _forward(self, x):
        fx = forward_checked_upstream(self.inner, x)     # x was checked by forward
        if fx.shape != x.shape:
            raise ValueError(f"{self.describe()}: expected the inner layer to keep the input "
                             f"shape {x.shape}, got output shape {fx.shape}")
        return x + fx

    def _backward(self, g):
        return g + self.inner.backward(g)     # skip path + inner path
