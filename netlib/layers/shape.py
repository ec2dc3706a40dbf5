r"""Layers that only rearrange entries: :class:`Flatten`.

A reshape keeps every entry and its row-major position, so its Jacobian is the
identity matrix of the flattened size, and the VJP is ``g`` reshaped back to
the input's shape.
"""

from __future__ import annotations

from netlib.layers.base import Layer

__all__ = ["Flatten"]


class Flatten(Layer):
    r"""Flatten every axis but the first: ``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    Row-major (C order), the same order as ``np.ravel``, so a ``(N, C, H, W)``
    image batch becomes ``(N, C*H*W)`` with :math:`(c, h, w)` at column
    :math:`(c H + h) W + w`. VJP: ``g.reshape(x.shape)``.

    Examples
    --------
    >>> import numpy as np
    >>> Flatten().forward(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    name = "flatten"

    def _forward(self, x):
        if x.ndim < 2:
            raise ValueError(f"Flatten: expected x with at least 2 dimensions (batch, ...), "
                             f"got shape {x.shape}")
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1).copy()   # a new array, not a view of x

    def _backward(self, g):
        return g.reshape(self._x_shape)
