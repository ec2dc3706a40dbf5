r"""The rule of a central difference, in plain Python: its step and its tolerance.

The one statement of the rule that :mod:`netlib.gradcheck.engine` applies
(with numpy arrays) and that ``derive``'s confirmation applies where numpy
is absent (the browser build, plain floats). It imports nothing beyond the
standard library, so that it runs in both; the derivation is in the package
docstring of :mod:`netlib.gradcheck`:

.. math:: h = \epsilon^{1/3} s, \qquad s = \max(1, |x|),

.. math:: |a - n| \le K\, \epsilon^{2/3} \Big(\Gamma + \frac{F}{s}\Big), \qquad K = 100,

with :math:`\Gamma` the size of the gradient and :math:`F = \sum_i |u_i f_i|`
the size of the terms summed into :math:`\langle u, f\rangle`. Both functions
use arithmetic operators only, so they apply entry by entry to numpy arrays
as well as to floats.
"""

from __future__ import annotations

import math
import sys

__all__ = ["EPS", "ERROR_FACTOR", "SAFETY_FACTOR", "STEP_FACTOR", "relative", "step",
           "tolerance"]

#: float64 machine epsilon (a Python float is a float64).
EPS = sys.float_info.epsilon
STEP_FACTOR = EPS ** (1 / 3)           # h = eps^(1/3) * scale
ERROR_FACTOR = EPS ** (2 / 3)          # truncation and rounding both ~ eps^(2/3)
#: K in the tolerance ``|a - n| <= K eps^(2/3) (Gamma + F/s)``.
SAFETY_FACTOR = 100.0


def step(scale):
    """The nominal step ``h = ε^(1/3)·s`` for an argument of scale ``s = max(1, |x|)``.

    >>> step(1.0) == STEP_FACTOR
    True
    """
    return STEP_FACTOR * scale


def tolerance(gamma, size, scale):
    """``K·ε^(2/3)·(Γ + F/s)``: ``gamma`` the gradient's size, ``size`` the
    function's ``F``, ``scale`` the argument's ``s`` (shrunk where the step was).

    >>> round(tolerance(1.0, 0.0, 1.0) / ERROR_FACTOR)
    100
    """
    return SAFETY_FACTOR * ERROR_FACTOR * (gamma + size / scale)


def relative(error: float, scale: float) -> float:
    """The relative error ``max|a - e| / max|e|`` from its two maxima.

    ``0.0`` when both are zero, ``inf`` when only the reference is, NaN when
    the error is NaN (a NaN never passes).

    >>> relative(0.5, 2.0), relative(0.0, 0.0), relative(1e-9, 0.0)
    (0.25, 0.0, inf)
    """
    if math.isnan(error):
        return float("nan")
    if scale > 0:
        return error / scale
    return 0.0 if error == 0 else float("inf")
