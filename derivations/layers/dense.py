r"""Dense: :math:`Y = XW + \mathbf 1 b^\top` (rows) and :math:`Y = WX + b\mathbf 1^\top` (columns).

The forward maps and the stated VJPs are matrix expressions in the page's
notation (:mod:`derivations.notation`): the site renders these very
expressions, and the checks substitute concrete matrices into them.

Nothing here knows how netlib computes the gradients: the forward maps are
written from the definitions, and the stated VJPs below are the textbook
results the checks hold against the SymPy Jacobian.
"""

from __future__ import annotations

from derivations.core import Derivation, Mutant
from derivations.notation import matrix, ones, size
from netlib import Dense

# The page's notation: N samples, n_in inputs, n_out outputs per sample.
N, N_IN, N_OUT = size("N"), size("n_in"), size("n_out")

# Row layout: X is (N, n_in), W is (n_in, n_out), b a column of n_out.
X, W, B = matrix("x", N, N_IN), matrix("W", N_IN, N_OUT), matrix("b", N_OUT, 1)
G = matrix("G", N, N_OUT)

# Column layout: every matrix of the row layout transposed.
X_C, W_C, G_C = matrix("x", N_IN, N), matrix("W", N_OUT, N_IN), matrix("G", N_OUT, N)


def _build_rows(values):
    return Dense.from_params(values["W"], values.get("b"), layout="rows")


def _build_columns(values):
    return Dense.from_params(values["W"], values.get("b"), layout="columns")


class DenseWeightGradientTransposed(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = g.T @ self._x        # swapped order: (out, in), the transpose
        return dx

class DenseInputGradientColumnFormula(Dense):
    def _backward(self, g):
        super()._backward(g)
        return self.params["W"] @ g.T

class DenseBiasSummedOverFeatures(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.sum(axis=1)        # over the outputs instead of the batch
        return dx

class DenseBiasNotSummed(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.copy()             # one bias gradient per sample, never summed
        return dx

class DenseBiasAveraged(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.mean(axis=0)       # the loss already divided by the batch
        return dx

class DenseWeightGradientOverBatch(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = self._x.T @ g / len(g)   # 1/batch a second time
        return dx

class DenseWeightGradientNegated(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = -(self._x.T @ g)     # the descent step's sign, not the gradient's
        return dx

class DenseInputGradientFromUpdatedWeights(Dense):
    def _backward(self, g):
        x, W = self._x, self.params["W"]
        dW = x.T @ g
        self.grads["W"] = dW
        if "b" in self.params:
            self.grads["b"] = g.sum(axis=0)
        updated = W - 0.1 * dW                 # W after an SGD step, used too early
        return g @ updated.T


DENSE = Derivation(
    name="dense",
    title="Dense (row layout)",
    netlib_class=Dense,
    inputs=("x", "W", "b"),
    shape_sets=({"x": (2, 3), "W": (3, 4), "b": (4,)},
                {"x": (3, 4), "W": (4, 2), "b": (2,)}),
    # Every row of X gets the same bias row bᵀ.
    forward=X * W + ones(N, 1) * B.T,
    stated={
        # y[n, j] = sum_i x[n, i] W[i, j]: for x the output index j is summed
        # out, which W.T on the right does; for W the batch index n, X.T on the left.
        "x": G * W.T,
        "W": X.T * G,
        # b is added to every row, so its gradient sums G over the batch rows.
        "b": G.T * ones(N, 1),
    },
    build=_build_rows,
    notes="Row layout is netlib's canonical one (and PyTorch's batch layout); "
          "PyTorch stores W as (out, in) and computes X Wᵀ.",
    mutants=(
        Mutant("dense_dW_transposed",
               "dW = Gᵀ X: product order swapped",
               "dW has W's transpose, shape (out, in)",
               DenseWeightGradientTransposed),
        Mutant("dense_dx_column_formula",
               "dx = W Gᵀ: the column-layout formula in row-layout code",
               "dx is transposed, shape (in, batch)",
               DenseInputGradientColumnFormula),
        Mutant("dense_db_wrong_axis",
               "db = G summed over the outputs (axis 1) instead of the batch",
               "db has one entry per sample",
               DenseBiasSummedOverFeatures, slips_square_ones=True),
        Mutant("dense_db_not_summed",
               "db = G: the bias gradient is not summed over the batch",
               "db has G's shape (batch, out)",
               DenseBiasNotSummed),
        Mutant("dense_db_averaged",
               "db = mean of G over the batch: 1/batch applied again",
               "db is 1/batch of the truth",
               DenseBiasAveraged),
        Mutant("dense_dW_over_batch",
               "dW = XᵀG / batch: 1/batch applied again",
               "dW is 1/batch of the truth",
               DenseWeightGradientOverBatch),
        Mutant("dense_dW_sign",
               "dW = -XᵀG: the update direction's sign",
               "dW points uphill; training diverges",
               DenseWeightGradientNegated),
        Mutant("dense_dx_updated_weights",
               "dx computed with W after the SGD step",
               "dx is off by -0.1 G (XᵀG)ᵀ",
               DenseInputGradientFromUpdatedWeights),
    ),
)

class DenseNoBiasInputGradientOverBatch(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        return dx / len(g)                     # 1/batch in the layer: the loss has it already


DENSE_NO_BIAS = Derivation(
    name="dense_no_bias",
    title="Dense without bias (row layout)",
    netlib_class=Dense,
    inputs=("x", "W"),
    shape_sets=({"x": (2, 3), "W": (3, 4)}, {"x": (4, 3), "W": (3, 2)}),
    forward=X * W,
    stated={"x": G * W.T, "W": X.T * G},
    build=_build_rows,
    notes="Dense(..., bias=False): seed D's networks have no bias.",
    mutants=(
        Mutant("dense_no_bias_dx_over_batch",
               "dx = G Wᵀ / batch: 1/batch applied in the layer too",
               "dx is 1/batch of the truth",
               DenseNoBiasInputGradientOverBatch),
    ),
)

class DenseColumnsWeightGradientRowFormula(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = self._x @ g.T        # Xᵀ G transposed: (in, out)
        return dx

class DenseColumnsBiasSummedOverFeatures(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.sum(axis=0)        # over the outputs; the batch is axis 1 here
        return dx

class DenseColumnsInputGradientNotTransposedBack(Dense):
    def _backward(self, g):
        super()._backward(g)
        return g.T @ self.params["W"]


DENSE_COLUMNS = Derivation(
    name="dense_columns",
    title="Dense (column layout)",
    netlib_class=Dense,
    inputs=("x", "W", "b"),
    # The transposes of DENSE's shapes, so the two layouts can be compared.
    shape_sets=({"x": (3, 2), "W": (4, 3), "b": (4,)},
                {"x": (4, 3), "W": (2, 4), "b": (2,)}),
    # Every column of X gets the same bias column b.
    forward=W_C * X_C + B * ones(1, N),
    stated={
        # This map is the row layout's transposed: X = X_rᵀ, W = W_rᵀ, G = G_rᵀ,
        # so dX = (G_r W_rᵀ)ᵀ = W_r G_rᵀ = Wᵀ G, and dW = (X_rᵀ G_r)ᵀ = G Xᵀ.
        "x": W_C.T * G_C,
        "W": G_C * X_C.T,
        # b is added to every column: sum G over the batch columns.
        "b": G_C * ones(N, 1),
    },
    build=_build_columns,
    transpose_of="dense",
    transpose_map={"x": "x", "W": "W", "b": "b"},
    notes="Column layout (x of shape (in, batch), W of shape (out, in)) is the "
          "transpose of the row-layout map; its gradients are the transposes.",
    mutants=(
        Mutant("dense_columns_dW_row_formula",
               "dW = X Gᵀ: the row-layout formula in column-layout code",
               "dW has shape (in, out), the transpose",
               DenseColumnsWeightGradientRowFormula),
        Mutant("dense_columns_db_wrong_axis",
               "db = G summed over axis 0 (the outputs) instead of axis 1 "
               "(the batch)",
               "db has one entry per sample",
               DenseColumnsBiasSummedOverFeatures, slips_square_ones=True),
        Mutant("dense_columns_dx_not_transposed_back",
               "dx = Gᵀ W: the transposed product never transposed back",
               "dx has shape (batch, in)",
               DenseColumnsInputGradientNotTransposedBack),
    ),
)
