"""The whitelist of functions: shape rule, SymPy meaning, VJP rule, one line of doc.

Each function of the language is declared once, with everything that
concerns it side by side: how it maps shapes, what it computes in SymPy on
explicit matrices (for the explicit Jacobian), its reverse-mode rule, and
the line the language reference (``derive --help``, the site's page) shows
for it.  The numpy meaning of each function (for finite differences) sits
in ``numeric.py``, keyed by the same names, so that this module, the parser
and the rules import SymPy only (the browser build has no numpy).

A VJP rule receives the call node, the index of the argument, the upstream
gradient node ``G`` (output-shaped) and returns a node of the argument's
shape, or ``None`` when the argument does not change the value (the
``x`` of ``ones_like(x)``, or ``sign``, whose derivative is zero wherever it
exists).  A function without a rule for some argument raises
:class:`NoRule`: ``derive`` then reports that it has no closed form and
prints the elementwise result.

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

import sympy

from .dims import SCALAR, Dim, dim_product, square
from .errors import MatrixCalculusError
from .expr import Binary, Call, Neg, Node, Num, Transpose

__all__ = ["FUNCTIONS", "FunctionSpec", "NoRule"]


class NoRule(MatrixCalculusError):
    """No closed-form VJP rule is known for this argument of this function."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the language.

    ``integer_args`` are the positions of arguments that must be written as
    non-negative integer constants (the ``k`` of ``matrix_power(X, k)``).
    """

    name: str
    arity: int
    shape_rule: Callable
    sympy: Callable
    vjp: Callable
    doc: str
    integer_args: tuple = ()


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

def _elementwise(name, sp_fn, derivative, doc):
    def vjp(node, index, G):
        slope = derivative(node.args[0], node)
        return None if slope is None else _mul_node(G, slope)

    return FunctionSpec(name, 1, _same_shape, lambda m: m.applyfunc(sp_fn), vjp, doc)


_ELEMENTWISE = [
    _elementwise("log", sympy.log, lambda x, y: Binary("/", Num(1), x), "natural logarithm"),
    _elementwise("exp", sympy.exp, lambda x, y: y, "exponential"),
    _elementwise("tanh", sympy.tanh, lambda x, y: Binary("-", Num(1), Binary("**", y, Num(2))),
                 "hyperbolic tangent"),
    _elementwise("sigmoid", lambda v: 1 / (1 + sympy.exp(-v)),
                 lambda x, y: Binary("*", y, Binary("-", Num(1), y)),
                 "the logistic 1 / (1 + exp(-x))"),
    _elementwise("sqrt", sympy.sqrt, lambda x, y: Binary("/", Num(0.5), y), "square root"),
    _elementwise("sin", sympy.sin, lambda x, y: _call("cos", x), "sine"),
    _elementwise("cos", sympy.cos, lambda x, y: Neg(_call("sin", x)), "cosine"),
    _elementwise("abs", sympy.Abs, lambda x, y: _call("sign", x), "absolute value"),
    _elementwise("sign", sympy.sign, lambda x, y: None, "-1, 0 or 1 by the sign"),
    _elementwise("relu", lambda v: sympy.Max(0, v), lambda x, y: _call("step", x),
                 "max(x, 0)"),
    _elementwise("step", sympy.Heaviside, lambda x, y: None,
                 "1 where x > 0, else 0 (relu's slope)"),
]


# ----- reductions to a scalar, a column or a row -----

def _sp_sum(m):
    return sympy.Matrix([[sum(m)]])


def _vjp_spread(node, index, G):
    # Every entry contributes to the sum once: the VJP spreads G (1×1, r×1 or
    # 1×c, broadcast) over the argument's shape.
    return _mul_node(G, _call("ones_like", node.args[0]))


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
    # d det X = det X tr(X^-1 dX): the gradient is det(X) X^-T.
    return _mul_node(_mul_node(G, node), Transpose(_call("inv", node.args[0])))


def _vjp_logdet(node, index, G):
    # d log det X = tr(X^-1 dX): the gradient is X^-T.
    return _mul_node(G, Transpose(_call("inv", node.args[0])))


def _vjp_inv(node, index, G):
    # d(X^-1) = -X^-1 dX X^-1, so the VJP is -X^-T G X^-T.
    inv_t = Transpose(node)
    return Neg(Binary("@", Binary("@", inv_t, G), inv_t))


def _vjp_adj(node, index, G):
    # adj X = det(X) X^-1, so d adj X = det X (tr(X^-1 dX) X^-1 - X^-1 dX X^-1)
    # and the VJP is det(X) (<G, X^-1> X^-T - X^-T G X^-T).
    X = node.args[0]
    inv_t = Transpose(_call("inv", X))
    return _mul_node(_call("det", X), Binary(
        "-", _mul_node(_call("sum", _mul_node(G, _call("inv", X))), inv_t),
        Binary("@", Binary("@", inv_t, G), inv_t)))


def _matrix_power(X: Node, k: int) -> Node | None:
    return None if k == 0 else X if k == 1 else _call("matrix_power", X, Num(k))


def _vjp_matrix_power(node, index, G):
    # d(X^k) = sum_i X^i dX X^(k-1-i), so the VJP is sum_i (X^i)^T G (X^(k-1-i))^T.
    if index == 1:
        return None
    X, k = node.args[0], int(node.args[1].value)
    terms = []
    for i in range(k):
        left, right = _matrix_power(X, i), _matrix_power(X, k - 1 - i)
        term = G if left is None else Binary("@", Transpose(left), G)
        terms.append(term if right is None else Binary("@", term, Transpose(right)))
    total = terms[0] if terms else None
    for term in terms[1:]:
        total = Binary("+", total, term)
    return total


def _vjp_norm2(node, index, G):
    return Binary("/", _mul_node(G, node.args[0]), node)


def _vjp_norm1(node, index, G):
    return _mul_node(G, _call("sign", node.args[0]))


def _vjp_softmax(node, index, G):
    # J of one row is diag(s) - s s^T, so the VJP of a row g is s * (g - <g, s>).
    return _mul_node(node, Binary("-", G, _call("rowsum", _mul_node(G, node))))


def _vjp_log_softmax(node, index, G):
    # J of one row is I - 1 s^T, so the VJP of a row g is g - s * sum(g).
    return Binary("-", G, _mul_node(_call("softmax", node.args[0]), _call("rowsum", G)))


def _vjp_logsumexp(node, index, G):
    return _mul_node(G, _call("softmax", node.args[0]))


def _diag_shape(env, shapes, why):
    rows, cols = shapes[0]
    if env.resolve(cols).is_one:
        return (rows, rows)  # a column to the diagonal matrix
    return (square(env, shapes[0], why), Dim(1))  # a square matrix to its diagonal


def _sp_diag(m):
    if m.cols == 1:
        return sympy.diag(*m)
    return sympy.Matrix([[m[i, i]] for i in range(m.rows)])


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
    def sp_vec(m):
        m = m.T if by_columns else m
        return m.reshape(m.rows * m.cols, 1)  # SymPy's reshape is row-major too

    def sp_unvec(v, like):
        if by_columns:
            return sympy.Matrix(like.cols, like.rows, list(v)).T
        return sympy.Matrix(like.rows, like.cols, list(v))

    def vjp_vec(node, index, G):
        return _call(unvec, G, node.args[0])

    def vjp_unvec(node, index, G):
        return _call(vec, G) if index == 0 else None  # the second argument gives a shape only

    order = "column by column (the Cookbook's vec)" if by_columns else "row by row (np.ravel)"
    return [FunctionSpec(vec, 1, _vec_shape, sp_vec, vjp_vec, f"a matrix to a column, {order}"),
            FunctionSpec(unvec, 2, _unvec_shape, sp_unvec, vjp_unvec,
                         f"undo {vec}: the column v to the shape of X")]


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


def _sp_matrix_power(m, k):
    return m ** int(k[0, 0])


_OTHERS = [
    FunctionSpec("sum", 1, _scalar, _sp_sum, _vjp_spread, "the sum of all entries"),
    FunctionSpec("rowsum", 1, lambda env, s, why: (s[0][0], Dim(1)),
                 lambda m: _sp_rows(m, sum), _vjp_spread, "the sum of each row (a column)"),
    FunctionSpec("colsum", 1, lambda env, s, why: (Dim(1), s[0][1]),
                 lambda m: _sp_rows(m.T, sum).T, _vjp_spread, "the sum of each column (a row)"),
    FunctionSpec("tr", 1, _square_scalar, lambda m: sympy.Matrix([[m.trace()]]),
                 lambda node, i, G: _mul_node(G, _call("eye_like", node.args[0])),
                 "trace of a square matrix"),
    FunctionSpec("det", 1, _square_scalar,
                 lambda m: sympy.Matrix([[m.det(method="berkowitz")]]), _vjp_det,
                 "determinant"),
    FunctionSpec("logdet", 1, _square_scalar,
                 lambda m: sympy.Matrix([[sympy.log(m.det(method="berkowitz"))]]),
                 _vjp_logdet, "log(det(X)), for det(X) > 0"),
    FunctionSpec("inv", 1, _square_same, _sp_inv, _vjp_inv, "matrix inverse"),
    FunctionSpec("adj", 1, _square_same, lambda m: m.adjugate(method="berkowitz"), _vjp_adj,
                 "adjugate, det(X) inv(X) (its rule needs X invertible)"),
    FunctionSpec("matrix_power", 2, _square_same, _sp_matrix_power, _vjp_matrix_power,
                 "X @ X @ ... @ X, k factors (k an integer constant ≥ 0)", (1,)),
    FunctionSpec("diag", 1, _diag_shape, _sp_diag, lambda node, i, G: _call("diag", G),
                 "a column to its diagonal matrix; a square matrix to its diagonal "
                 "(a column)"),
    FunctionSpec("norm2", 1, _scalar,
                 lambda m: sympy.Matrix([[sympy.sqrt(sum(v * v for v in m))]]), _vjp_norm2,
                 "Euclidean norm of a vector, Frobenius norm of a matrix"),
    FunctionSpec("norm1", 1, _scalar, lambda m: sympy.Matrix([[sum(sympy.Abs(v) for v in m)]]),
                 _vjp_norm1, "the sum of the absolute values of the entries"),
    FunctionSpec("softmax", 1, _same_shape, _sp_softmax, _vjp_softmax,
                 "softmax of each row"),
    FunctionSpec("log_softmax", 1, _same_shape, _sp_log_softmax, _vjp_log_softmax,
                 "log of the softmax of each row"),
    FunctionSpec("logsumexp", 1, lambda env, s, why: (s[0][0], Dim(1)),
                 lambda m: _sp_rows(m, lambda row: sympy.log(sum(sympy.exp(v) for v in row))),
                 _vjp_logsumexp, "log of the sum of exp of each row (a column)"),
    *_vec_pair("vec", "unvec_like", by_columns=False),
    *_vec_pair("vec_columns", "unvec_columns_like", by_columns=True),
    FunctionSpec("kron", 2, _kron_shape, _sp_kron, _vjp_kron, "Kronecker product"),
    FunctionSpec("ones_like", 1, _same_shape, lambda m: sympy.ones(m.rows, m.cols),
                 _no_dependency, "all ones, of X's shape"),
    FunctionSpec("eye_like", 1, _square_same, lambda m: sympy.eye(m.rows), _no_dependency,
                 "the identity of X's (square) shape"),
]

#: name -> FunctionSpec: the only functions the parser accepts.
FUNCTIONS: dict[str, FunctionSpec] = {spec.name: spec for spec in _ELEMENTWISE + _OTHERS}

#: How each function's arguments are written in the language reference.
SIGNATURES = {"unvec_like": "unvec_like(v, X)", "unvec_columns_like": "unvec_columns_like(v, X)",
              "kron": "kron(A, B)", "matrix_power": "matrix_power(X, k)"}
