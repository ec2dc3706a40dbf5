"""``derive`` (issue 16): Jacobians as matrices, the generated language
reference, and a core that imports SymPy without numpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derivations.cli import build_parser
from derivations.matrix_calculus import MatrixCalculusError, derive, prepare, to_text
from derivations.matrix_calculus.checks import confirm_jacobian
from derivations.matrix_calculus.confirm import shapes_of
from derivations.matrix_calculus.functions import FUNCTIONS
from derivations.matrix_calculus.jacobian import IDENTITY
from derivations.matrix_calculus.language import help_text, markdown
from derivations.matrix_calculus.numeric import NUMPY
from derivations.matrix_calculus.parser import OPERATORS, parse
from derivations.matrix_calculus.pure import PYTHON

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text, shapes, denominator, numerator", [
    ("A @ x", ("x=nx1",), "A.T", "A"),
    ("tanh(A @ x)", ("x=nx1",), "A.T @ diag(1 - tanh(A @ x) ** 2)",
     "diag(1 - tanh(A @ x) ** 2) @ A"),
    ("x * a", ("x=nx1", "a=nx1"), "diag(a)", "diag(a)"),
    ("2 * x - B @ x", ("x=nx1",), "2 * eye - B.T", "2 * eye - B"),
])
def test_jacobian_of_a_column_is_a_matrix_expression(text, shapes, denominator, numerator):
    answer = derive(text, "x", shapes, elementwise=False)
    assert answer.confirmed and answer.jacobian is not None, answer.reason
    assert [to_text(f) for f in answer.jacobian] == [denominator, numerator]
    kinds = {c.check for c in answer.jacobian_checks}
    assert kinds == {"Jacobian matrix", "layout"}, kinds
    assert all(c.passed for c in answer.jacobian_checks)
    assert answer.as_dict()["jacobian"]["numerator"] == numerator


def test_matrix_output_stays_a_vjp_and_says_so(capsys):
    answer = derive("X @ W", "X", elementwise=False)
    assert answer.confirmed and answer.jacobian is None
    assert build_parser().parse_args(["derive", "X @ W", "--wrt", "X"]).run(
        build_parser().parse_args(["derive", "X @ W", "--wrt", "X"])) == 0
    assert "four indices" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [("A", "A.T"), ("A.T @ A @ eye", "A.T @ A")])
def test_wrong_jacobian_is_rejected(wrong):
    # A is non-square, so the first is rejected by its shape; the second fits
    # only where A is square and is rejected by its values there.
    for shapes in (("x=nx1",), ("x=nx1", "A=nxn")):
        problem = prepare("A @ x", "x", shapes)
        forms = tuple(parse(f.replace("eye", "eye_like(A.T @ A)")) for f in wrong)
        checks = confirm_jacobian(problem, forms, IDENTITY.id, np.random.default_rng(0))
        assert not all(c.passed for c in checks), f"accepted {wrong} at {shapes}"


def test_language_reference_is_generated_from_the_tables():
    text, page = help_text(), markdown()
    for name in FUNCTIONS:
        assert f"{name}(" in text and f"`{name}(" in page, name
    for syntax, _ in OPERATORS:
        assert syntax in text and syntax in page
    # the rules are shown as the rule functions produce them
    assert "G * (1 - tanh(X) ** 2)" in text
    assert "-(inv(X).T @ G @ inv(X).T)" in text
    assert sorted(NUMPY) == sorted(FUNCTIONS), "numpy and SymPy tables cover other names"
    assert sorted(PYTHON) == sorted(FUNCTIONS), "plain-Python and SymPy tables differ"


def test_help_shows_the_language():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["derive"]
    assert help_text() in sub.format_help()


CORE = ["dims", "errors", "expr", "functions", "parser", "shapes", "tidy", "jacobian", "vjp",
        "evaluate", "language"]


def test_core_modules_import_without_numpy():
    """The browser build (issue 15) has SymPy and no numpy: the parser, the
    rules, simplification and the SymPy evaluation must import without it."""
    blocker = ("import sys; sys.modules['numpy'] = None\n"
               + "".join(f"import derivations.matrix_calculus.{m}\n" for m in CORE)
               + "from derivations.matrix_calculus.parser import parse\n"
               + "from derivations.matrix_calculus.evaluate import to_sympy\n"
               + "import sympy\n"
               + "print(to_sympy(parse('x.T @ x'), {'x': sympy.Matrix([3, 4])}))\n")
    # the package's __init__ pulls in the confirmation (numpy): load modules alone
    code = ("import importlib.util, sys, types\n"
            "pkg = types.ModuleType('derivations'); pkg.__path__ = ['derivations']\n"
            "sub = types.ModuleType('derivations.matrix_calculus')\n"
            "sub.__path__ = ['derivations/matrix_calculus']\n"
            "sys.modules.update({'derivations': pkg, 'derivations.matrix_calculus': sub})\n"
            + blocker)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "Matrix([[25]])"


def test_a_zero_gradient_is_confirmed_and_a_nonzero_answer_rejected():
    # sum(softmax(Z)) is the number of rows: its gradient is zero, and both
    # the rule's answer and SymPy's come out as rounding noise.
    assert derive("sum(softmax(X @ X))", "X", elementwise=False).confirmed
    wrong = derive("sum(softmax(X @ X))", "X", candidate=parse("1e-9 * X"), elementwise=False)
    assert not wrong.confirmed
    assert all(c.error > 1e2 * c.tolerance for c in wrong.checks
               if c.check == "explicit Jacobian")


def test_large_fixed_sizes_are_checked_small_and_by_differences_at_their_size():
    answer = derive("sum(softmax(X @ X @ X @ X))", "X", ["X=8x8"], elementwise=False)
    assert answer.confirmed, answer.reason
    explicit = {shapes_of(c.shapes)["X"] for c in answer.checks
                if c.check == "explicit Jacobian"}
    assert explicit and all(max(size) <= 3 for size in explicit)
    asked = [c for c in answer.checks if c.check == "finite differences at the sizes asked"]
    assert len(asked) == 1 and shapes_of(asked[0].shapes)["X"] == (8, 8) and asked[0].passed


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("text, shapes", [
    ("sum(X * X)", ["X=4x3"]),
    ("sum(tanh(X @ W))", ["X=5x3", "W=3x2"]),
])
def test_large_fixed_sizes_checked_small_stay_non_square(text, shapes, seed):
    # X=4x3 checked small makes 4 a free size s4; drawn 3 it made X square,
    # where a missing transpose goes unseen. Each free size now avoids every
    # fixed size, and the two points still differ.
    wrt = shapes[-1].split("=")[0]
    answer = derive(text, wrt, shapes, seed=seed, elementwise=False)
    assert answer.confirmed, answer.reason
    explicit = [shapes_of(c.shapes) for c in answer.checks if c.check == "explicit Jacobian"]
    assert len(explicit) == 2 and explicit[0] != explicit[1], explicit
    for sizes in explicit:
        assert all(r != c for r, c in sizes.values()), f"a square shape at {sizes}"


def test_a_request_over_the_memory_budget_is_refused_by_name():
    with pytest.raises(MatrixCalculusError) as caught:
        prepare("sum(kron(kron(kron(A, B), C), D))", "A",
                ["A=8x8", "B=8x8", "C=8x8", "D=8x8"])
    assert "4096×4096" in str(caught.value) and "nothing was allocated" in str(caught.value)


def test_timeout_ends_a_question_with_a_message(capsys):
    from derivations.cli import main
    assert main(["derive", "sum(softmax(X @ W) * Y)", "--wrt", "W", "--timeout", "0.01"]) == 1
    captured = capsys.readouterr()
    assert "no answer within 0.01 s" in captured.err and captured.out == ""


def test_transpose_of_a_power_keeps_the_exponent_a_number():
    # found by the random-expression test: (X ** 2).T was rewritten to X.T ** (2).T
    answer = derive("((X * X) * X.T).T", "X", elementwise=False)
    assert answer.confirmed, answer.reason


def test_products_with_a_scalar_print_without_hadamard():
    """⊙ and ∘ mean entrywise operations on matrices: a 1×1 factor (a scalar
    variable, xᵀx) prints as a product, its square as a power."""
    from derivations.matrix_calculus.derive import prepare
    from derivations.matrix_calculus.parser import parse

    problem = prepare("s * X + (x.T @ x) * Y", "X", ["s=1x1", "x=nx1"])
    text = problem.latex(parse("s * X + (x.T @ x) * Y + (s ** 2) * X + X * Y"))
    assert text.count(r"\odot") == 1 and r"X \odot Y" in text, text
    assert "s^{2}" in text and r"\circ" not in text, text
    # Without the shapes, a variable's size is unknown: the product stays ⊙.
    from derivations.matrix_calculus.expr import to_latex
    assert r"s \odot X" in to_latex(parse("s * X"))
