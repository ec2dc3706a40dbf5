r"""Elementwise activations, restated from their definitions.

For an entrywise map :math:`y = f(x)` the Jacobian of the flattened map is
diagonal, so every stated VJP below is :math:`G \odot f'(x)` with
:math:`f'` written by hand; the checks confirm it against ``jacobian``.
Kinks (ReLU at 0) are written as ``Piecewise`` with the convention
:math:`f'(0) = 0`, and the sampling domain keeps inputs away from them.
"""

from __future__ import annotations

import sympy

from derivations.core import (
    G_ENTRYWISE,
    X_ENTRYWISE,
    Derivation,
    Sigma,
    elementwise,
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


IDENTITY = Derivation(
    name="identity",
    title="Identity",
    netlib_class=Identity,
    inputs=("x",),
    shape_sets=SHAPES,
    forward=X_ENTRYWISE,
    stated={"x": G_ENTRYWISE},
    build=lambda values: Identity(),
)

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
)

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
)

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
)

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
)

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
)
