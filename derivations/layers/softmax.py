r"""Softmax and log-softmax over the features of each sample (row layout).

Each output of a row depends on every input of that row, so the Jacobian is
block diagonal with one full block per sample; the stated VJPs never form it.
"""

from __future__ import annotations

import numpy as np
import sympy

from derivations.core import G_ENTRYWISE, X_ENTRYWISE, Derivation, F, Mutant
from derivations.notation import Operator, ones
from netlib import LogSoftmax, Softmax

SHAPES = ({"x": (2, 3)}, {"x": (3, 4)})


def row_softmax(M: sympy.Matrix) -> sympy.Matrix:
    r"""Each row's softmax, :math:`e^{m_{nk}} / \sum_j e^{m_{nj}}` (a :math:`-\infty` weighs 0).

    No max shift: the algebra is exact.
    """
    E = M.applyfunc(sympy.exp)
    return sympy.Matrix(E.rows, E.cols, lambda n, k: E[n, k] / sum(E.row(n)))


def softmax_rows(symbols):
    r""":math:`y_{nk} = e^{x_{nk}} / \sum_j e^{x_{nj}}`, the forward map of the input ``x``."""
    return row_softmax(symbols["x"])


def log_softmax_rows(symbols):
    r""":math:`y_{nk} = x_{nk} - \log \sum_j e^{x_{nj}}`."""
    X = symbols["x"]
    return sympy.Matrix(X.rows, X.cols,
                        lambda n, k: X[n, k] - sympy.log(sum(X.row(n).applyfunc(sympy.exp))))


class RowSoftmax(Operator):
    r""":math:`\operatorname{softmax}(X)`, over the features of each row (from the definition)."""

    def explicit(self, X):
        return row_softmax(X)

    def _latex(self, printer):
        return rf"\operatorname{{softmax}}({printer._print(self.args[0])})"


def row_sums(M):
    r"""Each row's sum, broadcast back along the row: :math:`M \mathbf 1 \mathbf 1^\top`."""
    return M * ones(F, 1) * ones(1, F)


#: The softmax of the input, :math:`Y`, as the stated VJPs use it.
Y_SOFTMAX = RowSoftmax(X_ENTRYWISE)


class SoftmaxDiagonalOnly(Softmax):
    def _backward(self, g):
        y = self._y
        return g * y * (1 - y)

class SoftmaxSumOverBatch(Softmax):
    def _backward(self, g):
        y = self._y
        return y * (g - (g * y).sum(axis=0, keepdims=True))


SOFTMAX = Derivation(
    name="softmax",
    title="Softmax",
    netlib_class=Softmax,
    definition_latex=r"y_{nk} = \frac{e^{x_{nk}}}{\sum_j e^{x_{nj}}}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=softmax_rows,
    # J = diag(y) - y yᵀ per row, symmetric, so Jᵀ g = y ⊙ (g - <g, y>).
    stated={"x": sympy.HadamardProduct(
        Y_SOFTMAX, G_ENTRYWISE - row_sums(sympy.HadamardProduct(G_ENTRYWISE, Y_SOFTMAX)))},
    build=lambda values: Softmax(),
    notes="netlib subtracts each row's maximum before exp (the result is unchanged, "
          "nothing overflows). Keeping only the diagonal y(1 - y) of the Jacobian "
          "is a classic mistake.",
    mutants=(
        Mutant("softmax_diagonal_only",
               "only the diagonal y(1 - y) of the softmax Jacobian",
               "the coupling -y_i y_j between classes is lost",
               SoftmaxDiagonalOnly),
        Mutant("softmax_sum_over_batch",
               "⟨g, y⟩ summed over the batch axis instead of the classes",
               "samples leak into each other",
               SoftmaxSumOverBatch),
    ),
)

class LogSoftmaxWithoutSumOfG(LogSoftmax):
    def _backward(self, g):
        return g - np.exp(self._y)

class LogSoftmaxSumOverBatch(LogSoftmax):
    def _backward(self, g):
        return g - np.exp(self._y) * g.sum(axis=0, keepdims=True)


LOG_SOFTMAX = Derivation(
    name="log_softmax",
    title="Log-softmax",
    netlib_class=LogSoftmax,
    definition_latex=r"y_{nk} = x_{nk} - \log \sum_j e^{x_{nj}}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=log_softmax_rows,
    # dy_k/dx_j = δ_kj - softmax_j, so Jᵀ g = g - softmax(x) Σ_k g_k.
    stated={"x": G_ENTRYWISE - sympy.HadamardProduct(Y_SOFTMAX, row_sums(G_ENTRYWISE))},
    build=lambda values: LogSoftmax(),
    notes="netlib computes it max-shifted and recovers softmax(x) as exp(y).",
    mutants=(
        Mutant("log_softmax_without_sum_of_g",
               "G - softmax(x): the factor Σ_k G_k dropped",
               "right only when G sums to 1 per sample",
               LogSoftmaxWithoutSumOfG),
        Mutant("log_softmax_sum_over_batch",
               "Σ G taken over the batch axis instead of the classes",
               "samples leak into each other",
               LogSoftmaxSumOverBatch, slips_square_ones=True),
    ),
)
