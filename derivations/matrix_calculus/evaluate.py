"""Evaluate an expression tree on concrete values: numpy or explicit SymPy.

``to_numpy`` computes with 2-D float64 arrays (finite differences, and the
value of a candidate answer); ``to_sympy`` computes with explicit
``sympy.Matrix`` objects whose entries may be symbols (the explicit
Jacobian).  Both follow the language's broadcasting rule for ``* / + -``.
"""

from __future__ import annotations

import numpy as np
import sympy

from .expr import Call, Name, Neg, Node, Num, Transpose
from .functions import FUNCTIONS

__all__ = ["to_numpy", "to_sympy"]


def to_numpy(node: Node, values: dict) -> np.ndarray:
    """The value of ``node`` with ``values[name]`` 2-D float arrays.

    >>> from derivations.matrix_calculus.parser import parse
    >>> to_numpy(parse("x.T @ x"), {"x": np.array([[3.0], [4.0]])})
    array([[25.]])
    """
    if isinstance(node, Name):
        return values[node.id]
    if isinstance(node, Num):
        return np.array([[node.value]])
    if isinstance(node, Neg):
        return -to_numpy(node.arg, values)
    if isinstance(node, Transpose):
        return to_numpy(node.arg, values).T
    if isinstance(node, Call):
        return FUNCTIONS[node.fn].numpy(*(to_numpy(a, values) for a in node.args))
    left, right = to_numpy(node.left, values), to_numpy(node.right, values)
    if node.op == "@":
        return left @ right
    return {"*": np.multiply, "/": np.divide, "+": np.add, "-": np.subtract}[node.op](left, right)


def _broadcast(a: sympy.Matrix, b: sympy.Matrix) -> tuple[sympy.Matrix, sympy.Matrix]:
    rows, cols = max(a.rows, b.rows), max(a.cols, b.cols)

    def grow(m):
        if (m.rows, m.cols) == (rows, cols):
            return m
        return sympy.Matrix(rows, cols, lambda i, j: m[i % m.rows, j % m.cols])

    return grow(a), grow(b)


def to_sympy(node: Node, values: dict) -> sympy.Matrix:
    """The explicit SymPy matrix of ``node``, ``values[name]`` explicit matrices.

    >>> from derivations.matrix_calculus.parser import parse
    >>> x = sympy.Matrix(sympy.symbols("x0 x1")); to_sympy(parse("x.T @ x"), {"x": x})
    Matrix([[x0**2 + x1**2]])
    """
    if isinstance(node, Name):
        return values[node.id]
    if isinstance(node, Num):
        return sympy.Matrix([[sympy.Float(node.value) if not float(node.value).is_integer()
                              else sympy.Integer(int(node.value))]])
    if isinstance(node, Neg):
        return -to_sympy(node.arg, values)
    if isinstance(node, Transpose):
        return to_sympy(node.arg, values).T
    if isinstance(node, Call):
        return FUNCTIONS[node.fn].sympy(*(to_sympy(a, values) for a in node.args))
    left, right = to_sympy(node.left, values), to_sympy(node.right, values)
    if node.op == "@":
        return left * right
    left, right = _broadcast(left, right)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left.multiply_elementwise(right)
    return sympy.Matrix(left.rows, left.cols, lambda i, j: left[i, j] / right[i, j])
