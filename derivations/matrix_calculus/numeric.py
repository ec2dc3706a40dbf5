"""The numpy meaning of every function and operator of the language.

This is the one module of the engine's expression layer that imports numpy:
finite differences and the value of a candidate answer at a random point
are computed here, with 2-D float64 arrays.  ``functions.py`` holds the
SymPy meaning of the same names; a test checks that both tables cover the
same functions, and ``pure.py`` the plain-Python meaning that runs where
numpy is absent (the browser build); ``backend.py`` picks one.
"""

from __future__ import annotations

import numpy as np

from .evaluate import walk
from .expr import Node

__all__ = ["NUMPY", "to_numpy"]


def _sigmoid(a):
    # Two branches so that neither exp overflows (the stable logistic).
    out = np.empty_like(a, dtype=float)
    positive = a >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-a[positive]))
    e = np.exp(a[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def _logsumexp(a):
    # Subtracting the row maximum keeps exp from overflowing.
    peak = np.max(a, axis=1, keepdims=True)
    return peak + np.log(np.sum(np.exp(a - peak), axis=1, keepdims=True))


def _softmax(a):
    shifted = np.exp(a - np.max(a, axis=1, keepdims=True))
    return shifted / np.sum(shifted, axis=1, keepdims=True)


def _logdet(a):
    sign, value = np.linalg.slogdet(a)
    return np.array([[value if sign > 0 else np.nan]])


def _diag(a):
    return np.diagflat(a) if a.shape[1] == 1 else np.diag(a).reshape(-1, 1).copy()


def _vec(a, by_columns):
    return (a.T if by_columns else a).reshape(-1, 1)


def _unvec(v, like, by_columns):
    return v.reshape(like.shape[::-1]).T if by_columns else v.reshape(like.shape)


#: name -> numpy function on 2-D arrays (1×1 for scalars).
NUMPY = {
    "log": np.log, "exp": np.exp, "tanh": np.tanh, "sigmoid": _sigmoid, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "abs": np.abs, "sign": np.sign,
    "relu": lambda a: np.maximum(a, 0.0), "step": lambda a: (a > 0).astype(float),
    "sum": lambda a: np.sum(a).reshape(1, 1),
    "rowsum": lambda a: np.sum(a, axis=1, keepdims=True),
    "colsum": lambda a: np.sum(a, axis=0, keepdims=True),
    "tr": lambda a: np.trace(a).reshape(1, 1),
    "det": lambda a: np.array([[np.linalg.det(a)]]),
    "logdet": _logdet,
    "inv": np.linalg.inv,
    "adj": lambda a: np.linalg.det(a) * np.linalg.inv(a),
    "matrix_power": lambda a, k: np.linalg.matrix_power(a, int(k[0, 0])),
    "diag": _diag,
    "norm2": lambda a: np.array([[np.linalg.norm(a)]]),
    "norm1": lambda a: np.sum(np.abs(a)).reshape(1, 1),
    "softmax": _softmax,
    "log_softmax": lambda a: a - _logsumexp(a),
    "logsumexp": _logsumexp,
    "vec": lambda a: _vec(a, False),
    "unvec_like": lambda v, like: _unvec(v, like, False),
    "vec_columns": lambda a: _vec(a, True),
    "unvec_columns_like": lambda v, like: _unvec(v, like, True),
    "kron": np.kron,
    "ones_like": np.ones_like,
    "eye_like": lambda a: np.eye(a.shape[0]),
}

_OPERATORS = {"@": np.matmul, "*": np.multiply, "/": np.divide, "+": np.add,
              "-": np.subtract, "**": np.power}


def to_numpy(node: Node, values: dict) -> np.ndarray:
    """The value of ``node`` with ``values[name]`` 2-D float arrays.

    >>> from derivations.matrix_calculus.parser import parse
    >>> to_numpy(parse("x.T @ x"), {"x": np.array([[3.0], [4.0]])})
    array([[25.]])
    """
    return walk(node, values, lambda v: np.array([[v]]), NUMPY,
                lambda op, left, right: _OPERATORS[op](left, right))
