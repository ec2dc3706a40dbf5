r"""Layer norm and batch norm, restated from the definitions of mean and variance.

Both standardise a group of :math:`m` numbers,
:math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}` with the biased variance,
then scale by :math:`\gamma` and shift by :math:`\beta`; layer norm's groups
are the rows (features of one sample), batch norm's the columns (one feature
over the batch, training mode). The forward maps below write :math:`\mu` and
:math:`\sigma^2` out as sums, so SymPy differentiates through them; the stated
VJPs carry the two mean terms that come from that dependence:

.. math:: \frac{\partial L}{\partial x} = \frac{1}{\sigma}\Big(D - \overline{D}
          - \hat X \odot \overline{D \odot \hat X}\Big), \qquad D = G \odot \gamma,

bars being means over the group. :math:`\epsilon` is exact (1/100) in SymPy
and 0.01 in netlib.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation, uniform_sample
from netlib import BatchNorm1d, LayerNorm

EPS = sympy.Rational(1, 100)


def _standardise_rows(X):
    r"""Per row: :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}` and that row's 1/sigma."""
    m = X.cols
    xhat = sympy.zeros(*X.shape)
    inv_std = []
    for n in range(X.rows):
        row = X.row(n)
        mu = sum(row) / m
        var = sum((v - mu) ** 2 for v in row) / m
        inv_std.append(1 / sympy.sqrt(var + EPS))
        for j in range(m):
            xhat[n, j] = (row[j] - mu) * inv_std[-1]
    return xhat, inv_std


def _scale_shift_rows(xhat, gamma, beta):
    return sympy.Matrix(xhat.rows, xhat.cols,
                        lambda n, j: gamma[j] * xhat[n, j] + beta[j])


def layer_norm(symbols):
    r"""Rows standardised over their features, then :math:`\gamma \odot \hat x + \beta`."""
    xhat, _ = _standardise_rows(symbols["x"])
    return _scale_shift_rows(xhat, symbols["gamma"], symbols["beta"])


def batch_norm(symbols):
    r"""Columns standardised over the batch (training mode), then scaled and shifted."""
    xhat_t, _ = _standardise_rows(symbols["x"].T)     # a column's entries are a row of Xᵀ
    return _scale_shift_rows(xhat_t.T, symbols["gamma"], symbols["beta"])


def _row_means(M):
    """Each row's mean, broadcast back to ``M``'s shape."""
    return sympy.Matrix(M.rows, M.cols, lambda n, _: sum(M.row(n)) / M.cols)


def _dx_over_rows(D, xhat, inv_std):
    r""":math:`\frac1\sigma(D - \overline D - \hat X \odot \overline{D \odot \hat X})` per row."""
    inner = D - _row_means(D) - xhat.multiply_elementwise(_row_means(D.multiply_elementwise(xhat)))
    return sympy.Matrix(D.rows, D.cols, lambda n, j: inv_std[n] * inner[n, j])


def stated_layer_norm_dx(G, s):
    xhat, inv_std = _standardise_rows(s["x"])
    D = sympy.Matrix(G.rows, G.cols, lambda n, j: G[n, j] * s["gamma"][j])
    return _dx_over_rows(D, xhat, inv_std)


def stated_batch_norm_dx(G, s):
    # The same formula with the groups as columns: work on the transposes.
    xhat_t, inv_std = _standardise_rows(s["x"].T)
    D_t = sympy.Matrix(G.cols, G.rows, lambda j, n: G[n, j] * s["gamma"][j])
    return _dx_over_rows(D_t, xhat_t, inv_std).T


def _column_sums(M):
    return sympy.ones(1, M.rows) * M


def _build(cls, values):
    layer = cls(values["gamma"].shape[0], eps=float(EPS))
    layer.params["gamma"][...] = values["gamma"]
    layer.params["beta"][...] = values["beta"]
    return layer


LAYER_NORM = Derivation(
    name="layer_norm",
    title="Layer normalisation",
    netlib_class=LayerNorm,
    definition_latex=r"y_{nj} = \gamma_j \frac{x_{nj} - \mu_n}{\sqrt{\sigma_n^2 + \epsilon}}"
                     r" + \beta_j,"
                     r"\quad \mu_n = \tfrac1m \sum_j x_{nj},\ "
                     r"\sigma_n^2 = \tfrac1m \sum_j (x_{nj} - \mu_n)^2",
    inputs=("x", "gamma", "beta"),
    shape_sets=({"x": (2, 3), "gamma": (3,), "beta": (3,)},
                {"x": (3, 2), "gamma": (2,), "beta": (2,)}),
    forward=layer_norm,
    stated={
        "x": stated_layer_norm_dx,
        # gamma and beta are shared by every row: sum over the batch.
        "gamma": lambda G, s: _column_sums(G.multiply_elementwise(_standardise_rows(s["x"])[0])),
        "beta": lambda G, s: _column_sums(G),
    },
    stated_latex={
        "x": r"\tfrac{1}{\sigma} \odot \big(D - \overline{D} - \hat X \odot "
             r"\overline{D \odot \hat X}\big),\ D = G \odot \gamma,\ \text{means over each row}",
        "gamma": r"\mathbf{1}^\top (G \odot \hat X)",
        "beta": r"\mathbf{1}^\top G",
    },
    build=lambda values: _build(LayerNorm, values),
    sample=uniform_sample(ranges={"gamma": (0.5, 2.0)}),
    hyper={"eps": EPS},
    notes="The variance is the biased one (divided by m). Forgetting that mu and "
          "sigma depend on x (keeping only G γ / σ) is the classic mistake.",
)


BATCH_NORM = Derivation(
    name="batch_norm",
    title="Batch normalisation (training mode)",
    netlib_class=BatchNorm1d,
    definition_latex=r"y_{nj} = \gamma_j \frac{x_{nj} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}}"
                     r" + \beta_j,"
                     r"\quad \mu_j = \tfrac1N \sum_n x_{nj},\ "
                     r"\sigma_j^2 = \tfrac1N \sum_n (x_{nj} - \mu_j)^2",
    inputs=("x", "gamma", "beta"),
    shape_sets=({"x": (3, 2), "gamma": (2,), "beta": (2,)},
                {"x": (2, 3), "gamma": (3,), "beta": (3,)}),
    forward=batch_norm,
    stated={
        # The layer-norm formula on the transpose: the groups are the columns.
        "x": stated_batch_norm_dx,
        "gamma": lambda G, s: _column_sums(G.multiply_elementwise(
            _standardise_rows(s["x"].T)[0].T)),
        "beta": lambda G, s: _column_sums(G),
    },
    stated_latex={
        "x": r"\tfrac{1}{\sigma} \odot \big(D - \overline{D} - \hat X \odot "
             r"\overline{D \odot \hat X}\big),\ D = G \odot \gamma,\ \text{means over the batch}",
        "gamma": r"\mathbf{1}^\top (G \odot \hat X)",
        "beta": r"\mathbf{1}^\top G",
    },
    build=lambda values: _build(BatchNorm1d, values),
    sample=uniform_sample(ranges={"gamma": (0.5, 2.0)}),
    hyper={"eps": EPS, "mode": "training"},
    notes="Training mode: the statistics of the batch, so every output depends on "
          "the whole batch. Inference mode uses the running statistics, a fixed "
          "affine map (tests/test_new_layers.py). Dropping the two mean terms is "
          "the classic mistake (a mutant in the catalogue).",
)
