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


def _walk(node: Node, values: dict, number, function: str, binary):
    """Evaluate ``node`` bottom-up: leaves from ``values`` and ``number``, each
    call by the ``function`` attribute (``"numpy"``, ``"sympy"``) of its
    :class:`FunctionSpec`, each binary operator by ``binary(op, left, right)``."""
    if isinstance(node, Name):
        return values[node.id]
    if isinstance(node, Num):
        return number(node.value)
    if isinstance(node, Neg):
        return -_walk(node.arg, values, number, function, binary)
    if isinstance(node, Transpose):
        return _walk(node.arg, values, number, function, binary).T
    if isinstance(node, Call):
        args = [_walk(a, values, number, function, binary) for a in node.args]
        return getattr(FUNCTIONS[node.fn], function)(*args)
    return binary(node.op, _walk(node.left, values, number, function, binary),
                  _walk(node.right, values, number, function, binary))


_NUMPY_OPS = {"@": np.matmul, "*": np.multiply, "/": np.divide, "+": np.add,
              "-": np.subtract}


def to_numpy(node: Node, values: dict) -> np.ndarray:
    """The value of ``node`` with ``values[name]`` 2-D float arrays.

    >>> from derivations.matrix_calculus.parser import parse
    >>> to_numpy(parse("x.T @ x"), {"x": np.array([[3.0], [4.0]])})
    array([[25.]])
    """
    return _walk(node, values, lambda v: np.array([[v]]), "numpy",
                 lambda op, left, right: _NUMPY_OPS[op](left, right))


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
    return sympy.Matrix(left.rows, left.cols, lambda i, j: left[i, j] / right[i, j])


def to_sympy(node: Node, values: dict) -> sympy.Matrix:
    """The explicit SymPy matrix of ``node``, ``values[name]`` explicit matrices.

    >>> from derivations.matrix_calculus.parser import parse
    >>> x = sympy.Matrix(sympy.symbols("x0 x1")); to_sympy(parse("x.T @ x"), {"x": x})
    Matrix([[x0**2 + x1**2]])
    """
    return _walk(node, values, _sympy_number, "sympy", _sympy_binary)
