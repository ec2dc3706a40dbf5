"""The plain-Python meaning of every function and operator of the language.

Where numpy is absent (the browser build, Pyodide without numpy), finite
differences and the value of a candidate answer at a random point are
computed here, with :class:`Mat`, a small row-major matrix of Python floats.
``numeric.py`` holds the numpy meaning of the same names and ``functions.py``
the SymPy one; a test checks that the three tables cover the same functions
and agree at random points.

Like numpy, a value outside a function's domain is NaN or infinite rather
than an error (``log`` of a negative number, a division by zero), so that
the checks reject it the same way; only the inverse of a singular matrix
raises (``ValueError``), as numpy's ``LinAlgError`` does.
"""

from __future__ import annotations

import math

from .evaluate import walk
from .expr import Node

__all__ = ["PYTHON", "Mat", "smallest_singular_value", "to_python"]

NAN, INF = float("nan"), float("inf")


class Mat:
    """A ``rows × cols`` matrix of floats, stored row-major in ``flat``."""

    __slots__ = ("cols", "flat", "rows")

    def __init__(self, rows: int, cols: int, flat: list):
        self.rows, self.cols, self.flat = rows, cols, flat

    @classmethod
    def of(cls, nested) -> Mat:
        """From a list of rows (or a :class:`Mat`, or anything with ``tolist``)."""
        if isinstance(nested, Mat):
            return nested
        if hasattr(nested, "tolist"):
            nested = nested.tolist()
        return cls(len(nested), len(nested[0]) if nested else 0,
                   [float(v) for row in nested for v in row])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    def __getitem__(self, index: tuple[int, int]) -> float:
        return self.flat[index[0] * self.cols + index[1]]

    def tolist(self) -> list[list[float]]:
        c = self.cols
        return [self.flat[i * c:(i + 1) * c] for i in range(self.rows)]

    def map(self, fn) -> Mat:
        return Mat(self.rows, self.cols, [fn(v) for v in self.flat])

    @property
    def T(self) -> Mat:  # numpy's spelling, which walk uses
        r, c, f = self.rows, self.cols, self.flat
        return Mat(c, r, [f[i * c + j] for j in range(c) for i in range(r)])

    def __neg__(self) -> Mat:
        return self.map(lambda v: -v)


def scalar(value: float) -> Mat:
    return Mat(1, 1, [float(value)])


def matmul(a: Mat, b: Mat) -> Mat:
    n, m, p = a.rows, a.cols, b.cols
    af, bf = a.flat, b.flat
    out = []
    for i in range(n):
        row = af[i * m:(i + 1) * m]
        for j in range(p):
            out.append(sum(row[k] * bf[k * p + j] for k in range(m)))
    return Mat(n, p, out)


def _broadcast(op, a: Mat, b: Mat) -> Mat:
    # numpy's rule for 2-D arrays: an axis of length 1 repeats.
    rows, cols = max(a.rows, b.rows), max(a.cols, b.cols)
    return Mat(rows, cols, [op(a[i % a.rows, j % a.cols], b[i % b.rows, j % b.cols])
                            for i in range(rows) for j in range(cols)])


def _divide(x: float, y: float) -> float:
    if y == 0:
        return NAN if x == 0 or x != x else math.copysign(INF, x) * math.copysign(1.0, y)
    return x / y


def _power(x: float, y: float) -> float:
    try:
        value = x ** y
    except ZeroDivisionError:
        return INF
    except OverflowError:
        return INF
    return NAN if isinstance(value, complex) else value


_OPERATORS = {"*": lambda x, y: x * y, "/": _divide, "+": lambda x, y: x + y,
              "-": lambda x, y: x - y, "**": _power}


def _binary(op: str, a: Mat, b: Mat) -> Mat:
    return matmul(a, b) if op == "@" else _broadcast(_OPERATORS[op], a, b)


# ----- elementwise, with numpy's NaN and infinity outside the domain -----

def _log(v):
    return math.log(v) if v > 0 else (-INF if v == 0 else NAN)


def _exp(v):
    try:
        return math.exp(v)
    except OverflowError:
        return INF


def _sigmoid(v):
    # Two branches so that neither exp overflows (the stable logistic).
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _sign(v):
    return float((v > 0) - (v < 0)) if v == v else NAN


# ----- rows: softmax and log-sum-exp, shifted by the row maximum -----

def _rows(m: Mat) -> list[list[float]]:
    return m.tolist()


def _logsumexp_row(row):
    peak = max(row)
    if math.isinf(peak):
        return peak
    return peak + math.log(math.fsum(math.exp(v - peak) for v in row))


def _softmax(m: Mat) -> Mat:
    out = []
    for row in _rows(m):
        peak = max(row)
        e = [math.exp(v - peak) for v in row]
        total = math.fsum(e)
        out.extend(v / total for v in e)
    return Mat(m.rows, m.cols, out)


def _log_softmax(m: Mat) -> Mat:
    out = []
    for row in _rows(m):
        lse = _logsumexp_row(row)
        out.extend(v - lse for v in row)
    return Mat(m.rows, m.cols, out)


def _logsumexp(m: Mat) -> Mat:
    return Mat(m.rows, 1, [_logsumexp_row(row) for row in _rows(m)])


# ----- square matrices: LU with partial pivoting, as LAPACK's getrf -----

def _lu(m: Mat) -> tuple[list[list[float]], list[int], int]:
    """``(LU, permutation, sign)``; a zero pivot is left in place (det 0)."""
    n = m.rows
    a = m.tolist()
    perm, sign = list(range(n)), 1
    for k in range(n):
        pivot = max(range(k, n), key=lambda i: abs(a[i][k]))
        if pivot != k:
            a[k], a[pivot] = a[pivot], a[k]
            perm[k], perm[pivot] = perm[pivot], perm[k]
            sign = -sign
        if a[k][k] == 0:
            continue
        for i in range(k + 1, n):
            factor = a[i][k] / a[k][k]
            a[i][k] = factor
            for j in range(k + 1, n):
                a[i][j] -= factor * a[k][j]
    return a, perm, sign


def _det(m: Mat) -> float:
    a, _, sign = _lu(m)
    return sign * math.prod(a[k][k] for k in range(m.rows))


def _logdet(m: Mat) -> Mat:
    a, _, sign = _lu(m)
    diagonal = [a[k][k] for k in range(m.rows)]
    negative = sum(v < 0 for v in diagonal)
    if any(v == 0 for v in diagonal) or (sign * (-1) ** negative) < 0:
        return scalar(NAN)
    return scalar(math.fsum(math.log(abs(v)) for v in diagonal))


def _inv(m: Mat) -> Mat:
    n = m.rows
    a, perm, _ = _lu(m)
    if any(a[k][k] == 0 for k in range(n)):
        raise ValueError("inv: the matrix is singular")
    columns = []
    for col in range(n):
        # Solve L y = P e_col, then U x = y.
        y = [1.0 if perm[i] == col else 0.0 for i in range(n)]
        for i in range(n):
            y[i] -= sum(a[i][k] * y[k] for k in range(i))
        x = [0.0] * n
        for i in reversed(range(n)):
            x[i] = (y[i] - sum(a[i][k] * x[k] for k in range(i + 1, n))) / a[i][i]
        columns.append(x)
    return Mat(n, n, [columns[j][i] for i in range(n) for j in range(n)])


def _adj(m: Mat) -> Mat:
    det = _det(m)
    return _inv(m).map(lambda v: det * v)


def _matrix_power(m: Mat, k: Mat) -> Mat:
    out = Mat(m.rows, m.cols, [float(i == j) for i in range(m.rows) for j in range(m.cols)])
    for _ in range(int(k.flat[0])):
        out = matmul(out, m)
    return out


def _diag(m: Mat) -> Mat:
    if m.cols == 1:
        n = m.rows
        return Mat(n, n, [m.flat[i] if i == j else 0.0 for i in range(n) for j in range(n)])
    n = min(m.rows, m.cols)
    return Mat(n, 1, [m[i, i] for i in range(n)])


def _kron(a: Mat, b: Mat) -> Mat:
    rows, cols = a.rows * b.rows, a.cols * b.cols
    return Mat(rows, cols, [a[i // b.rows, j // b.cols] * b[i % b.rows, j % b.cols]
                            for i in range(rows) for j in range(cols)])


def _unvec(v: Mat, like: Mat, by_columns: bool) -> Mat:
    if by_columns:
        return Mat(like.cols, like.rows, list(v.flat)).T
    return Mat(like.rows, like.cols, list(v.flat))


def _elementwise(fn):
    return lambda m: m.map(fn)


#: name -> plain-Python function on :class:`Mat` values (1×1 for scalars).
PYTHON = {
    "log": _elementwise(_log), "exp": _elementwise(_exp), "tanh": _elementwise(math.tanh),
    "sigmoid": _elementwise(_sigmoid),
    "sqrt": _elementwise(lambda v: math.sqrt(v) if v >= 0 else NAN),
    "sin": _elementwise(math.sin), "cos": _elementwise(math.cos), "abs": _elementwise(abs),
    "sign": _elementwise(_sign), "relu": _elementwise(lambda v: max(v, 0.0)),
    "step": _elementwise(lambda v: float(v > 0)),
    "sum": lambda m: scalar(math.fsum(m.flat)),
    "rowsum": lambda m: Mat(m.rows, 1, [math.fsum(row) for row in _rows(m)]),
    "colsum": lambda m: Mat(1, m.cols, [math.fsum(col) for col in _rows(m.T)]),
    "tr": lambda m: scalar(math.fsum(m[i, i] for i in range(min(m.rows, m.cols)))),
    "det": lambda m: scalar(_det(m)),
    "logdet": _logdet,
    "inv": _inv,
    "adj": _adj,
    "matrix_power": _matrix_power,
    "diag": _diag,
    "norm2": lambda m: scalar(math.sqrt(math.fsum(v * v for v in m.flat))),
    "norm1": lambda m: scalar(math.fsum(abs(v) for v in m.flat)),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "logsumexp": _logsumexp,
    "vec": lambda m: Mat(m.rows * m.cols, 1, list(m.flat)),
    "unvec_like": lambda v, like: _unvec(v, like, False),
    "vec_columns": lambda m: Mat(m.rows * m.cols, 1, list(m.T.flat)),
    "unvec_columns_like": lambda v, like: _unvec(v, like, True),
    "kron": _kron,
    "ones_like": lambda m: Mat(m.rows, m.cols, [1.0] * (m.rows * m.cols)),
    "eye_like": lambda m: Mat(m.rows, m.rows,
                              [float(i == j) for i in range(m.rows) for j in range(m.rows)]),
}


def to_python(node: Node, values: dict) -> Mat:
    """The value of ``node`` with ``values[name]`` :class:`Mat` values (or lists of rows).

    >>> from derivations.matrix_calculus.parser import parse
    >>> to_python(parse("x.T @ x"), {"x": [[3.0], [4.0]]}).tolist()
    [[25.0]]
    """
    values = {name: Mat.of(v) for name, v in values.items()}
    return walk(node, values, scalar, PYTHON, _binary)


def smallest_singular_value(m: Mat) -> float:
    """``σ_min(m)``, the square root of the smallest eigenvalue of ``mᵀm``, by
    cyclic Jacobi rotations (exact to rounding for the small matrices here)."""
    m = Mat.of(m)
    gram = (matmul(m, m.T) if m.rows < m.cols else matmul(m.T, m)).tolist()
    n = len(gram)
    for _ in range(50):
        off = math.fsum(gram[i][j] ** 2 for i in range(n) for j in range(n) if i != j)
        if off <= 1e-30 * max(1.0, math.fsum(gram[i][i] ** 2 for i in range(n))):
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                if gram[p][q] == 0:
                    continue
                # The rotation that zeroes gram[p][q] (Golub & Van Loan, 8.4).
                tau = (gram[q][q] - gram[p][p]) / (2 * gram[p][q])
                t = math.copysign(1.0, tau) / (abs(tau) + math.sqrt(1 + tau * tau))
                c = 1 / math.sqrt(1 + t * t)
                s = t * c
                for k in range(n):
                    gp, gq = gram[k][p], gram[k][q]
                    gram[k][p], gram[k][q] = c * gp - s * gq, s * gp + c * gq
                for k in range(n):
                    gp, gq = gram[p][k], gram[q][k]
                    gram[p][k], gram[q][k] = c * gp - s * gq, s * gp + c * gq
    return math.sqrt(max(0.0, min(gram[i][i] for i in range(n)))) if n else INF
