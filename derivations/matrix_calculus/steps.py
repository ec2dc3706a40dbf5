"""``derive --steps``: the derivation as a chain of named rules, each step checked.

The reverse-mode walk (``vjp.candidate_vjp``) passes the upstream gradient
from the output down to each occurrence of the variable.  Each subtree ``Y``
it passes through is a step: the rule applied there (the product rule, the
chain rule through ``tanh``, the differential of the inverse, ...) and the
gradient of ``f`` with respect to that occurrence of ``Y``,

.. math:: \\bar Y = \\frac{\\partial f}{\\partial Y}\\ \\text{(this occurrence held apart)}.

Each step is an equality that can be checked on its own: the occurrence is
replaced by a fresh variable with the same value, and central differences
of ``f`` with respect to that variable (netlib's rule, ``backend.py``) must
match ``Ȳ``; each step's check is a ``CheckRow``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from derivations.verify.rows import CheckRow

from . import confirm
from .backend import default_backend
from .checks import candidate_value, sample_points
from .derive import prepare
from .expr import Binary, Call, Name, Neg, Node, Num, Transpose, to_text
from .rand import Random
from .shapes import infer
from .simplify import simplify
from .vjp import candidate_vjp

__all__ = ["Step", "derivation_steps", "format_steps", "rule_name"]

_BINARY = {"@": "product rule, matrix product", "*": "product rule, elementwise",
           "/": "quotient rule", "+": "sum rule", "-": "sum rule",
           "**": "power rule"}
_CALLS = {"tr": "trace: d tr(Y) = tr(dY)", "inv": "differential of the inverse",
          "det": "differential of the determinant (Jacobi)",
          "logdet": "differential of log det", "adj": "differential of the adjugate",
          "matrix_power": "product rule over the factors of a power",
          "sum": "sum of entries: spread", "rowsum": "row sums: spread",
          "colsum": "column sums: spread", "softmax": "softmax rule (rows)",
          "log_softmax": "log-softmax rule (rows)", "logsumexp": "log-sum-exp rule (rows)",
          "norm2": "norm rule", "norm1": "1-norm rule", "diag": "diag rule",
          "vec": "vec rule", "vec_columns": "vec rule"}


def rule_name(node: Node) -> str:
    """The name of the rule applied at ``node``."""
    if isinstance(node, Binary):
        return _BINARY[node.op]
    if isinstance(node, Neg):
        return "negation"
    if isinstance(node, Transpose):
        return "transpose"
    if isinstance(node, Call):
        return _CALLS.get(node.fn, f"chain rule through {node.fn}")
    return "the variable"


@dataclass
class Step:
    """One step: the subtree, the rule that produced its gradient, the gradient
    of ``f`` with respect to it, and the check of that equality."""

    subtree: Node
    rule: str
    gradient: Node
    check: CheckRow


def _replace(tree: Node, target: Node, by: Node) -> Node:
    if tree is target:
        return by
    if isinstance(tree, (Neg, Transpose)):
        return type(tree)(_replace(tree.arg, target, by))
    if isinstance(tree, Binary):
        return Binary(tree.op, _replace(tree.left, target, by), _replace(tree.right, target, by))
    if isinstance(tree, Call):
        return Call(tree.fn, tuple(_replace(a, target, by) for a in tree.args))
    return tree


def derivation_steps(text: str, wrt: str, shapes=(), seed: int = 0,
                     overrides: dict | None = None, backend=None) -> list[Step]:
    """The steps of ``d/dwrt text``, each confirmed by central differences
    (``overrides`` replaces rules, as in ``derive``, to see a wrong one caught)."""
    problem = prepare(text, wrt, shapes)
    env = copy.deepcopy(problem.env)
    env.variables["G"] = problem.output_shape
    G = Num(1.0) if problem.is_scalar else Name("G")
    trace: list = []
    subtree_shapes = dict(problem.subtree_shapes)
    candidate_vjp(problem.expr, wrt, G, subtree_shapes, overrides, trace=trace)
    rng, backend = Random(seed), backend or default_backend()
    _, concrete, values = sample_points(problem, rng, backend)[0]
    root = trace[0][0]
    steps = []
    for number, (node, g) in enumerate(trace):
        held = f"step.{number}"
        local_env = copy.deepcopy(env)
        local_env.variables[held] = subtree_shapes[id(node)]
        gradient = simplify(g, local_env)
        replaced = _replace(root, node, Name(held))
        point = {**values, held: backend.evaluate(node, values)}
        infer(replaced, copy.deepcopy(local_env))  # the replaced question is well formed
        # The gradient with respect to the held-apart occurrence, as a VJP of
        # the replaced question (candidate_value scales a scalar's by G).
        held_problem = _Held(held, problem.is_scalar)
        check = confirm.finite_difference_row(
            replaced, held, point,
            lambda g, at, gradient=gradient, p=held_problem: candidate_value(
                p, gradient, at, g, backend=backend),
            rng, backend, (to_text(replaced), held,
                           confirm.shape_text({**concrete, held: point[held].shape})))
        rule = rule_name(_parent(trace, number)) if number else "start: ∂f/∂f = 1"
        steps.append(Step(node, rule, gradient, check))
    return steps


@dataclass
class _Held:
    """What ``candidate_value`` reads of a question: the variable and whether
    the output is a scalar."""

    wrt: str
    is_scalar: bool


def _parent(trace: list, number: int) -> Node:
    """The subtree whose rule produced step ``number``: the nearest earlier
    step that has this one's subtree as a direct child."""
    node = trace[number][0]
    for earlier, _ in reversed(trace[:number]):
        children = (earlier.arg,) if isinstance(earlier, (Neg, Transpose)) else (
            (earlier.left, earlier.right) if isinstance(earlier, Binary) else
            earlier.args if isinstance(earlier, Call) else ())
        if any(child is node for child in children):
            return earlier
    return node


def format_steps(steps: list[Step], wrt: str) -> list[str]:
    """The steps as lines of text: rule, the gradient with respect to the subtree, check."""
    lines = []
    occurrences = sum(isinstance(s.subtree, Name) for s in steps)
    for number, step in enumerate(steps, 1):
        where = f"'{to_text(step.subtree)}'"
        if isinstance(step.subtree, Name):
            where = f"{wrt} (one of its {occurrences} occurrences)" if occurrences > 1 else wrt
        status = "ok" if step.check.passed else "FAIL"
        lines.append(f"  {number}. {step.rule}: gradient with respect to {where} = "
                     f"{to_text(step.gradient)}   [{status}, error {step.check.error:.1e} "
                     f"≤ {step.check.tolerance:.1e}]")
    return lines

