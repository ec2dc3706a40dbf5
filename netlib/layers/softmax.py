r"""Softmax and log-softmax over the features of each sample.

Unlike the elementwise activations, every output of a softmax depends on every
input of the same sample: the Jacobian of one sample is the full matrix

.. math:: \frac{\partial y_i}{\partial x_j} = y_i(\delta_{ij} - y_j),
          \qquad J = \operatorname{diag}(y) - y y^\top,

and the VJP never needs it: :math:`J^\top g = y \odot (g - \langle g, y\rangle)`.
Keeping only the diagonal :math:`y(1-y)` is a classic mistake.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import check_ndim
from netlib.layers.base import Layer
from netlib.layers.dense import check_layout

__all__ = ["Softmax", "LogSoftmax"]


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    r""":math:`x - \operatorname{logsumexp}(x)` along ``axis``, max-shifted.

    Subtracting the maximum first makes every exponent :math:`\le 0`, so
    nothing overflows; the largest term is :math:`e^0 = 1`, so the log of the
    sum is never :math:`\log 0`. Terms that underflow to 0 are negligible
    against that 1, so the underflow flag is silenced.
    """
    shifted = x - x.max(axis=axis, keepdims=True)
    with np.errstate(under="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``axis``, max-shifted (see :func:`log_softmax`)."""
    with np.errstate(under="ignore"):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


class _OverFeatures(Layer):
    """Shared by the two softmaxes: 2-D input, features on the layout's axis."""

    def __init__(self, layout: str = "rows") -> None:
        super().__init__()
        self.layout = check_layout(type(self).__name__, layout)
        self.axis = 1 if layout == "rows" else 0

    def describe(self):
        extra = "" if self.layout == "rows" else "layout='columns'"
        return f"{type(self).__name__}({extra})"

    def _check(self, x):
        where = "(batch, features)" if self.layout == "rows" else "(features, batch)"
        check_ndim(self.describe(), "x", x, 2, where)


class Softmax(_OverFeatures):
    r"""Softmax over the features of each sample.

    .. math:: y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}, \qquad
              \frac{\partial L}{\partial x} = y \odot \Big(g - \sum_j g_j y_j\Big)
    """

    name = "softmax"

    def _forward(self, x):
        self._check(x)
        self._y = softmax(x, self.axis)
        return self._y

    def _backward(self, g):
        y = self._y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(_OverFeatures):
    r"""Log-softmax over the features of each sample.

    .. math:: y_i = x_i - \log\sum_j e^{x_j}, \qquad
              \frac{\partial L}{\partial x} = g - \operatorname{softmax}(x) \sum_j g_j
    """

    name = "log_softmax"

    def _forward(self, x):
        self._check(x)
        self._y = log_softmax(x, self.axis)
        return self._y

    def _backward(self, g):
        with np.errstate(under="ignore"):
            p = np.exp(self._y)       # softmax(x), recovered from the stored output
        return g - p * g.sum(axis=self.axis, keepdims=True)
