"""``derive --order 2``: Hessians of columns, Hessian-vector products of matrices,
each confirmed against SymPy's explicit Hessian and differences of the gradient,
and a wrong one rejected by both."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.cli import main
from derivations.matrix_calculus import to_text
from derivations.matrix_calculus.hessian import SecondOrder, confirm_second_order, second_order
from derivations.matrix_calculus.parser import parse


@pytest.mark.parametrize("text, wrt, shapes, hessian, hvp", [
    ("x.T @ A @ x", "x", ("x=nx1",), "A + A.T", None),
    ("sum(exp(A @ x))", "x", ("x=nx1",), "A.T @ diag(exp(A @ x)) @ A", None),
    ("tr(X.T @ B @ X)", "X", (), None, "(B + B.T) @ G"),
    ("logdet(X)", "X", (), None, "-(inv(X).T @ G.T @ inv(X).T)"),
])
def test_second_order_forms_are_confirmed(text, wrt, shapes, hessian, hvp):
    result = second_order(text, wrt, shapes)
    assert result.confirmed, (result.reason, [(c.check, c.error) for c in result.checks])
    assert (result.hessian and to_text(result.hessian)) == hessian
    assert (result.hvp and to_text(result.hvp)) == hvp
    kinds = {c.check for c in result.checks}
    assert kinds == {"explicit Hessian", "finite differences of the gradient"}, kinds


@pytest.mark.parametrize("text, wrt, shapes, field, wrong", [
    ("x.T @ A @ x", "x", ("x=nx1",), "hessian", "2 * A"),       # A taken as symmetric
    ("tr(X.T @ B @ X)", "X", (), "hvp", "2 * B @ G"),            # likewise
])
def test_wrong_second_order_is_rejected_by_both_references(text, wrt, shapes, field, wrong):
    right = second_order(text, wrt, shapes)
    fake = SecondOrder(right.first, **{field: parse(wrong, upstream=True)})
    checks = confirm_second_order(right.first.problem, shapes, right.first.denominator, fake,
                                  np.random.default_rng(5))
    for kind in ("explicit Hessian", "finite differences of the gradient"):
        found = [c for c in checks if c.check == kind]
        assert found and all(not c.passed for c in found), (kind, [c.error for c in found])


def test_cli_order_two(capsys):
    assert main(["derive", "x.T @ A @ x", "--wrt", "x", "--shape", "x=nx1", "--order", "2"]) == 0
    assert "Hessian (n×n, symmetric: the same in both layouts): A + A.T" in (
        capsys.readouterr().out)
    assert main(["derive", "A @ x", "--wrt", "x", "--order", "2"]) == 2
    assert "needs a scalar expression" in capsys.readouterr().err
