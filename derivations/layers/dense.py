r"""Dense: :math:`Y = XW + \mathbf 1 b^\top` (rows) and :math:`Y = WX + b\mathbf 1^\top` (columns).

Nothing here knows how netlib computes the gradients: the forward maps are
written from the definitions, and the stated VJPs below are the textbook
results the checks hold against the SymPy Jacobian.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation, ones_row
from netlib import Dense


def dense_rows(symbols):
    r""":math:`Y = X W + \mathbf 1 b^\top`: every row of X gets the same bias row."""
    X, W = symbols["x"], symbols["W"]
    Y = X * W
    if "b" in symbols:
        Y += sympy.ones(X.rows, 1) * symbols["b"]        # b is a 1×out row
    return Y


def dense_columns(symbols):
    r""":math:`Y = W X + b \mathbf 1^\top`: every column of X gets the same bias column."""
    X, W = symbols["x"], symbols["W"]
    Y = W * X
    if "b" in symbols:
        Y += symbols["b"].T * ones_row(X.cols)           # bᵀ is an out×1 column
    return Y


def _build_rows(values):
    return Dense.from_params(values["W"], values.get("b"), layout="rows")


def _build_columns(values):
    return Dense.from_params(values["W"], values.get("b"), layout="columns")


DENSE = Derivation(
    name="dense",
    title="Dense (row layout)",
    netlib_class=Dense,
    definition_latex=r"Y = X W + \mathbf{1} b^\top, \quad X \in \mathbb{R}^{N\times n_\text{in}},"
                     r"\ W \in \mathbb{R}^{n_\text{in}\times n_\text{out}},"
                     r"\ b \in \mathbb{R}^{n_\text{out}}",
    inputs=("x", "W", "b"),
    shape_sets=({"x": (2, 3), "W": (3, 4), "b": (4,)},
                {"x": (3, 4), "W": (4, 2), "b": (2,)}),
    forward=dense_rows,
    stated={
        # y[n, j] = sum_i x[n, i] W[i, j]: for x the output index j is summed
        # out, which W.T on the right does; for W the batch index n, X.T on the left.
        "x": lambda G, s: G * s["W"].T,
        "W": lambda G, s: s["x"].T * G,
        # b is added to every row, so its gradient sums G over the batch rows.
        "b": lambda G, s: ones_row(G.rows) * G,
    },
    stated_latex={"x": r"G W^\top", "W": r"X^\top G", "b": r"G^\top \mathbf{1}"},
    build=_build_rows,
    notes="Row layout is netlib's canonical one (and PyTorch's batch layout); "
          "PyTorch stores W as (out, in) and computes X Wᵀ.",
)

DENSE_NO_BIAS = Derivation(
    name="dense_no_bias",
    title="Dense without bias (row layout)",
    netlib_class=Dense,
    definition_latex=r"Y = X W",
    inputs=("x", "W"),
    shape_sets=({"x": (2, 3), "W": (3, 4)}, {"x": (4, 3), "W": (3, 2)}),
    forward=dense_rows,
    stated={"x": lambda G, s: G * s["W"].T, "W": lambda G, s: s["x"].T * G},
    stated_latex={"x": r"G W^\top", "W": r"X^\top G"},
    build=_build_rows,
    notes="Dense(..., bias=False): seed D's networks have no bias.",
)

DENSE_COLUMNS = Derivation(
    name="dense_columns",
    title="Dense (column layout)",
    netlib_class=Dense,
    definition_latex=r"Y = W X + b \mathbf{1}^\top, \quad X \in \mathbb{R}^{n_\text{in}\times N},"
                     r"\ W \in \mathbb{R}^{n_\text{out}\times n_\text{in}},"
                     r"\ b \in \mathbb{R}^{n_\text{out}}",
    inputs=("x", "W", "b"),
    # The transposes of DENSE's shapes, so the two layouts can be compared.
    shape_sets=({"x": (3, 2), "W": (4, 3), "b": (4,)},
                {"x": (4, 3), "W": (2, 4), "b": (2,)}),
    forward=dense_columns,
    stated={
        # This map is the row layout's transposed: X = X_rᵀ, W = W_rᵀ, G = G_rᵀ,
        # so dX = (G_r W_rᵀ)ᵀ = W_r G_rᵀ = Wᵀ G, and dW = (X_rᵀ G_r)ᵀ = G Xᵀ.
        "x": lambda G, s: s["W"].T * G,
        "W": lambda G, s: G * s["x"].T,
        # b is added to every column: sum G over the batch columns.
        "b": lambda G, s: G * sympy.ones(G.cols, 1),
    },
    stated_latex={"x": r"W^\top G", "W": r"G X^\top", "b": r"G \mathbf{1}"},
    build=_build_columns,
    transpose_of="dense",
    transpose_map={"x": "x", "W": "W", "b": "b"},
    notes="Column layout (x of shape (in, batch), W of shape (out, in)) is the "
          "transpose of the row-layout map; its gradients are the transposes.",
)
