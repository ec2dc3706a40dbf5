"""``derive --steps``: named rules, each step an equality checked numerically,
and a wrong rule caught at its own step."""

from __future__ import annotations

import pytest

from derivations.cli import main
from derivations.matrix_calculus import to_text
from derivations.matrix_calculus.expr import Binary, Num
from derivations.matrix_calculus.steps import derivation_steps


@pytest.mark.parametrize("text, wrt, shapes, rules", [
    ("tr(A @ X @ B)", "X", (), ["trace", "product rule", "product rule"]),
    ("tr(A @ inv(X) @ B)", "X", (), ["trace", "product rule", "product rule",
                                     "differential of the inverse"]),
    ("log(det(X))", "X", (), ["chain rule through log", "differential of the determinant"]),
    ("sum(tanh(X @ W))", "W", (), ["sum of entries", "chain rule through tanh",
                                   "product rule"]),
    ("x.T @ A @ x", "x", ("x=nx1",), ["product rule", "product rule", "transpose",
                                      "product rule"]),
])
def test_steps_are_named_and_each_is_confirmed(text, wrt, shapes, rules):
    steps = derivation_steps(text, wrt, shapes)
    assert [s.rule.split(":")[0].split(" (")[0].split(", ")[0] for s in steps[1:]] == [
        r.split(", ")[0] for r in rules]
    assert all(s.check.passed for s in steps), [(s.rule, s.check.error) for s in steps]


def test_a_wrong_rule_fails_at_its_step():
    wrong = {"tanh": lambda node, i, G: Binary("*", G, Binary("-", Num(1), node))}
    steps = derivation_steps("sum(tanh(X @ W))", "W", overrides=wrong)
    verdicts = {to_text(s.subtree): s.check.passed for s in steps}
    assert verdicts["tanh(X @ W)"] and not verdicts["X @ W"] and not verdicts["W"]


def test_cli_steps(capsys):
    assert main(["derive", "tr(A @ inv(X) @ B)", "--wrt", "X", "--steps"]) == 0
    out = capsys.readouterr().out
    assert "differential of the inverse" in out and "FAIL" not in out
