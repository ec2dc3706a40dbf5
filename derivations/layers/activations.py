r"""Elementwise activations, restated from their definitions.

For an entrywise map :math:`y = f(x)` the Jacobian of the flattened map is
diagonal, so every stated VJP below is :math:`G \odot f'(x)` with
:math:`f'` written by hand; the checks confirm it against ``jacobian``.
Kinks (ReLU at 0) are written as ``Piecewise`` with the convention
:math:`f'(0) = 0`, and the sampling domain keeps inputs away from them.
"""

from __future__ import annotations

import numpy as np
import sympy

from derivations.core import (
    G_ENTRYWISE,
    X_ENTRYWISE,
    Derivation,
    Mutant,
    Sigma,
    elementwise,
    logistic,
    sigmoid,
    times_derivative,
    uniform_sample,
)
from netlib import Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh

#: Non-square shapes for a batch of inputs; both sets differ in each axis.
SHAPES = ({"x": (2, 3)}, {"x": (3, 4)})

#: LeakyReLU's slope for x < 0 in the derivation (netlib's default is 0.01; a
#: larger value makes a wrong slope visible in the numeric check).
LEAKY_ALPHA = sympy.Rational(1, 5)


def relu(x):
    """max(x, 0) as a Piecewise so that SymPy differentiates it on each side."""
    return sympy.Piecewise((x, x > 0), (0, True))


def leaky_relu(x):
    """x for x > 0, alpha x otherwise."""
    return sympy.Piecewise((x, x > 0), (LEAKY_ALPHA * x, True))


def softplus(x):
    """log(1 + e^x)."""
    return sympy.log(1 + sympy.exp(x))


class IdentitySignFlipped(Identity):
    def _backward(self, g):
        return -g


IDENTITY = Derivation(
    name="identity",
    title="Identity",
    netlib_class=Identity,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=X_ENTRYWISE,
    stated={"x": G_ENTRYWISE},
    build=lambda values: Identity(),
    mutants=(
        Mutant("identity_sign",
               "-G: a sign error",
               "the gradient is negated",
               IdentitySignFlipped),
    ),
)

class ReLUMaskFromOutputGreaterEqual(ReLU):
    def _backward(self, g):
        return g * (self._y >= 0)

class ReLUOutputAsDerivative(ReLU):
    def _backward(self, g):
        return g * self._y


RELU = Derivation(
    name="relu",
    title="ReLU",
    netlib_class=ReLU,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(relu),
    # The mask is the sign of the *input*; 0 at the kink by convention.
    stated={"x": times_derivative(lambda x: sympy.Piecewise((1, x > 0), (0, True)))},
    build=lambda values: ReLU(),
    sample=uniform_sample(away_from_zero=0.1),
    notes="Not differentiable at 0; the subgradient 0 is used there. Samples stay "
          "at least 0.1 away from the kink.",
    mutants=(
        Mutant("relu_mask_output_ge",
               "mask y >= 0 on the output: always true",
               "negative inputs pass their gradient",
               ReLUMaskFromOutputGreaterEqual),
        Mutant("relu_output_as_derivative",
               "G ⊙ y: the output used as the derivative",
               "positive inputs scaled by y instead of 1",
               ReLUOutputAsDerivative),
    ),
)

class LeakyReLUSlopeNotTimesG(LeakyReLU):
    def _backward(self, g):
        return np.where(self._x > 0, g, self.alpha)


LEAKY_RELU = Derivation(
    name="leaky_relu",
    title="Leaky ReLU",
    netlib_class=LeakyReLU,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(leaky_relu),
    stated={"x": times_derivative(lambda x: sympy.Piecewise((1, x > 0), (LEAKY_ALPHA, True)))},
    build=lambda values: LeakyReLU(alpha=float(LEAKY_ALPHA)),
    sample=uniform_sample(away_from_zero=0.1),
    hyper={"alpha": LEAKY_ALPHA},
    notes="Kink at 0 as for ReLU; samples stay at least 0.1 away from it.",
    mutants=(
        Mutant("leaky_relu_slope_not_times_g",
               "alpha instead of alpha·G on the negative side",
               "negative inputs get a constant gradient",
               LeakyReLUSlopeNotTimesG, slips_square_ones=True),
    ),
)

class SigmoidDerivativeOfPreactivation(Sigmoid):
    def _backward(self, g):
        x = self._x
        return g * x * (1 - x)

class SigmoidDerivativeAppliedToOutput(Sigmoid):
    def _backward(self, g):
        s = logistic(self._y)                   # σ'(y) = σ(y)(1 - σ(y)): σ applied twice
        return g * s * (1 - s)


SIGMOID = Derivation(
    name="sigmoid",
    title="Sigmoid",
    netlib_class=Sigmoid,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(sigmoid),
    # σ' = σ (1 - σ): the derivative of the *output*, evaluated at σ(x).
    stated={"x": times_derivative(lambda x: Sigma(x) * (1 - Sigma(x)))},
    build=lambda values: Sigmoid(),
    notes="netlib never exponentiates a positive number (e^{-|x|}).",
    mutants=(
        Mutant("sigmoid_derivative_of_preactivation",
               "σ' computed as x(1 - x) from the pre-activation",
               "wrong values everywhere, of either sign",
               SigmoidDerivativeOfPreactivation),
        Mutant("sigmoid_derivative_of_output",
               "σ'(y) = σ(y)(1 - σ(y)) applied to the output y = σ(x)",
               "values near 0.2-0.25 instead of y(1 - y)",
               SigmoidDerivativeAppliedToOutput),
    ),
)

class TanhDerivativeNotSquared(Tanh):
    def _backward(self, g):
        return g * (1 - self._y)

class TanhDerivativeOfPreactivation(Tanh):
    def _backward(self, g):
        return g * (1 - self._x ** 2)


TANH = Derivation(
    name="tanh",
    title="Tanh",
    netlib_class=Tanh,
    inputs=("x",),
    shape_sets=SHAPES,
    # From the exponential definition, so that SymPy's derivative of tanh is
    # not simply quoted back to us.
    forward=elementwise(lambda x: (sympy.exp(x) - sympy.exp(-x)) / (sympy.exp(x) + sympy.exp(-x))),
    stated={"x": times_derivative(lambda x: 1 - sympy.tanh(x) ** 2)},
    build=lambda values: Tanh(),
    mutants=(
        Mutant("tanh_derivative_not_squared",
               "1 - y instead of 1 - y²",
               "wrong values, > 1 for negative y",
               TanhDerivativeNotSquared),
        Mutant("tanh_derivative_of_preactivation",
               "1 - x² from the input instead of 1 - y² from the output",
               "wrong values, negative for |x| > 1",
               TanhDerivativeOfPreactivation),
    ),
)

class SoftplusSigmoidOfNegative(Softplus):
    def _backward(self, g):
        return g * logistic(-self._x)


SOFTPLUS = Derivation(
    name="softplus",
    title="Softplus",
    netlib_class=Softplus,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(softplus),
    stated={"x": times_derivative(Sigma)},
    build=lambda values: Softplus(),
    notes="netlib computes logaddexp(0, x), which never overflows.",
    mutants=(
        Mutant("softplus_sigmoid_of_negative",
               "σ(-x) instead of σ(x)",
               "mirror image: large where it should be small",
               SoftplusSigmoidOfNegative),
    ),
)
