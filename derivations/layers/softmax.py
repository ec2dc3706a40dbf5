r"""Softmax and log-softmax over the features of each sample (row layout).

Each output of a row depends on every input of that row, so the Jacobian is
block diagonal with one full block per sample; the stated VJPs never form it.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation
from netlib import LogSoftmax, Softmax

SHAPES = ({"x": (2, 3)}, {"x": (3, 4)})


def softmax_rows(symbols):
    r""":math:`y_{nk} = e^{x_{nk}} / \sum_j e^{x_{nj}}` (no max shift: the algebra is exact)."""
    E = symbols["x"].applyfunc(sympy.exp)
    return sympy.Matrix(E.rows, E.cols, lambda n, k: E[n, k] / sum(E.row(n)))


def log_softmax_rows(symbols):
    r""":math:`y_{nk} = x_{nk} - \log \sum_j e^{x_{nj}}`."""
    X = symbols["x"]
    return sympy.Matrix(X.rows, X.cols,
                        lambda n, k: X[n, k] - sympy.log(sum(X.row(n).applyfunc(sympy.exp))))


def row_sums(M):
    """Column of the row sums of ``M``, broadcast back to ``M``'s shape."""
    return sympy.Matrix(M.rows, M.cols, lambda n, _: sum(M.row(n)))


def stated_softmax(G, s):
    # J = diag(y) - y yᵀ per row, symmetric, so Jᵀ g = y ⊙ (g - <g, y>).
    Y = softmax_rows(s)
    return Y.multiply_elementwise(G - row_sums(G.multiply_elementwise(Y)))


def stated_log_softmax(G, s):
    # dy_k/dx_j = δ_kj - softmax_j, so Jᵀ g = g - softmax(x) Σ_k g_k.
    return G - softmax_rows(s).multiply_elementwise(row_sums(G))


SOFTMAX = Derivation(
    name="softmax",
    title="Softmax",
    netlib_class=Softmax,
    definition_latex=r"y_{nk} = \frac{e^{x_{nk}}}{\sum_j e^{x_{nj}}}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=softmax_rows,
    stated={"x": stated_softmax},
    stated_latex={"x": r"Y \odot \big(G - (G \odot Y)\mathbf{1}\mathbf{1}^\top\big)"},
    build=lambda values: Softmax(),
    notes="netlib subtracts each row's maximum before exp (the result is unchanged, "
          "nothing overflows). Keeping only the diagonal y(1 - y) of the Jacobian "
          "is a classic mistake.",
)

LOG_SOFTMAX = Derivation(
    name="log_softmax",
    title="Log-softmax",
    netlib_class=LogSoftmax,
    definition_latex=r"y_{nk} = x_{nk} - \log \sum_j e^{x_{nj}}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=log_softmax_rows,
    stated={"x": stated_log_softmax},
    stated_latex={"x": r"G - \operatorname{softmax}(X) \odot (G \mathbf{1}\mathbf{1}^\top)"},
    build=lambda values: LogSoftmax(),
    notes="netlib computes it max-shifted and recovers softmax(x) as exp(y).",
)
