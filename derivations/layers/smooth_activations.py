r"""GELU (exact and tanh form), SiLU and ELU, restated from their definitions.

Elementwise maps again, so every Jacobian is diagonal and every stated VJP is
:math:`G \odot f'(x)` with :math:`f'` written by hand below; the exact check
confirms each against ``jacobian``. The exact GELU is written with SymPy's
``erf``; netlib evaluates it with its own numpy erfc (series and continued
fraction), and the numeric check holds the two together at 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from derivations.core import (
    Derivation,
    Mutant,
    Sigma,
    elementwise,
    logistic,
    times_derivative,
    uniform_sample,
)
from derivations.notation import DefinedFunction
from netlib import ELU, GELU, SiLU

SHAPES = ({"x": (2, 3)}, {"x": (3, 4)})

#: The tanh approximation's constants, exactly: sqrt(2/pi) and 0.044715.
TANH_SCALE = sympy.sqrt(2 / sympy.pi)
TANH_CUBIC = sympy.Rational(44715, 1000000)

#: ELU's alpha in the derivation (not 1, so that the two sides of the kink differ).
ELU_ALPHA = sympy.Rational(7, 10)


def normal_cdf(x):
    r""":math:`\Phi(x) = \frac12\big(1 + \operatorname{erf}(x/\sqrt2)\big)`."""
    return (1 + sympy.erf(x / sympy.sqrt(2))) / 2


def normal_pdf(x):
    r""":math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`."""
    return sympy.exp(-x ** 2 / 2) / sympy.sqrt(2 * sympy.pi)


class Phi(DefinedFunction):
    r""":math:`\Phi`, the standard normal CDF, shown by name."""

    latex_name = r"\Phi"

    @classmethod
    def definition(cls, z):
        return normal_cdf(z)


class SmallPhi(DefinedFunction):
    r""":math:`\varphi`, the standard normal density, shown by name."""

    latex_name = r"\varphi"

    @classmethod
    def definition(cls, z):
        return normal_pdf(z)


def gelu_exact(x):
    r""":math:`x\,\Phi(x)`."""
    return x * Phi(x)


def tanh_argument(x):
    r""":math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`."""
    return TANH_SCALE * (x + TANH_CUBIC * x ** 3)


class TanhArgument(DefinedFunction):
    r""":math:`u(x)`, the argument of tanh in the approximation, shown by name."""

    latex_name = "u"

    @classmethod
    def definition(cls, z):
        return tanh_argument(z)


class TanhArgumentSlope(DefinedFunction):
    r""":math:`u'(x) = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)`, shown by name."""

    latex_name = "u'"

    @classmethod
    def definition(cls, z):
        return TANH_SCALE * (1 + 3 * TANH_CUBIC * z ** 2)


def gelu_tanh(x):
    r""":math:`\frac12 x\,(1 + \tanh u) = x\,\sigma(2u)`.

    The identity :math:`1 + \tanh u = 2\sigma(2u)` (multiply the exponential
    form of tanh through by :math:`e^{-u}`) leaves one exponential,
    :math:`e^{-2u}`, so the residual of the exact check is a rational function
    of one exponential (:mod:`derivations.verify.zero`).
    """
    return x * Sigma(2 * TanhArgument(x))


def silu(x):
    r""":math:`x\,\sigma(x)`."""
    return x * Sigma(x)


def elu(x):
    r""":math:`x` for :math:`x > 0`, :math:`\alpha(e^x - 1)` otherwise."""
    return sympy.Piecewise((x, x > 0), (ELU_ALPHA * (sympy.exp(x) - 1), True))


def _gelu_tanh_slope(x):
    # Product rule on ½x(1 + t), t = tanh u: ½(1 + t) + ½x (1 - t²) u', written
    # with s = σ(2u): ½(1 + t) = s and ½(1 - t²) = ½(1 - t)(1 + t) = 2 s (1 - s).
    s = Sigma(2 * TanhArgument(x))
    return s + 2 * x * s * (1 - s) * TanhArgumentSlope(x)


#: Φ in numpy, for the mutant below (math.erfc entry by entry).
_normal_cdf_numpy = np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2)))


class GELUWithoutProductRule(GELU):
    def _backward(self, g):
        return g * _normal_cdf_numpy(self._x)


GELU_EXACT = Derivation(
    name="gelu",
    title="GELU (exact, erf form)",
    netlib_class=GELU,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(gelu_exact),
    # Product rule: Φ(x) + x Φ'(x), and Φ' = φ, the normal density.
    stated={"x": times_derivative(lambda x: Phi(x) + x * SmallPhi(x))},
    build=lambda values: GELU(),
    sample=uniform_sample(-4.0, 4.0),
    notes="numpy has no erf: netlib computes erfc from a positive-term series "
          "(|z| < 1.2) and a continued fraction (|z| >= 1.2), relative error below "
          "1e-14, and Φ(x) as erfc(-x/√2)/2 so that Φ keeps its digits for x << 0.",
    mutants=(
        Mutant("gelu_without_product_rule",
               "dx = G Φ(x): the x φ(x) term dropped",
               "wrong slope, worst near |x| = 1",
               GELUWithoutProductRule),
    ),
)

class GELUTanhWithExactDerivative(GELU):
    def _backward(self, g):
        x = self._x                            # Φ(x) + x φ(x): the erf form's slope
        return g * (_normal_cdf_numpy(x) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi))


GELU_TANH = Derivation(
    name="gelu_tanh",
    title="GELU (tanh approximation)",
    netlib_class=GELU,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(gelu_tanh),
    stated={"x": times_derivative(_gelu_tanh_slope)},
    build=lambda values: GELU(approximate="tanh"),
    sample=uniform_sample(-4.0, 4.0),
    hyper={"approximate": "tanh"},
    notes="A different function from the exact GELU (they differ by up to ~5e-4), "
          "with its own derivative: mixing the forward of one with the backward of "
          "the other is a mistake the numeric check sees.",
    mutants=(
        Mutant("gelu_tanh_exact_derivative",
               "the exact GELU's slope Φ(x) + x φ(x) in the tanh form's backward",
               "off by up to ~1e-3: the two functions differ",
               GELUTanhWithExactDerivative),
    ),
)

class SiLUSigmoidOnly(SiLU):
    def _backward(self, g):
        return g * logistic(self._x)


SILU = Derivation(
    name="silu",
    title="SiLU (swish)",
    netlib_class=SiLU,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(silu),
    stated={"x": times_derivative(lambda x: Sigma(x) * (1 + x * (1 - Sigma(x))))},
    build=lambda values: SiLU(),
    sample=uniform_sample(-4.0, 4.0),
    mutants=(
        Mutant("silu_sigmoid_only",
               "dx = G σ(x): the product rule forgotten",
               "misses x σ(x)(1 - σ(x))",
               SiLUSigmoidOnly),
    ),
)

class ELUOutputAsSlope(ELU):
    def _backward(self, g):
        x = self._x
        return np.where(x > 0, g, g * self.function(x))


ELU_ENTRY = Derivation(
    name="elu",
    title="ELU",
    netlib_class=ELU,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(elu),
    # On the negative side α e^x = y + α: netlib may use either.
    stated={"x": times_derivative(lambda x: sympy.Piecewise((1, x > 0), (ELU_ALPHA * sympy.exp(x),
                                                                True)))},
    build=lambda values: ELU(alpha=float(ELU_ALPHA)),
    sample=uniform_sample(away_from_zero=0.1),
    hyper={"alpha": ELU_ALPHA},
    notes="Kink at 0 unless alpha = 1 (here alpha = 7/10); samples stay at least "
          "0.1 away from it.",
    mutants=(
        Mutant("elu_output_as_slope",
               "y instead of y + α on the negative side",
               "negative slopes shifted by -α",
               ELUOutputAsSlope),
    ),
)
