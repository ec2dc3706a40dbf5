r"""Dense: :math:`Y = XW + \mathbf 1 b^\top` (rows) and :math:`Y = WX + b\mathbf 1^\top` (columns).

The forward maps and the stated VJPs are matrix expressions in the page's
notation (:mod:`derivations.notation`): the site renders these very
expressions, and the checks substitute concrete matrices into them.

Nothing here knows how netlib computes the gradients: the forward maps are
written from the definitions, and the stated VJPs below are the textbook
results the checks hold against the SymPy Jacobian.
"""

from __future__ import annotations

from derivations.core import Derivation
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
)

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
)

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
)
