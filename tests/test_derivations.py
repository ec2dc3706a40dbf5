"""The derivations package: every registry entry passes its exact and numeric
checks, and those checks reject wrong gradients with a message that shows
stated against derived.

Parametrised over the registry (derivations.registry.REGISTRY); adding an entry
adds its cases here without touching this file.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
import sympy

import derivations
import netlib
from derivations.core import G_ENTRYWISE, matrix_shape, sigmoid, times_derivative
from derivations.general_shapes import dense_general, softmax_cross_entropy_general
from derivations.latex import jacobian_structure, latex_definition, latex_jacobian, latex_stated
from derivations.layers import losses
from derivations.registry import REGISTRY, get
from derivations.verify import (
    NUMERIC_RTOL,
    check_exact,
    check_numeric,
    check_transpose,
    derived_vjp,
    is_zero,
    jacobian,
    jacobian_numpy,
    netlib_vjp,
    sample_values,
)

DERIVATIONS_DIR = Path(derivations.__file__).parent

TRANSPOSED = [pytest.param(d, id=d.name) for d in REGISTRY.values() if d.transpose_of]


# The exact and lambdified checks of every entry run in test_registry.py (the
# registry suite); here: the transposes, the registry's coverage and the checks'
# power to reject wrong gradients.
@pytest.mark.parametrize("d", TRANSPOSED)
def test_column_layout_gradients_are_transposes_of_row_layout(d):
    results = check_transpose(d)
    assert len(results) == len(d.inputs) * len(d.shape_sets)
    for result in results:
        assert result.passed, result.message


def test_dense_columns_is_declared_the_transpose_of_dense():
    assert get("dense_columns").transpose_of == "dense"


# -- the registry is complete and well formed --------------------------------------------
def _exported_layer_and_loss_classes():
    classes = []
    for name in netlib.__all__:
        obj = getattr(netlib, name)
        if (inspect.isclass(obj) and issubclass(obj, (netlib.Layer, netlib.Loss))
                and obj not in (netlib.Layer, netlib.Loss)):
            classes.append(obj)
    return classes


def test_every_netlib_layer_and_loss_has_an_entry():
    described = {d.netlib_class for d in REGISTRY.values()}
    missing = [cls.__name__ for cls in _exported_layer_and_loss_classes()
               if cls not in described]
    assert not missing, f"netlib classes without a derivation in the registry: {missing}"


@pytest.mark.parametrize("d", [pytest.param(d, id=d.name) for d in REGISTRY.values()])
def test_entry_shapes_are_non_square_and_differ_between_sets(d):
    assert len(d.shape_sets) >= 2
    for shapes in d.shape_sets:
        square = {name: s for name, s in shapes.items() if len(s) == 2 and s[0] == s[1]}
        assert not square, f"{d.name}: square shapes hide transposition bugs: {square}"
    first = d.shape_sets[0]
    for other in d.shape_sets[1:]:
        assert any(other[n] != first[n] for n in d.inputs), \
            f"{d.name}: shape sets {first} and {other} are the same for every input"


@pytest.mark.parametrize("d", [pytest.param(d, id=d.name) for d in REGISTRY.values()])
def test_entry_names_and_latex_are_complete(d):
    assert d.name == d.name.lower()
    assert set(d.stated) == set(d.inputs)
    assert latex_definition(d) and all(d.stated_text(wrt) for wrt in d.inputs)


def test_get_unknown_name_lists_known_entries():
    with pytest.raises(KeyError, match="known entries: dense"):
        get("densee")


def test_derivation_refuses_a_missing_stated_vjp():
    d = get("dense")
    with pytest.raises(ValueError, match="expected a stated VJP for every input"):
        dataclasses.replace(d, stated={"x": d.stated["x"]})


def test_derivation_refuses_a_single_shape_set():
    d = get("relu")
    with pytest.raises(ValueError, match="at least 2 shape sets"):
        dataclasses.replace(d, shape_sets=d.shape_sets[:1])


# -- conventions ------------------------------------------------------------------------
def test_jacobian_is_numerator_layout_row_major():
    # y[n, j] = Σ_i x[n, i] W[i, j], so with row-major flattening
    # J[(n, j), (m, i)] = δ_nm W[i, j]: block diagonal with Wᵀ blocks.
    d = get("dense")
    shapes = d.shape_sets[0]
    values = sample_values(d, shapes, np.random.default_rng(3))
    J = jacobian_numpy(d, "x", shapes, values)
    batch = shapes["x"][0]
    expected = np.kron(np.eye(batch), values["W"].T)
    np.testing.assert_allclose(J, expected, rtol=0, atol=0)
    assert jacobian(d, "x", shapes).shape == (2 * 4, 2 * 3)


def test_derived_vjp_has_the_arguments_shape():
    d = get("dense")
    shapes = d.shape_sets[0]
    for wrt in d.inputs:
        assert derived_vjp(d, wrt, shapes).shape == matrix_shape(shapes[wrt])


def test_is_zero_decides_identities_and_refuses_non_identities():
    x, y = sympy.symbols("x y", real=True)
    assert is_zero(sigmoid(x) * (1 - sigmoid(x)) - sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2)
    assert is_zero(1 - sympy.tanh(x) ** 2 - 4 / (sympy.exp(x) + sympy.exp(-x)) ** 2)
    assert is_zero((x + y) ** 2 - x**2 - 2 * x * y - y**2)
    assert not is_zero(sigmoid(x) - sympy.Rational(1, 2))
    assert not is_zero(sympy.exp(x) / (sympy.exp(x) + sympy.exp(y)) - sympy.Rational(1, 2))
    assert not is_zero((x + y) ** 2 - x**2 - y**2)


def test_softmax_cross_entropy_numeric_check_uses_integer_labels():
    d = get("softmax_cross_entropy")
    shapes = d.shape_sets[0]
    values = sample_values(d, shapes, np.random.default_rng(0))
    labels = d.netlib_target(values)
    assert labels.dtype.kind == "i" and labels.shape == (shapes["x"][0],)
    assert np.array_equal(values["t"].sum(axis=1), np.ones(shapes["x"][0]))


# -- wrong stated VJPs are rejected, showing stated against derived ------------------------
def _scaled(factor):
    return lambda stated: factor * stated


WRONG_STATED = {
    # name: (entry, input, the correct stated VJP -> a wrong one)
    "dense dX doubled": ("dense", "x", _scaled(2)),
    "dense dW sign flipped": ("dense", "W", _scaled(-1)),
    "dense db halved": ("dense", "b", _scaled(sympy.Rational(1, 2))),
    "dense_columns dW sign flipped": ("dense_columns", "W", _scaled(-1)),
    "mse missing 1/batch": ("mse", "x", _scaled(losses.N)),
    "bce_logits missing 1/batch": ("bce_logits", "x", _scaled(losses.N)),
    "softmax_cross_entropy sign flipped": ("softmax_cross_entropy", "x", _scaled(-1)),
    "sigmoid derivative of the pre-activation": (
        "sigmoid", "x", lambda _: times_derivative(lambda x: x * (1 - x))),
    "tanh derivative of the pre-activation": (
        "tanh", "x", lambda _: times_derivative(lambda x: 1 - x**2)),
    "softplus with sigma(-x)": ("softplus", "x", lambda _: times_derivative(
        lambda x: sigmoid(-x))),
    "leaky_relu wrong slope": ("leaky_relu", "x", lambda _: times_derivative(
        lambda x: sympy.Piecewise((1, x > 0), (sympy.Rational(1, 100), True)))),
    "relu without mask": ("relu", "x", lambda _: G_ENTRYWISE),
    "softmax doubled": ("softmax", "x", _scaled(2)),
    "log_softmax sign flipped": ("log_softmax", "x", _scaled(-1)),
}


def _with_stated(name, wrt, wrong):
    d = get(name)
    return dataclasses.replace(d, stated={**d.stated, wrt: wrong(d.stated[wrt])})


@pytest.mark.parametrize("mutation", list(WRONG_STATED))
def test_exact_check_rejects_wrong_stated_vjp(mutation):
    name, wrt, wrong = WRONG_STATED[mutation]
    results = [r for r in check_exact(_with_stated(name, wrt, wrong)) if r.wrt == wrt]
    assert len(results) == len(get(name).shape_sets)
    for result in results:
        assert not result.passed, f"{mutation}: accepted at {result.shapes}"
        assert "stated" in result.message and "derived" in result.message, result.message


def test_failure_message_shows_stated_and_derived_entries():
    name, wrt, wrong = WRONG_STATED["mse missing 1/batch"]
    result = check_exact(_with_stated(name, wrt, wrong))[0]
    assert "entry (0, 0): stated  = G_{0,0}*(-t_{0,0} + x_{0,0})" in result.message, result.message
    assert "derived = G_{0,0}*(-t_{0,0} + x_{0,0})/2" in result.message, result.message


def test_transpose_check_rejects_a_wrong_column_layout():
    # A column-layout map with a stray factor 2 on W X is not the transpose
    # of the row layout's X W + 1bᵀ, so the gradients for x and W must differ.
    d = get("dense_columns")
    wrong_forward = dataclasses.replace(
        d, forward=lambda s: 2 * s["W"] * s["x"] + s["b"].T * sympy.ones(1, s["x"].cols),
        definition_latex="Y = 2 W X + b 1^T")
    results = check_transpose(wrong_forward)
    assert {r.wrt for r in results if not r.passed} == {"x", "W"}
    assert all(r.passed for r in results if r.wrt == "b")


# -- wrong netlib backward is rejected by the numeric check ------------------------------
WRONG_BACKWARD = {
    # name: (entry, input, corruption of netlib's correct result)
    "missing 1/batch": ("mse", "x", lambda dx, values: dx * values["x"].shape[0]),
    "relative error 1e-9": ("dense", "W", lambda dW, values: dW * (1 + 1e-9)),
    "gradient of the wrong shape": ("dense", "W", lambda dW, values: dW.T),
    "sign error": ("softmax", "x", lambda dx, values: -dx),
}


@pytest.mark.parametrize("mutation", list(WRONG_BACKWARD))
def test_numeric_check_rejects_wrong_netlib_backward(mutation):
    name, wrt, corrupt = WRONG_BACKWARD[mutation]
    d = get(name)

    def wrong_run(obj, values, g):
        plain = dataclasses.replace(d, run=None)
        result = netlib_vjp(plain, values, g)
        result[wrt] = corrupt(result[wrt], values)
        return result

    results = check_numeric(dataclasses.replace(d, run=wrong_run))
    rejected = [r for r in results if r.wrt == wrt]
    assert rejected and not any(r.passed for r in rejected), \
        [(r.max_rel_error, NUMERIC_RTOL) for r in rejected]


# -- MatrixSymbol statements, confirmed or refuted -----------------------------------------
@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_dense_matrix_symbol_gradients_are_confirmed(layout):
    results = dense_general(layout)
    assert [r.wrt for r in results] == ["x", "W", "b"]
    for result in results:
        assert result.confirmed, result.message


def test_dense_matrix_symbol_gradient_reads_G_W_transpose():
    (dx, dW, _) = dense_general("rows")
    assert str(dx.expression) == "G*W.T" and str(dW.expression) == "X.T*G"


def test_matrix_symbol_softmax_cross_entropy_is_refuted():
    result = softmax_cross_entropy_general()
    assert result.expression == 0 or getattr(result.expression, "is_ZeroMatrix", False)
    assert not result.confirmed
    assert any(not is_zero(entry) for entry in result.explicit), \
        "the explicit gradient of softmax cross-entropy should not be zero"


# -- latex helpers -----------------------------------------------------------------------
def test_latex_helpers_render_the_pieces():
    d = get("dense")
    assert latex_stated(d, "x") == r"G W^\top"
    assert "W_{0,0}" in latex_jacobian(d, "x")
    structure = jacobian_structure(get("relu"), "x").splitlines()
    assert structure[0] == "*....." and structure[5] == ".....*"


# -- independence: derivations never use netlib's backward code -------------------------
#: The mutation catalogue is not a derivation: it is a set of deliberately wrong
#: *netlib* backward passes (built from netlib's numpy pieces) that the checks
#: must reject, so the independence rule does not apply to it (nor to the
#: mutant classes that live beside their derivations).
NOT_DERIVATIONS = {"mutants.py"}
BACKWARD_INTERNALS = {"_backward", "_value_and_grad", "_grad"}
#: netlib modules that hold no gradient formula (the finite-difference checker).
FORMULA_FREE_MODULES = {"netlib.gradcheck"}


def _is_mutant_class(node) -> bool:
    """A class overriding a backward method: a deliberately wrong backward pass (a mutant)."""
    return isinstance(node, ast.ClassDef) and any(
        isinstance(item, ast.FunctionDef) and item.name in {*BACKWARD_INTERNALS, "backward"}
        for item in node.body)


def _outside_mutants(tree):
    """Every node of ``tree`` except those inside mutant classes (they must use internals)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo += [child for child in ast.iter_child_nodes(node) if not _is_mutant_class(child)]


def independence_violations(source: str, filename: str) -> list[str]:
    """What in ``source`` imports netlib code other than layer/loss classes, or its internals.

    Mutant classes (wrong backward passes, beside their derivation) are left out:
    overriding netlib's backward is what they are for.
    """
    problems = []
    for node in _outside_mutants(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in FORMULA_FREE_MODULES:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("netlib"):
            module = __import__(node.module, fromlist=["_"])
            for alias in node.names:
                obj = getattr(module, alias.name, None)
                if not (inspect.isclass(obj) and issubclass(obj, (netlib.Layer, netlib.Loss))):
                    problems.append(f"{filename}: imports {node.module}.{alias.name}, "
                                    "which is not a layer or loss class")
        elif isinstance(node, ast.Import):
            problems += [f"{filename}: imports module {a.name} (import classes by name)"
                         for a in node.names if a.name.startswith("netlib")]
        elif isinstance(node, ast.Attribute) and node.attr in BACKWARD_INTERNALS:
            problems.append(f"{filename}: uses .{node.attr} (netlib's backward internals)")
    return problems


def test_derivations_never_import_netlib_backward_code():
    problems = []
    for path in sorted(DERIVATIONS_DIR.rglob("*.py")):
        if path.name not in NOT_DERIVATIONS:
            problems += independence_violations(path.read_text(), path.name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source", [
    "from netlib.layers.activations import sigmoid",
    "from netlib.layers.softmax import softmax, Softmax",
    "import netlib.losses",
    "def f(layer):\n    return layer._backward(1)",
])
def test_independence_check_catches_forbidden_imports(source):
    assert independence_violations(source, "example.py")


def test_numeric_tolerance_is_near_1e12():
    # Guards against loosening the tolerance until a wrong gradient passes.
    assert NUMERIC_RTOL <= 1e-11
