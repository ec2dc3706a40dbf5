r"""GELU (exact and tanh form), SiLU and ELU, restated from their definitions.

Elementwise maps again, so every Jacobian is diagonal and every stated VJP is
:math:`G \odot f'(x)` with :math:`f'` written by hand below; the exact check
confirms each against ``jacobian``. The exact GELU is written with SymPy's
``erf``; netlib evaluates it with its own numpy erfc (series and continued
fraction), and the numeric check holds the two together at 1e-12.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation, elementwise, sigmoid, uniform_sample
from derivations.layers.activations import times_derivative
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


def gelu_exact(x):
    r""":math:`x\,\Phi(x)`."""
    return x * normal_cdf(x)


def tanh_argument(x):
    r""":math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`."""
    return TANH_SCALE * (x + TANH_CUBIC * x ** 3)


def gelu_tanh(x):
    r""":math:`\frac12 x\,(1 + \tanh u) = x\,\sigma(2u)`.

    The identity :math:`1 + \tanh u = 2\sigma(2u)` (multiply the exponential
    form of tanh through by :math:`e^{-u}`) leaves one exponential,
    :math:`e^{-2u}`, so the exact check's ``cancel`` sees a rational function
    of one generator; with :math:`e^{u}` and :math:`e^{-u}` both present it
    takes ten times longer.
    """
    return x * sigmoid(2 * tanh_argument(x))


def silu(x):
    r""":math:`x\,\sigma(x)`."""
    return x * sigmoid(x)


def elu(x):
    r""":math:`x` for :math:`x > 0`, :math:`\alpha(e^x - 1)` otherwise."""
    return sympy.Piecewise((x, x > 0), (ELU_ALPHA * (sympy.exp(x) - 1), True))


def _gelu_tanh_slope(x):
    # Product rule on ½x(1 + t), t = tanh u: ½(1 + t) + ½x (1 - t²) u', written
    # with s = σ(2u): ½(1 + t) = s and ½(1 - t²) = ½(1 - t)(1 + t) = 2 s (1 - s).
    s = sigmoid(2 * tanh_argument(x))
    return s + 2 * x * s * (1 - s) * TANH_SCALE * (1 + 3 * TANH_CUBIC * x ** 2)


GELU_EXACT = Derivation(
    name="gelu",
    title="GELU (exact, erf form)",
    netlib_class=GELU,
    definition_latex=r"y = x\,\Phi(x) = \tfrac{x}{2}\Big(1 + \operatorname{erf}"
                     r"\big(\tfrac{x}{\sqrt 2}\big)\Big)",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(gelu_exact),
    # Product rule: Φ(x) + x Φ'(x), and Φ' = φ, the normal density.
    stated={"x": times_derivative(lambda x: normal_cdf(x) + x * normal_pdf(x))},
    stated_latex={"x": r"G \odot \big(\Phi(X) + X \odot \varphi(X)\big)"},
    build=lambda values: GELU(),
    sample=uniform_sample(-4.0, 4.0),
    notes="numpy has no erf: netlib computes erfc from a positive-term series "
          "(|z| < 1.2) and a continued fraction (|z| >= 1.2), relative error below "
          "1e-14, and Φ(x) as erfc(-x/√2)/2 so that Φ keeps its digits for x << 0.",
)

GELU_TANH = Derivation(
    name="gelu_tanh",
    title="GELU (tanh approximation)",
    netlib_class=GELU,
    definition_latex=r"y = \tfrac12 x \big(1 + \tanh u\big),\quad "
                     r"u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(gelu_tanh),
    stated={"x": times_derivative(_gelu_tanh_slope)},
    stated_latex={"x": r"G \odot \Big(\tfrac12(1 + T) + \tfrac12 X \odot (1 - T^2) \odot "
                       r"\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\, X^2)\Big),\ T = \tanh U"},
    build=lambda values: GELU(approximate="tanh"),
    sample=uniform_sample(-4.0, 4.0),
    hyper={"approximate": "tanh"},
    notes="A different function from the exact GELU (they differ by up to ~5e-4), "
          "with its own derivative: mixing the forward of one with the backward of "
          "the other is a mistake the numeric check sees.",
)

SILU = Derivation(
    name="silu",
    title="SiLU (swish)",
    netlib_class=SiLU,
    definition_latex=r"y = x\,\sigma(x) = \frac{x}{1 + e^{-x}}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(silu),
    stated={"x": times_derivative(lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))))},
    stated_latex={"x": r"G \odot \sigma(X) \odot \big(1 + X \odot (1 - \sigma(X))\big)"},
    build=lambda values: SiLU(),
    sample=uniform_sample(-4.0, 4.0),
)

ELU_ENTRY = Derivation(
    name="elu",
    title="ELU",
    netlib_class=ELU,
    definition_latex=r"y = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=elementwise(elu),
    # On the negative side α e^x = y + α: netlib may use either.
    stated={"x": times_derivative(lambda x: sympy.Piecewise((1, x > 0), (ELU_ALPHA * sympy.exp(x),
                                                                True)))},
    stated_latex={"x": r"G \odot \big([X > 0] + \alpha e^{X} [X \le 0]\big)"},
    build=lambda values: ELU(alpha=float(ELU_ALPHA)),
    sample=uniform_sample(away_from_zero=0.1),
    hyper={"alpha": ELU_ALPHA},
    notes="Kink at 0 unless alpha = 1 (here alpha = 7/10); samples stay at least "
          "0.1 away from it.",
)
