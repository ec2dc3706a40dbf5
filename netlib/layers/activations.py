r"""Elementwise activations.

An elementwise map :math:`y_i = f(x_i)` has a diagonal Jacobian
:math:`J = \operatorname{diag}(f'(x))`, so its VJP is the elementwise product
:math:`J^\top g = f'(x) \odot g`: no transpose, no sum. What differs between
activations is only whether :math:`f'` is cheapest from the input ``x`` or the
stored output ``y`` (sigmoid and tanh reuse ``y``).
"""

from __future__ import annotations

import numpy as np

from netlib.layers.base import Layer

__all__ = ["Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus"]


class Elementwise(Layer):
    """Base of the elementwise activations: any input shape, output alike."""

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        self._y = self.function(x)
        return self._y

    def function(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Identity(Elementwise):
    r"""The identity, :math:`y = x`; VJP :math:`g`. A linear output layer."""

    name = "identity"

    def function(self, x):
        return x

    def _backward(self, g):
        return g


class ReLU(Elementwise):
    r"""Rectified linear unit, :math:`y = \max(x, 0)`.

    VJP: :math:`g \odot [x > 0]`. The mask comes from the *input* sign; at the
    kink :math:`x = 0` we use the subgradient 0 (as PyTorch and JAX do).
    """

    name = "relu"

    def function(self, x):
        # Speed: against a scalar 0, numpy's maximum runs an unvectorised
        # loop; against a row of zeros broadcast over the leading axes its
        # inner loop is two contiguous arrays, which numpy vectorises
        # (measured in benchmarks/README.md). Same values, NaN propagation
        # included.
        return np.maximum(x, np.zeros(x.shape[-1:], dtype=x.dtype))

    def _backward(self, g):
        return g * (self._x > 0)


class LeakyReLU(Elementwise):
    r"""Leaky ReLU, :math:`y = x` for :math:`x > 0` and :math:`\alpha x` otherwise.

    VJP: :math:`g \odot (1 \text{ if } x > 0 \text{ else } \alpha)`.
    """

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not np.isfinite(alpha):
            raise ValueError(f"LeakyReLU: expected a finite alpha, got {alpha!r}")
        self.alpha = float(alpha)

    def describe(self):
        return f"LeakyReLU(alpha={self.alpha})"

    def function(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.alpha))

    def _backward(self, g):
        return np.where(self._x > 0, g, g * g.dtype.type(self.alpha))


def sigmoid(x: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`\sigma(x) = 1/(1 + e^{-x})`, without overflow.

    ``exp`` is only ever taken of :math:`-|x| \le 0`, so it cannot overflow:
    for :math:`x \ge 0`, :math:`\sigma = 1/(1+e^{-x})`; for :math:`x < 0`,
    :math:`\sigma = e^{x}/(1+e^{x})`. For very negative ``x`` the exponential
    underflows to 0, which is the correctly rounded answer, so the underflow
    flag is silenced here (and only here).
    """
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Elementwise):
    r"""Logistic sigmoid, :math:`y = \sigma(x)`.

    VJP: :math:`g \odot y (1 - y)`, from the stored *output* (the derivative
    taken of the pre-activation, :math:`x(1-x)`, is a classic mistake).
    """

    name = "sigmoid"

    def function(self, x):
        return sigmoid(x)

    def _backward(self, g):
        y = self._y
        with np.errstate(under="ignore"):   # y (1 - y) ~ 1e-300 at |x| ~ 700
            return g * (y * (1 - y))


class Tanh(Elementwise):
    r"""Hyperbolic tangent, :math:`y = \tanh x`; VJP :math:`g \odot (1 - y^2)`."""

    name = "tanh"

    def function(self, x):
        return np.tanh(x)

    def _backward(self, g):
        return g * (1 - self._y * self._y)


class Softplus(Elementwise):
    r"""Softplus, :math:`y = \log(1 + e^{x})`; VJP :math:`g \odot \sigma(x)`.

    Computed as ``logaddexp(0, x)`` which never overflows (:math:`y \approx x`
    for large :math:`x`).
    """

    name = "softplus"

    def function(self, x):
        with np.errstate(under="ignore"):
            return np.logaddexp(0, x)

    def _backward(self, g):
        return g * sigmoid(self._x)
