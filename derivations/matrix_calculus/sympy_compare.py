"""What SymPy's own matrix calculus answers, measured against the explicit Jacobian.

Each question is rewritten with ``MatrixSymbol`` objects of concrete sizes,
differentiated by ``MatrixExpr.diff``, made explicit at a random point and
compared with ``J^T vec(G)`` from the explicit Jacobian (``G = 1`` for a
scalar).  The verdict is ``agrees``, ``wrong`` (values or shape differ),
``no answer`` (SymPy raises or returns an unevaluated derivative) or
``not expressible`` (a function SymPy's matrix expressions lack).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
from sympy.matrices.expressions import (
    Determinant,
    HadamardProduct,
    Inverse,
    MatrixSymbol,
    OneMatrix,
    Trace,
)

from . import confirm
from .checks import sample_points
from .derive import Problem
from .expr import Binary, Name, Neg, Node, Num, Transpose
from .pure import Mat

__all__ = ["SympyVerdict", "sympy_verdict"]

_ELEMENTWISE = {"exp": sympy.exp, "log": sympy.log, "tanh": sympy.tanh,
                "sigmoid": lambda v: 1 / (1 + sympy.exp(-v))}


class _Unsupported(Exception):
    pass


def _is_matrix(expr) -> bool:
    return bool(getattr(expr, "is_Matrix", False) or getattr(expr, "is_MatrixExpr", False))


def _to_matrix_expr(node: Node, symbols: dict, shapes: dict):
    if isinstance(node, Name):
        return symbols[node.id]
    if isinstance(node, Num):
        return sympy.Float(node.value)
    if isinstance(node, Neg):
        return -_to_matrix_expr(node.arg, symbols, shapes)
    if isinstance(node, Transpose):
        return _to_matrix_expr(node.arg, symbols, shapes).T
    if isinstance(node, Binary):
        a = _to_matrix_expr(node.left, symbols, shapes)
        b = _to_matrix_expr(node.right, symbols, shapes)
        if node.op == "@":
            return a * b
        if node.op in "+-":
            return a + b if node.op == "+" else a - b
        if node.op == "*":
            # A number or a scalar expression (a trace, a determinant) is an
            # ordinary factor for SymPy; only two matrices need HadamardProduct.
            if not (_is_matrix(a) and _is_matrix(b)):
                return a * b
            if shapes[id(node.left)] == shapes[id(node.right)]:
                return HadamardProduct(a, b)
        raise _Unsupported(node.op)
    fn, args = node.fn, [_to_matrix_expr(a, symbols, shapes) for a in node.args]
    if fn == "tr":
        return Trace(args[0])
    if fn == "det":
        return Determinant(args[0])
    if fn == "inv":
        return Inverse(args[0])
    if fn in _ELEMENTWISE:
        if not _is_matrix(args[0]):
            return _ELEMENTWISE[fn](args[0])  # log(det(X)) is a scalar function
        return args[0].applyfunc(_ELEMENTWISE[fn])
    if fn in ("sum", "rowsum"):
        m = args[0]
        out = m * OneMatrix(m.shape[1], 1)
        return OneMatrix(1, m.shape[0]) * out if fn == "sum" else out
    if fn == "logsumexp":
        m = args[0]
        return (m.applyfunc(sympy.exp) * OneMatrix(m.shape[1], 1)).applyfunc(sympy.log)
    raise _Unsupported(fn)


@dataclass
class SympyVerdict:
    """SymPy's answer to one question and how it compares."""

    verdict: str
    answer: str
    error: float


def sympy_verdict(problem: Problem, seed: int = 0) -> SympyVerdict:
    """Ask SymPy's ``MatrixExpr.diff`` and compare at one random size and point."""
    rng = np.random.default_rng(seed)
    env = problem.env
    try:
        sizes, concrete, values = sample_points(problem, rng)[0]
    except confirm.DomainError as error:
        return SympyVerdict("not compared", f"no valid point ({error})", float("nan"))
    symbols = {n: MatrixSymbol(n, r, c) for n, (r, c) in concrete.items()}
    try:
        expr = _to_matrix_expr(problem.expr, symbols, problem.subtree_shapes)
    except _Unsupported as missing:
        return SympyVerdict("not expressible", f"no MatrixExpr for '{missing}'", float("nan"))
    except (TypeError, ValueError, AttributeError) as error:
        return SympyVerdict("not expressible", f"building it raises {type(error).__name__}",
                            float("nan"))
    try:
        answer = expr.diff(symbols[problem.wrt])
    except Exception as error:
        return SympyVerdict("no answer", f"raises {type(error).__name__}", float("nan"))
    text = str(answer)
    if answer.has(sympy.Derivative):
        return SympyVerdict("no answer", text, float("nan"))
    if not problem.is_scalar:
        return SympyVerdict("not compared", text, float("nan"))
    out_shape = env.concrete(problem.output_shape, sizes)
    reference = confirm.explicit_jacobian_vjp(problem.expr, problem.wrt, values,
                                              Mat(*out_shape, [1.0] * math.prod(out_shape)))
    try:
        point = {symbols[n]: sympy.ImmutableMatrix(v.tolist()) for n, v in values.items()}
        explicit = answer.xreplace(point)
        explicit = explicit.doit() if hasattr(explicit, "doit") else explicit
        if hasattr(explicit, "as_explicit"):
            explicit = explicit.as_explicit()
        array = np.array(sympy.Array(explicit).tolist() if not isinstance(
            explicit, sympy.Basic) or explicit.is_Matrix or isinstance(
            explicit, sympy.NDimArray) else [[explicit]], dtype=float)
    except Exception as error:
        return SympyVerdict("no answer", f"{text} (cannot be evaluated: "
                                         f"{type(error).__name__})", float("nan"))
    if array.size != reference.rows * reference.cols:
        return SympyVerdict("wrong", f"{text} (shape {array.shape}, expected "
                                     f"{reference.shape})", float("inf"))
    check = confirm.jacobian_row(Mat.of(array.reshape(reference.shape)), reference,
                                 (problem.text, problem.wrt, confirm.shape_text(concrete)),
                                 "explicit Jacobian")
    return SympyVerdict("agrees" if check.passed else "wrong", text, check.error)
