"""Evaluate an expression tree on explicit SymPy matrices (no numpy here).

``to_sympy`` computes with explicit ``sympy.Matrix`` objects whose entries
may be symbols (the explicit Jacobian), following the language's
broadcasting rule for ``* / + - **``.  ``walk`` is the one bottom-up
evaluator; ``numeric.to_numpy`` runs it with numpy's functions.
"""

from __future__ import annotations

import sympy

from .expr import Call, Name, Neg, Node, Num, Transpose
from .functions import FUNCTIONS

__all__ = ["SYMPY", "to_sympy", "walk"]

#: name -> SymPy function on explicit matrices.
SYMPY = {name: spec.sympy for name, spec in FUNCTIONS.items()}


def walk(node: Node, values: dict, number, functions: dict, binary):
    """Evaluate ``node`` bottom-up: leaves from ``values`` and ``number``, each
    call by ``functions[name]``, each binary operator by ``binary(op, left, right)``."""
    if isinstance(node, Name):
        return values[node.id]
    if isinstance(node, Num):
        return number(node.value)
    if isinstance(node, Neg):
        return -walk(node.arg, values, number, functions, binary)
    if isinstance(node, Transpose):
        return walk(node.arg, values, number, functions, binary).T
    if isinstance(node, Call):
        args = [walk(a, values, number, functions, binary) for a in node.args]
        return functions[node.fn](*args)
    return binary(node.op, walk(node.left, values, number, functions, binary),
                  walk(node.right, values, number, functions, binary))


def _broadcast(a: sympy.Matrix, b: sympy.Matrix) -> tuple[sympy.Matrix, sympy.Matrix]:
    rows, cols = max(a.rows, b.rows), max(a.cols, b.cols)

    def grow(m):
        if (m.rows, m.cols) == (rows, cols):
            return m
        return sympy.Matrix(rows, cols, lambda i, j: m[i % m.rows, j % m.cols])

    return grow(a), grow(b)


def _sympy_number(value: float) -> sympy.Matrix:
    exact = float(value).is_integer()
    return sympy.Matrix([[sympy.Integer(int(value)) if exact else sympy.Float(value)]])


def _sympy_binary(op: str, left: sympy.Matrix, right: sympy.Matrix) -> sympy.Matrix:
    if op == "@":
        return left * right
    left, right = _broadcast(left, right)
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left.multiply_elementwise(right)
    if op == "**":
        return sympy.Matrix(left.rows, left.cols, lambda i, j: left[i, j] ** right[i, j])
    return sympy.Matrix(left.rows, left.cols, lambda i, j: left[i, j] / right[i, j])


def to_sympy(node: Node, values: dict) -> sympy.Matrix:
    """The explicit SymPy matrix of ``node``, ``values[name]`` explicit matrices.

    >>> from derivations.matrix_calculus.parser import parse
    >>> x = sympy.Matrix(sympy.symbols("x0 x1")); to_sympy(parse("x.T @ x"), {"x": x})
    Matrix([[x0**2 + x1**2]])
    """
    return walk(node, values, _sympy_number, SYMPY, _sympy_binary)
