"""The registry suite: every entry, at each of its (non-square) shape sets,
checked four ways, plus a table of special values.

1. exact: the stated VJP equals ``reshape(Jᵀ vec(G))`` from SymPy;
2. netlib's backward equals the lambdified ``Jᵀ g`` (float64, 1e-12 relative);
3. netlib's backward passes the public finite-difference checker;
4. netlib's forward equals the lambdified SymPy forward map.

Parametrised over ``REGISTRY``: a new entry is tested with no change here.
"""

import doctest

import numpy as np
import pytest
import sympy

import derivations.user_check
from derivations import mutants
from derivations.registry import REGISTRY, get
from derivations.user_check import check_against
from derivations.verify import (
    NUMERIC_RTOL,
    check_exact,
    check_forward,
    check_numeric,
    derived_vjp,
    finite_difference_check,
    netlib_vjp,
)
from netlib import Softmax

CASES = [pytest.param(d, index, id=f"{d.name}-shapes{index}")
         for d in REGISTRY.values() for index in range(len(d.shape_sets))]
EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize(("d", "index"), CASES)
def test_stated_vjp_is_the_derived_one_exactly(d, index):
    results = check_exact(d, d.shape_sets[index])
    assert [r.wrt for r in results] == list(d.inputs)
    for r in results:
        assert r.passed, r.message


@pytest.mark.parametrize(("d", "index"), CASES)
def test_netlib_backward_equals_lambdified_jacobian(d, index):
    results = check_numeric(d, d.shape_sets[index], np.random.default_rng(100 + index))
    for r in results:
        assert r.passed, r.message
        assert r.max_rel_error <= r.tolerance and r.tolerance >= NUMERIC_RTOL


@pytest.mark.parametrize(("d", "index"), CASES)
def test_netlib_backward_passes_finite_differences(d, index):
    report = finite_difference_check(d, d.shape_sets[index], 200 + index)
    report.raise_if_failed()
    assert [c.name for c in report.checks] == list(d.inputs)


@pytest.mark.parametrize(("d", "index"), CASES)
def test_netlib_forward_equals_sympy_forward(d, index):
    (row,) = check_forward(d, d.shape_sets[index], np.random.default_rng(300 + index))
    assert row.passed, row.message
    assert row.max_rel_error <= NUMERIC_RTOL


# -- special values (as JAX's tests have a table of them) ---------------------------------
#: (entry, one row of inputs, why it is special)
SPECIAL_VALUES = [
    ("sigmoid", [30.0, -30.0, 0.5], "saturated: 1 - σ(30) ≈ 9e-14, σ(-30) ≈ 9e-14"),
    ("sigmoid", [745.0, -745.0, -710.0], "exp(745) overflows float64"),
    ("tanh", [20.0, -20.0, 0.25], "saturated: 1 - tanh² ≈ 2e-17"),
    ("softplus", [50.0, -50.0, 800.0], "log(1 + e^800) = 800 without overflow"),
    ("softmax", [1000.0, 0.0, -1.0], "a large logit: e^1000 overflows unshifted"),
    ("softmax", [-1000.0, -1000.5, -999.0], "all logits very negative: the sum underflows"),
    ("log_softmax", [1e4, -1e4, 0.0], "±1e4: log-sum-exp needs the max shift"),
    ("log_softmax", [-1e4, -1e4, -1e4], "equal huge negative logits: log(1/3) exactly"),
    ("relu", [-2.5, -1e-3, 1e-3, 3.0], "either side of the kink, away from 0"),
    ("leaky_relu", [-2.5, -1e-3, 1e-3, 3.0], "either side of the kink, away from 0"),
]


def exact_value_and_vjp(d, row, g):
    """Forward value and VJP from SymPy at 50 significant digits."""
    shapes = {"x": (1, len(row))}
    symbols = d.symbols(shapes)
    G = d.upstream_symbol(shapes)
    point = {s: sympy.Float(repr(float(v)), 60) for s, v in zip(symbols["x"], row, strict=True)}
    point.update({s: sympy.Float(repr(float(v)), 60) for s, v in zip(G, np.ravel(g), strict=True)})
    y = d.output(shapes).xreplace(point).evalf(50)
    vjp = derived_vjp(d, "x", shapes).xreplace(point).evalf(50)
    as_array = lambda m: np.array([float(v) for v in m], dtype=np.float64).reshape(1, -1)  # noqa: E731
    return as_array(y), as_array(vjp)


@pytest.mark.parametrize(("name", "row", "why"), SPECIAL_VALUES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SPECIAL_VALUES)])
def test_special_values_match_high_precision_sympy(name, row, why):
    """netlib at extreme inputs against SymPy at 50 digits.

    Tolerance: 8 ulps of ``max(1, |exact|)``. netlib's formulas are a few
    roundings of quantities of order 1 (the upstream gradient, probabilities),
    so a value that is tiny only through cancellation (σ'(30) = y(1 - y) with
    y ≈ 1) is accurate to eps absolutely, not relatively.
    """
    problems = special_value_problems(get(name), row)
    assert not problems, f"{name} at {row} ({why}):\n" + "\n".join(problems)


def special_value_problems(d, row, layer=None):
    """Messages for every output of ``layer`` (default: the entry's) off the exact one."""
    x = np.array([row])
    g = np.random.default_rng(len(row)).standard_normal(x.shape)
    y_exact, vjp_exact = exact_value_and_vjp(d, row, g)
    layer = d.build({"x": x}) if layer is None else layer
    with np.errstate(all="ignore"):
        y = layer.forward(x)
        dx = layer.backward(g)
    problems = []
    for label, actual, exact in (("forward", y, y_exact), ("vjp", dx, vjp_exact)):
        bound = 8 * EPS * np.maximum(1.0, np.abs(exact))
        with np.errstate(invalid="ignore"):
            good = np.isfinite(actual) & (np.abs(actual - exact) <= bound)
        if not np.all(good):
            problems.append(f"  {label}: netlib {actual.ravel()}\n  {label}: exact  "
                            f"{exact.ravel()}")
    return problems


def test_special_values_reject_a_softmax_without_the_max_shift():
    """The table has teeth: the textbook exp(x) / sum(exp(x)) fails at a large logit."""

    class UnshiftedSoftmax(Softmax):
        def _forward(self, x):
            e = np.exp(x)
            self._y = e / e.sum(axis=1, keepdims=True)
            return self._y

    d = get("softmax")
    assert special_value_problems(d, [1000.0, 0.0, -1.0], UnshiftedSoftmax())
    assert not special_value_problems(d, [1.0, 0.0, -1.0], UnshiftedSoftmax())


# -- the symbolic entry point: a user's backward against an entry ---------------------------

@pytest.mark.parametrize("d", [pytest.param(d, id=d.name) for d in REGISTRY.values()])
def test_check_against_accepts_correct_backward(d):
    """netlib's own backward, called as a user's plain function, passes."""
    def backward(g, **values):
        return netlib_vjp(d, values, g)

    report = check_against(d.name, backward, rng=1)
    assert report.passed, str(report)
    assert len(report.checks) == len(d.inputs) * len(d.shape_sets)


@pytest.mark.parametrize("mutant", [pytest.param(m, id=m.name) for m in mutants.MUTANTS])
def test_check_against_rejects_every_mutant(mutant):
    wrong = mutant.as_derivation()

    def backward(g, **values):
        return netlib_vjp(wrong, values, g)

    report = check_against(mutant.entry, backward, rng=2)
    assert not report.passed, f"{mutant.name} passed check_against:\n{report}"


def test_check_against_in_column_layout_names_the_transposed_parameter():
    def row_formula_in_column_code(g, x, W, b):
        return {"x": W.T @ g, "W": x @ g.T, "b": g.sum(axis=1)}

    report = check_against("dense", row_formula_in_column_code, layout="columns")
    text = str(report)
    assert [c.name for c in report.failures()] == ["W", "W"], text
    assert "hint for W (shape set 1)" in text and "transpose of derived" in text, text
    assert "W (shape set 1), analytic | derived:" in text, text


def test_check_against_renames_and_refuses_unknown_names():
    def backward(g, X, t):            # a user's MSE, with their own name for x
        return {"X": g * (X - t) / X.shape[0]}

    assert check_against("mse", backward, names={"x": "X"}).passed
    with pytest.raises(KeyError, match="not arguments of 'mse'"):
        check_against("mse", backward, names={"pred": "X"})
    with pytest.raises(ValueError, match="expected layout 'rows' or 'columns'"):
        check_against("mse", backward, layout="cols")


def test_symbolic_entry_point_doctests_run():
    for module in (derivations.user_check, mutants):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, (module.__name__, result)
