r"""Smooth activations of modern networks: GELU, SiLU (swish) and ELU.

Like every elementwise map (see :mod:`netlib.layers.activations`), each has a
diagonal Jacobian :math:`J = \operatorname{diag}(f'(x))`, so its VJP is
:math:`f'(x) \odot g`. The exact GELU needs the error function, which numpy
does not have; :func:`erfc` below computes it
with two classical expansions (max relative error 7e-15 against
:func:`math.erfc` on [-8, 8]), so netlib stays numpy-only.
"""

from __future__ import annotations

import numpy as np

from netlib.layers.activations import Elementwise, sigmoid

__all__ = ["GELU", "SiLU", "ELU"]

#: Below this argument :func:`erfc` sums the series, above it the continued fraction.
_SERIES_LIMIT = 1.2
#: Terms of the series: at z = 1.2 they fall below 1e-17 of the sum after ~30.
_SERIES_TERMS = 60
#: Depth of the continued fraction: at z = 1.2 it has converged to ~1e-15 (faster for
#: larger z). Below 1.2, erfc = 1 - erf loses at most a factor 1/erfc(1.2) ~ 11.
_FRACTION_DEPTH = 120


def _erf_series(z: np.ndarray) -> np.ndarray:
    r"""erf for :math:`0 \le z` small, from a series of positive terms only.

    .. math:: \operatorname{erf} z = \frac{2}{\sqrt\pi} e^{-z^2}
              \sum_{n\ge 0} \frac{2^n z^{2n+1}}{1\cdot 3 \cdots (2n+1)}

    Unlike the Taylor series of erf (alternating, whose terms reach
    :math:`e^{z^2}` before cancelling), every term here is positive, so no
    digits are lost to cancellation.
    """
    term = z.copy()
    total = z.copy()
    two_z2 = 2 * z * z
    for n in range(1, _SERIES_TERMS):
        term *= two_z2 / (2 * n + 1)
        total += term
    return (2 / np.sqrt(np.pi)) * np.exp(-z * z) * total


def _erfc_fraction(z: np.ndarray) -> np.ndarray:
    r"""erfc for :math:`z \ge 1.2`, from its continued fraction (evaluated bottom-up).

    .. math:: \operatorname{erfc} z = \frac{e^{-z^2}}{\sqrt\pi}\,
              \cfrac{1}{z + \cfrac{1/2}{z + \cfrac{1}{z + \cfrac{3/2}{z + \cdots}}}}

    It keeps full *relative* accuracy however small erfc gets, which
    ``1 - erf(z)`` cannot.
    """
    f = z.copy()
    for k in range(_FRACTION_DEPTH, 0, -1):
        f = z + (k / 2) / f
    with np.errstate(under="ignore"):      # erfc(z) underflows for z > ~26.5
        return np.exp(-z * z) / (np.sqrt(np.pi) * f)


def erfc(x: np.ndarray) -> np.ndarray:
    r"""Complementary error function :math:`1 - \operatorname{erf} x`, elementwise.

    Relative error below 1e-14 wherever the result is a normal float (the
    tests compare it with :func:`math.erfc`). For :math:`x < 0` it uses
    :math:`\operatorname{erfc}(x) = 2 - \operatorname{erfc}(-x)`.

    Examples
    --------
    >>> import numpy as np
    >>> erfc(np.array([0.0, 1.0, -1.0]))
    array([1.        , 0.15729921, 1.84270079])
    """
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    small = z < _SERIES_LIMIT
    # Evaluate both branches on clipped arguments (no division by tiny z, no
    # overflow), then keep the right one for each element.
    from_series = 1 - _erf_series(np.minimum(z, _SERIES_LIMIT))
    from_fraction = _erfc_fraction(np.maximum(z, _SERIES_LIMIT))
    upper = np.where(small, from_series, from_fraction)
    return np.where(x >= 0, upper, 2 - upper)


def erf(x: np.ndarray) -> np.ndarray:
    r"""Error function :math:`\frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt`, elementwise."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    value = np.where(z < _SERIES_LIMIT, _erf_series(np.minimum(z, _SERIES_LIMIT)),
                     1 - _erfc_fraction(np.maximum(z, _SERIES_LIMIT)))
    return np.sign(x) * value


def normal_cdf(x: np.ndarray) -> np.ndarray:
    r"""Standard normal CDF :math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt 2)`.

    Written with erfc rather than :math:`\tfrac12(1 + \operatorname{erf})` so
    that :math:`\Phi(-6) \approx 10^{-9}` keeps all its digits.
    """
    return 0.5 * erfc(-x / np.sqrt(2.0))


def normal_pdf(x: np.ndarray) -> np.ndarray:
    r"""Standard normal density :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`."""
    with np.errstate(under="ignore"):
        return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


#: :math:`\sqrt{2/\pi}` and the cubic coefficient of the tanh approximation.
_TANH_SCALE = float(np.sqrt(2 / np.pi))
_TANH_CUBIC = 0.044715


class GELU(Elementwise):
    r"""Gaussian error linear unit, exact or with the tanh approximation.

    Exact (``approximate="none"``):

    .. math:: y = x\,\Phi(x), \qquad
              \frac{\partial L}{\partial x} = g \odot \big(\Phi(x) + x\,\varphi(x)\big)

    Tanh approximation (``approximate="tanh"``), with
    :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)` and :math:`t = \tanh u`:

    .. math::
        y = \tfrac12 x (1 + t),

        \frac{\partial L}{\partial x} = g \odot \Big(\tfrac12(1 + t)
        + \tfrac12 x (1 - t^2) \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\, x^2)\Big)

    The two differ by at most about 5e-4 (a separate map, not a rounding of
    the exact one: each has its own derivation).

    Examples
    --------
    >>> import numpy as np
    >>> GELU().forward(np.array([[-1.0, 0.0, 2.0]])).round(6)
    array([[-0.158655,  0.      ,  1.9545  ]])
    """

    name = "gelu"

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: expected approximate 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def describe(self):
        return "GELU()" if self.approximate == "none" else "GELU(approximate='tanh')"

    def function(self, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_TANH_SCALE * (x + _TANH_CUBIC * x ** 3)))
        return (x * normal_cdf(x)).astype(x.dtype, copy=False)

    def _backward(self, g):
        x = self._x
        if self.approximate == "tanh":
            t = np.tanh(_TANH_SCALE * (x + _TANH_CUBIC * x ** 3))
            du_dx = _TANH_SCALE * (1 + 3 * _TANH_CUBIC * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx)
        slope = normal_cdf(x) + x * normal_pdf(x)    # product rule on x·Φ(x)
        return (g * slope).astype(g.dtype, copy=False)


class SiLU(Elementwise):
    r"""Sigmoid linear unit (swish), :math:`y = x\,\sigma(x)`.

    .. math:: \frac{\partial L}{\partial x} = g \odot \sigma(x)\big(1 + x(1 - \sigma(x))\big)

    (the product rule: :math:`\sigma + x \sigma (1 - \sigma)`).
    """

    name = "silu"

    def function(self, x):
        return x * sigmoid(x)

    def _backward(self, g):
        s = sigmoid(self._x)
        return g * (s * (1 + self._x * (1 - s)))


class ELU(Elementwise):
    r"""Exponential linear unit.

    .. math:: y = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases},
              \qquad
              \frac{\partial L}{\partial x} = g \odot
              \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}

    The negative branch uses ``expm1`` (accurate for small :math:`|x|`). At
    :math:`x = 0` the slope taken is :math:`\alpha`, the left derivative
    (both sides agree when :math:`\alpha = 1`).
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        if not (np.isfinite(alpha) and alpha > 0):
            raise ValueError(f"ELU: expected a positive finite alpha, got {alpha!r}")
        self.alpha = float(alpha)

    def describe(self):
        return f"ELU(alpha={self.alpha})"

    def function(self, x):
        alpha = x.dtype.type(self.alpha)
        with np.errstate(under="ignore"):
            return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    def _backward(self, g):
        x = self._x
        alpha = g.dtype.type(self.alpha)
        with np.errstate(under="ignore"):
            return np.where(x > 0, g, g * alpha * np.exp(np.minimum(x, 0)))
