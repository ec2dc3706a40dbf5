"""The whitelist of functions: shape rule, numpy and SymPy meaning, VJP rule.

Each function of the language is declared once, with everything that
concerns it side by side: how it maps shapes, what it computes in numpy (for
finite differences and for evaluating candidate answers) and in SymPy on
explicit matrices (for the explicit Jacobian), and its reverse-mode rule.

A VJP rule receives the call node, the index of the argument, the upstream
gradient node ``G`` (output-shaped) and returns a node of the argument's
shape, or ``None`` when the argument does not change the value (the
``x`` of ``ones_like(x)``).  A function without a rule for some argument
raises :class:`NoRule`: ``derive`` then reports that it has no closed form
and prints the elementwise result.

Row-wise functions (``softmax``, ``log_softmax``, ``logsumexp``) act on each
row of a matrix, like the project's row layout (a batch is ``(batch,
features)``).  ``vec`` flattens row by row (``np.ravel``, C order), the one
vec of the site's glossary; ``vec_columns`` stacks columns, the Matrix
Cookbook's vec, for identities quoted in that form (``vec_columns(A @ X @ B)
== kron(B.T, A) @ vec_columns(X)``, whose row-major form is ``vec(A @ X @ B)
== kron(A, B.T) @ vec(X)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy

from .dims import SCALAR, Dim, dim_product, square
from .errors import MatrixCalculusError
from .expr import Binary, Call, Neg, Node, Num, Transpose

__all__ = ["FUNCTIONS", "FunctionSpec", "NoRule"]


class NoRule(MatrixCalculusError):
    """No closed-form VJP rule is known for this argument of this function."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the language."""

    name: str
    arity: int
    shape_rule: Callable
    numpy: Callable
    sympy: Callable
    vjp: Callable


def _same_shape(env, shapes, why):
    return shapes[0]


def _scalar(env, shapes, why):
    return SCALAR


def _square_scalar(env, shapes, why):
    square(env, shapes[0], why)
    return SCALAR


def _square_same(env, shapes, why):
    size = square(env, shapes[0], why)
    return (size, size)


def _call(fn: str, *args: Node) -> Call:
    return Call(fn, tuple(args))


def _mul_node(a: Node, b: Node) -> Binary:
    return Binary("*", a, b)


# ----- elementwise functions: VJP is G * f'(x), f' written in the language -----

def _elementwise(name, np_fn, sp_fn, derivative):
    def vjp(node, index, G):
        return _mul_node(G, derivative(node.args[0], node))

    return FunctionSpec(name, 1, _same_shape, np_fn, lambda m: m.applyfunc(sp_fn), vjp)


def _np_sigmoid(a):
    # Two branches so that neither exp overflows (the stable logistic).
    out = np.empty_like(a, dtype=float)
    positive = a >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-a[positive]))
    e = np.exp(a[~positive])
    out[~positive] = e / (1.0 + e)
    return out


_ELEMENTWISE = [
    _elementwise("log", np.log, sympy.log, lambda x, y: Binary("/", Num(1), x)),
    _elementwise("exp", np.exp, sympy.exp, lambda x, y: y),
    _elementwise("tanh", np.tanh, sympy.tanh,
                 lambda x, y: Binary("-", Num(1), Binary("*", y, y))),
    # the logistic 1/(1+exp(-x))
    _elementwise("sigmoid", _np_sigmoid, lambda v: 1 / (1 + sympy.exp(-v)),
                 lambda x, y: Binary("*", y, Binary("-", Num(1), y))),
    _elementwise("sqrt", np.sqrt, sympy.sqrt, lambda x, y: Binary("/", Num(0.5), y)),
    _elementwise("sin", np.sin, sympy.sin, lambda x, y: _call("cos", x)),
    _elementwise("cos", np.cos, sympy.cos, lambda x, y: Neg(_call("sin", x))),
]


# ----- reductions to a scalar, a column or a row -----

def _sp_sum(m):
    return sympy.Matrix([[sum(m)]])


def _vjp_spread(node, index, G):
    # Every entry contributes to the sum once: the VJP spreads G (1×1, r×1 or
    # 1×c, broadcast) over the argument's shape.
    return _mul_node(G, _call("ones_like", node.args[0]))


def _np_logsumexp(a):
    # Subtracting the row maximum keeps exp from overflowing.
    peak = np.max(a, axis=1, keepdims=True)
    return peak + np.log(np.sum(np.exp(a - peak), axis=1, keepdims=True))


def _np_softmax(a):
    shifted = np.exp(a - np.max(a, axis=1, keepdims=True))
    return shifted / np.sum(shifted, axis=1, keepdims=True)


def _sp_rows(m, fn):
    return sympy.Matrix([fn(list(m.row(i))) for i in range(m.rows)])


def _sp_softmax(m):
    out = sympy.zeros(m.rows, m.cols)
    for i in range(m.rows):
        exps = [sympy.exp(v) for v in m.row(i)]
        total = sum(exps)
        for j in range(m.cols):
            out[i, j] = exps[j] / total
    return out


def _sp_log_softmax(m):
    lse = _sp_rows(m, lambda row: sympy.log(sum(sympy.exp(v) for v in row)))
    return sympy.Matrix(m.rows, m.cols, lambda i, j: m[i, j] - lse[i, 0])


def _sp_inv(m):
    # adjugate / determinant by Berkowitz: division-free until the last step,
    # several times faster on symbolic entries than elimination.
    return m.adjugate(method="berkowitz") / m.det(method="berkowitz")


def _vjp_det(node, index, G):
    X = node.args[0]
    return _mul_node(_mul_node(G, node), Transpose(_call("inv", X)))


def _vjp_inv(node, index, G):
    # d(X^-1) = -X^-1 dX X^-1, so the VJP is -X^-T G X^-T.
    inv_t = Transpose(node)
    return Neg(Binary("@", Binary("@", inv_t, G), inv_t))


def _vjp_norm2(node, index, G):
    return Binary("/", _mul_node(G, node.args[0]), node)


def _vjp_softmax(node, index, G):
    # J of one row is diag(s) - s s^T, so the VJP of a row g is s * (g - <g, s>).
    return _mul_node(node, Binary("-", G, _call("rowsum", _mul_node(G, node))))


def _vjp_log_softmax(node, index, G):
    # J of one row is I - 1 s^T, so the VJP of a row g is g - s * sum(g).
    return Binary("-", G, _mul_node(_call("softmax", node.args[0]), _call("rowsum", G)))


def _vjp_logsumexp(node, index, G):
    return _mul_node(G, _call("softmax", node.args[0]))


def _vec_shape(env, shapes, why):
    rows, cols = shapes[0]
    return (dim_product(env.resolve(rows), env.resolve(cols)), Dim(1))


def _unvec_shape(env, shapes, why):
    (v_rows, v_cols), (rows, cols) = shapes
    env.unify(v_cols, Dim(1), why + " (the first argument must be a column)")
    length = dim_product(env.resolve(rows), env.resolve(cols))
    env.unify(v_rows, length, why + " (length)")
    return (rows, cols)


def _vec_pair(vec: str, unvec: str, by_columns: bool) -> list[FunctionSpec]:
    """``vec`` (a matrix to one column) and ``unvec`` (back, to the shape of
    its second argument), each the other's VJP.

    Row-major (``by_columns=False``): rows laid end to end, ``np.ravel``'s C
    order, the flattening of the whole site.  Column stacking (``True``,
    the Matrix Cookbook's vec) is the row-major vec of the transpose.
    """
    def np_vec(a):
        return (a.T if by_columns else a).reshape(-1, 1)

    def sp_vec(m):
        m = m.T if by_columns else m
        return m.reshape(m.rows * m.cols, 1)  # SymPy's reshape is row-major too

    def np_unvec(v, like):
        return v.reshape(like.shape[::-1]).T if by_columns else v.reshape(like.shape)

    def sp_unvec(v, like):
        if by_columns:
            return sympy.Matrix(like.cols, like.rows, list(v)).T
        return sympy.Matrix(like.rows, like.cols, list(v))

    def vjp_vec(node, index, G):
        return _call(unvec, G, node.args[0])

    def vjp_unvec(node, index, G):
        return _call(vec, G) if index == 0 else None  # the second argument gives a shape only

    return [FunctionSpec(vec, 1, _vec_shape, np_vec, sp_vec, vjp_vec),
            FunctionSpec(unvec, 2, _unvec_shape, np_unvec, sp_unvec, vjp_unvec)]


def _no_dependency(node, index, G):
    return None


def _kron_shape(env, shapes, why):
    (ar, ac), (br, bc) = shapes
    return (dim_product(env.resolve(ar), env.resolve(br)),
            dim_product(env.resolve(ac), env.resolve(bc)))


def _sp_kron(a, b):
    return sympy.Matrix(
        a.rows * b.rows, a.cols * b.cols,
        lambda i, j: a[i // b.rows, j // b.cols] * b[i % b.rows, j % b.cols],
    )


def _vjp_kron(node, index, G):
    raise NoRule("derive: no closed-form rule for the arguments of kron")


def _sp_eye_like(m):
    return sympy.eye(m.rows)


_OTHERS = [
    # sum of all entries (1×1), of each row (a column), of each column (a row)
    FunctionSpec("sum", 1, _scalar, lambda a: np.sum(a).reshape(1, 1), _sp_sum, _vjp_spread),
    FunctionSpec("rowsum", 1, lambda env, s, why: (s[0][0], Dim(1)),
                 lambda a: np.sum(a, axis=1, keepdims=True),
                 lambda m: _sp_rows(m, sum), _vjp_spread),
    FunctionSpec("colsum", 1, lambda env, s, why: (Dim(1), s[0][1]),
                 lambda a: np.sum(a, axis=0, keepdims=True),
                 lambda m: _sp_rows(m.T, sum).T, _vjp_spread),
    # trace, determinant and inverse of a square matrix
    FunctionSpec("tr", 1, _square_scalar, lambda a: np.trace(a).reshape(1, 1),
                 lambda m: sympy.Matrix([[m.trace()]]),
                 lambda node, i, G: _mul_node(G, _call("eye_like", node.args[0]))),
    FunctionSpec("det", 1, _square_scalar, lambda a: np.array([[np.linalg.det(a)]]),
                 lambda m: sympy.Matrix([[m.det(method="berkowitz")]]), _vjp_det),
    FunctionSpec("inv", 1, _square_same, np.linalg.inv, _sp_inv, _vjp_inv),
    # Euclidean norm of a vector (Frobenius norm of a matrix)
    FunctionSpec("norm2", 1, _scalar, lambda a: np.array([[np.linalg.norm(a)]]),
                 lambda m: sympy.Matrix([[sympy.sqrt(sum(v * v for v in m))]]), _vjp_norm2),
    # row-wise: softmax, log of the softmax, log of the sum of exp (a column)
    FunctionSpec("softmax", 1, _same_shape, _np_softmax, _sp_softmax, _vjp_softmax),
    FunctionSpec("log_softmax", 1, _same_shape,
                 lambda a: a - _np_logsumexp(a), _sp_log_softmax, _vjp_log_softmax),
    FunctionSpec("logsumexp", 1, lambda env, s, why: (s[0][0], Dim(1)), _np_logsumexp,
                 lambda m: _sp_rows(m, lambda row: sympy.log(sum(sympy.exp(v) for v in row))),
                 _vjp_logsumexp),
    # a matrix to one column, row by row (the site's vec) or column by column
    # (the Cookbook's); and back, to the second argument's shape
    *_vec_pair("vec", "unvec_like", by_columns=False),
    *_vec_pair("vec_columns", "unvec_columns_like", by_columns=True),
    FunctionSpec("kron", 2, _kron_shape, np.kron, _sp_kron, _vjp_kron),
    # all-ones and identity of the argument's shape (square for eye_like)
    FunctionSpec("ones_like", 1, _same_shape, np.ones_like,
                 lambda m: sympy.ones(m.rows, m.cols), _no_dependency),
    FunctionSpec("eye_like", 1, _square_same, lambda a: np.eye(a.shape[0]), _sp_eye_like,
                 _no_dependency),
]

#: name -> FunctionSpec: the only functions the parser accepts.
FUNCTIONS: dict[str, FunctionSpec] = {spec.name: spec for spec in _ELEMENTWISE + _OTHERS}
