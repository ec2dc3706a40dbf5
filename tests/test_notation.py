"""One source for every formula: what is displayed is the printer's output of what is checked.

The stated VJPs are SymPy expressions in the page's notation
(:mod:`derivations.notation`). These tests hold the three places that show
them (the entry's own ``stated_text``, ``derivations.latex``, the site's
layer page) to the printer's output of that one expression, and show that
changing the expression in a copy of the tree both fails the check and
changes the page.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy

from derivations.latex import latex_definition, latex_stated
from derivations.notation import (
    NotationError,
    concrete,
    entrywise,
    is_expression,
    matrix,
    ones,
    size,
)
from derivations.printing import latex
from derivations.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = list(REGISTRY.values())
STATED = [(d, wrt) for d in ENTRIES for wrt in d.inputs]


# -- the printer ---------------------------------------------------------------------------
N, F, K = size("N"), size("F"), size("K")
X, W, G = matrix("x", N, F), matrix("W", F, K), matrix("G", N, K)


@pytest.mark.parametrize(("expr", "expected"), [
    (G * W.T, r"G W^\top"),
    (X.T * G, r"X^\top G"),
    (G.T * ones(N, 1), r"G^\top \mathbf{1}"),
    (ones(1, N) * G, r"\mathbf{1}^\top G"),
    (sympy.HadamardProduct(G, matrix("mask", N, K)), r"G \odot M"),
    (sympy.HadamardProduct(X, entrywise(lambda z: 1 - z, X)), r"X \odot \left(1 - X\right)"),
    (sympy.HadamardProduct(G, entrywise(lambda z: sympy.Piecewise((1, z > 0), (0, True)), X)),
     r"G \odot [X > 0]"),
])
def test_printer_writes_the_glossary_notation(expr, expected):
    assert latex(expr) == expected


def test_printer_uses_odot_only_for_hadamard_products():
    # A matrix product and a scalar coefficient never print a ⊙; a Hadamard product does.
    assert r"\odot" not in latex(X * W) + latex(sympy.Symbol("G") / N * X)
    assert r"\odot" in latex(sympy.HadamardProduct(X, X))


def test_printer_shows_quoted_decimals_but_the_expression_stays_exact():
    tanh_cubic = sympy.Rational(44715, 1000000)
    expr = entrywise(lambda z: tanh_cubic * z ** 3, X)
    assert "0.044715" in latex(expr)
    assert expr.function.expr.coeff(sympy.Symbol("z", real=True) ** 3) == tanh_cubic


# -- making expressions concrete -----------------------------------------------------------
def test_concrete_substitutes_matrices_and_binds_sizes():
    x, w = sympy.Matrix([[1, 2, 3], [4, 5, 6]]), sympy.Matrix([[1], [0], [2]])
    assert concrete(X * W, {"x": x, "W": w}) == x * w
    assert concrete(ones(1, N) * X, {"x": x}) == sympy.Matrix([[5, 7, 9]])


def test_concrete_refuses_shapes_that_do_not_fit():
    x, w = sympy.ones(2, 3), sympy.ones(3, 4)
    with pytest.raises(NotationError, match="product of 3×4 and 2×3"):
        concrete(W * X, {"x": x, "W": w})            # K and N are both free: only numbers tell
    with pytest.raises(NotationError, match=r"size F is 2 \(rows of W\) but 3 \(columns of x\)"):
        concrete(X * W, {"x": x, "W": sympy.ones(2, 4)})
    with pytest.raises(NotationError, match="no value for the matrix symbol 'W'"):
        concrete(X * W, {"x": x})


# -- every entry: displayed == printed(checked) ---------------------------------------------
@pytest.mark.parametrize(("d", "wrt"), STATED, ids=[f"{d.name}-{w}" for d, w in STATED])
def test_displayed_stated_vjp_is_the_printers_output_of_the_checked_expression(d, wrt):
    assert is_expression(d.stated[wrt])
    printed = latex(d.stated[wrt])
    assert d.stated_text(wrt) == printed
    assert latex_stated(d, wrt) == printed


@pytest.mark.parametrize("d", [d for d in ENTRIES if is_expression(d.forward)],
                         ids=lambda d: d.name)
def test_definition_is_rendered_from_a_matrix_expression_forward(d):
    assert latex(d.forward) in latex_definition(d)


def test_no_hand_typed_latex_of_a_checked_formula_remains():
    sources = "\n".join(p.read_text() for p in (ROOT / "derivations").rglob("*.py"))
    assert "stated_latex" not in sources


# -- a changed formula fails the check and changes the page ---------------------------------
ORIGINAL = '"b": G.T * ones(N, 1),'
CHANGED = '"b": 2 * G.T * ones(N, 1),'
PROBE = textwrap.dedent("""
    import sys
    sys.path.insert(0, "docs/_ext")
    from derivations.registry import get
    from derivations.latex import latex_stated
    from derivations.verify import check_exact
    from sitekit import LayerPage
    d = get("dense")
    passed = all(r.passed for r in check_exact(d) if r.wrt == "b")
    print(passed)
    print(latex_stated(d, "b"))
    print(LayerPage("dense").stated_text().replace("\\n", " "))
""")


def _probe(tree: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=tree, capture_output=True,
                            text=True, timeout=600, check=True)
    return result.stdout.splitlines()


def test_changing_one_stated_expression_fails_the_check_and_changes_the_page(tmp_path):
    tree = tmp_path / "tree"
    for part in ("derivations", "netlib", "docs/_ext"):
        shutil.copytree(ROOT / part, tree / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dense = tree / "derivations" / "layers" / "dense.py"
    source = dense.read_text()
    assert source.count(ORIGINAL) == 1
    before = _probe(tree)
    dense.write_text(source.replace(ORIGINAL, CHANGED))
    after = _probe(tree)
    assert before[:2] == ["True", r"G^\top \mathbf{1}"]
    assert after[:2] == ["False", r"2 G^\top \mathbf{1}"]
    assert r"G^\top \mathbf{1}" in before[2] and r"2 G^\top \mathbf{1}" in after[2]
