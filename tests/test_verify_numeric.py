"""The numeric check's reference and tolerance, and the generated code it runs.

* The reference ``Jᵀ g`` is evaluated in extended precision; the tolerance is
  ``NUMERIC_RTOL``, or ``ROUNDING_FACTOR`` times what float64 rounding costs
  the formula at that point where that is larger. At an ill-conditioned point
  (two attention positions with almost equal scores) a correct backward
  passes, and a wrong one still fails.
* The Jacobian built by the rules of calculus equals SymPy's own.
* The cached numpy code of every entry runs from the cache (no second
  lambdify), which is what makes a warm ``check`` fast.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from derivations.registry import REGISTRY, get
from derivations.verify import numeric
from derivations.verify.differentiate import jacobian_matrix
from derivations.verify.numeric import (
    NUMERIC_RTOL,
    draw_point,
    netlib_vjp,
    reference_vjp,
)
from derivations.verify.zero import zero_entries
from netlib.gradcheck import relative_error

# Attention, second shape set, seed 90: x's two positions are (0.743, -0.174)
# and (0.745, -0.202), so the scores almost tie and dS's rows nearly cancel.
# A float64 evaluation of the exact Jacobian loses 9.5e-12 there (measured
# against 50-digit SymPy), and netlib's correct backward 3e-12.
ILL_CONDITIONED = ("attention", 90, "Wq")


def _point(name: str, seed: int):
    d = get(name)
    rng = np.random.default_rng(seed)
    for shapes in d.shape_sets:               # the same draws as check_numeric
        values, g = draw_point(d, shapes, rng)
    return d, shapes, values, g


def test_a_correct_backward_passes_where_float64_loses_digits():
    name, seed, wrt = ILL_CONDITIONED
    d, shapes, values, g = _point(name, seed)
    expected, tolerance = reference_vjp(d, wrt, shapes, values, g)
    error = relative_error(np.ravel(netlib_vjp(d, values, g)[wrt]), expected.ravel())
    assert error > NUMERIC_RTOL                # the plain 1e-12 would cry wolf here
    assert tolerance > NUMERIC_RTOL and error <= tolerance


def test_a_wrong_backward_still_fails_there():
    name, seed, wrt = ILL_CONDITIONED
    d, shapes, values, g = _point(name, seed)
    expected, tolerance = reference_vjp(d, wrt, shapes, values, g)
    right = np.ravel(netlib_vjp(d, values, g)[wrt])
    # The scale 1/sqrt(d_h) forgotten (d_h = 3); the entries in the wrong order.
    for wrong in (right * np.sqrt(3.0), right[::-1]):
        assert relative_error(wrong, expected.ravel()) > 1e3 * tolerance


def test_the_tolerance_is_the_plain_one_at_a_well_conditioned_point():
    d, shapes, values, g = _point("dense", 0)
    assert reference_vjp(d, "W", shapes, values, g)[1] == NUMERIC_RTOL


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "layer_norm", "relu", "gelu", "conv2d"])
def test_the_jacobian_by_rules_equals_sympys(name):
    d = get(name)
    shapes = d.shape_sets[0]
    outputs = list(d.output(shapes))
    for wrt in d.inputs:
        argument = list(d.symbols(shapes)[wrt])
        mine = jacobian_matrix(outputs, argument)
        sympys = sympy.Matrix(outputs).jacobian(argument)
        assert mine.shape == sympys.shape
        assert all(zero_entries(list(mine - sympys))), (name, wrt)


def test_every_entrys_generated_code_runs_from_the_cache():
    for name in REGISTRY:
        d = get(name)
        for shapes in d.shape_sets:
            for wrt in d.inputs:
                numeric.jacobian_function(d, wrt, shapes)
    sources = list(numeric._COMPILED)
    assert sources and all(numeric._COMPILED[s] is not None for s in sources), \
        [s[:200] for s in sources if numeric._COMPILED[s] is None]
