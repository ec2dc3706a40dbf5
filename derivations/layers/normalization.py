r"""Layer norm and batch norm, restated from the definitions of mean and variance.

Both standardise a group of numbers,
:math:`\hat x = (x - \mu)/\sigma` with :math:`\sigma = \sqrt{\operatorname{var} + \epsilon}`
(the biased variance), then scale by :math:`\gamma` and shift by :math:`\beta`;
layer norm's groups are the rows of :math:`X` (the :math:`F` features of one
sample), batch norm's the columns (one feature over the :math:`N` samples of
the batch, training mode). The forward maps below write :math:`\mu` and
:math:`\sigma` out as sums, so SymPy differentiates through them; the stated
VJPs carry the two mean terms that come from that dependence. With
:math:`D = G \odot \mathbf 1 \gamma^\top`, for layer norm (means over rows,
:math:`\sigma` a column of :math:`N`)

.. math:: \frac{\partial L}{\partial X} = \frac{F D - D \mathbf 1 \mathbf 1^\top
          - \hat X \odot (D \odot \hat X) \mathbf 1 \mathbf 1^\top}{F \sigma \mathbf 1^\top},

where :math:`D \mathbf 1 = G \gamma` and :math:`(D \odot \hat X)\mathbf 1 = (G \odot \hat X)\gamma`;
batch norm is the same with the groups as columns (:math:`\gamma` is constant
in a group and factors out). :math:`\hat X` and :math:`\sigma` are the
operators :class:`RowStandardised`, :class:`RowStandardDeviation` (and their
column versions), computed from their definitions; the rest is plain matrix
algebra. :math:`\epsilon` is exact (1/100) in SymPy and 0.01 in netlib.
"""

from __future__ import annotations

import sympy
from sympy import HadamardPower, HadamardProduct

from derivations.core import Derivation, Mutant, uniform_sample
from derivations.notation import Operator, matrix, ones, size
from netlib import BatchNorm1d, LayerNorm, RMSNorm

EPS = sympy.Rational(1, 100)


def _standardise_rows(X):
    r"""Per row, :math:`\hat x = (x - \mu)/\sigma`, and the rows' :math:`\sigma`.

    :math:`\sigma = \sqrt{\operatorname{var} + \epsilon}`, the variance the biased one.
    """
    m = X.cols
    xhat = sympy.zeros(*X.shape)
    std = []
    for n in range(X.rows):
        row = X.row(n)
        mu = sum(row) / m
        var = sum((v - mu) ** 2 for v in row) / m
        std.append(sympy.sqrt(var + EPS))
        for j in range(m):
            xhat[n, j] = (row[j] - mu) / std[-1]
    return xhat, std


# -- the two named statistics, as operators of the notation -----------------------------
class _GroupStatistic(Operator):
    """A statistic of the groups of ``X``: its rows (``axis = 1``) or its columns (``axis = 0``)."""

    axis: int

    def _standardised(self, X):
        r""":math:`\hat X` in the shape of ``X``, and the groups' :math:`\sigma`."""
        if self.axis == 1:
            return _standardise_rows(X)
        xhat_t, std = _standardise_rows(X.T)        # a column of X is a row of Xᵀ
        return xhat_t.T, std


class _Standardised(_GroupStatistic):
    r""":math:`\hat X`: each group minus its mean, over its :math:`\sigma`."""

    def explicit(self, X):
        return self._standardised(X)[0]

    def _latex(self, printer):
        return rf"\hat{{{printer._print(self.args[0])}}}"


class _StandardDeviation(_GroupStatistic):
    r""":math:`\sigma`: a column of :math:`\sqrt{\operatorname{var} + \epsilon}`, one per group."""

    @property
    def shape(self):
        X = self.args[0]
        return (X.rows if self.axis == 1 else X.cols, 1)

    def explicit(self, X):
        std = self._standardised(X)[1]
        return sympy.Matrix(len(std), 1, std)

    def _latex(self, printer):
        return r"\sigma"


class RowStandardised(_Standardised):
    r""":math:`\hat X` of layer norm: each row standardised over its features."""

    axis = 1


class ColumnStandardised(_Standardised):
    r""":math:`\hat X` of batch norm: each column standardised over the batch."""

    axis = 0


class RowStandardDeviation(_StandardDeviation):
    r""":math:`\sigma` of layer norm: :math:`\sigma_n` of each row, a column of :math:`N`."""

    axis = 1


class ColumnStandardDeviation(_StandardDeviation):
    r""":math:`\sigma` of batch norm: :math:`\sigma_j` of each column, a column of :math:`F`."""

    axis = 0


# -- the forward maps (from the definitions, on explicit matrices) -----------------------
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


# -- the page's notation -----------------------------------------------------------------
def _difference(first, *subtracted):
    """``first - a - b ...`` with the terms in this order (SymPy would sort them)."""
    return sympy.MatAdd(first, *(sympy.MatMul(-1, term) for term in subtracted))


# N samples of F features; gamma and beta are columns of F, as the page writes them.
N, F = size("N"), size("F")
X, G = matrix("x", N, F), matrix("G", N, F)
GAMMA, BETA = matrix("gamma", F, 1), matrix("beta", F, 1)

# Layer norm: groups are rows. D = G ⊙ 1γᵀ; its row sums are D 1 = G γ and
# (D ⊙ X̂) 1 = (G ⊙ X̂) γ, so D itself is only written once.
XHAT_ROWS, SIGMA_ROWS = RowStandardised(X), RowStandardDeviation(X)
LAYER_NORM_DX = HadamardProduct(
    _difference(F * HadamardProduct(G, ones(N, 1) * GAMMA.T),
                G * GAMMA * ones(1, F),
                HadamardProduct(XHAT_ROWS, HadamardProduct(G, XHAT_ROWS) * GAMMA * ones(1, F))),
    HadamardPower(F * SIGMA_ROWS * ones(1, F), -1))

# Batch norm: groups are columns, and γ_j is constant over column j, so it
# factors out of both column means: 1 1ᵀ sums each column over the batch.
XHAT_COLUMNS, SIGMA_COLUMNS = ColumnStandardised(X), ColumnStandardDeviation(X)
ONES_NN = ones(N, 1) * ones(1, N)
BATCH_NORM_DX = HadamardProduct(
    ones(N, 1) * GAMMA.T,
    _difference(N * G,
                ONES_NN * G,
                HadamardProduct(XHAT_COLUMNS, ONES_NN * HadamardProduct(G, XHAT_COLUMNS))),
    HadamardPower(N * ones(N, 1) * SIGMA_COLUMNS.T, -1))

# gamma and beta are shared by every row: their gradients sum over the batch.
BETA_GRADIENT = ones(1, N) * G


def _build(cls, values):
    layer = cls(values["gamma"].shape[0], eps=float(EPS))
    layer.params["gamma"][...] = values["gamma"]
    layer.params["beta"][...] = values["beta"]
    return layer


class LayerNormWithoutMeanTerms(LayerNorm):
    def _backward(self, g):
        super()._backward(g)
        return g * self.params["gamma"] * self._inv_std


LAYER_NORM = Derivation(
    name="layer_norm",
    title="Layer normalisation",
    netlib_class=LayerNorm,
    definition_latex=r"y_{nj} = \gamma_j \hat x_{nj} + \beta_j,\quad"
                     r"\hat x_{nj} = \frac{x_{nj} - \mu_n}{\sigma_n},\quad"
                     r"\mu_n = \tfrac1F \sum_j x_{nj},\ "
                     r"\sigma_n = \sqrt{\tfrac1F \textstyle\sum_j (x_{nj} - \mu_n)^2 + \epsilon}",
    inputs=("x", "gamma", "beta"),
    shape_sets=({"x": (2, 3), "gamma": (3,), "beta": (3,)},
                {"x": (3, 2), "gamma": (2,), "beta": (2,)}),
    forward=layer_norm,
    stated={
        "x": LAYER_NORM_DX,
        "gamma": ones(1, N) * HadamardProduct(G, XHAT_ROWS),
        "beta": BETA_GRADIENT,
    },
    build=lambda values: _build(LayerNorm, values),
    sample=uniform_sample(ranges={"gamma": (0.5, 2.0)}),
    hyper={"eps": EPS},
    notes="The variance is the biased one (divided by F). Forgetting that mu and "
          "sigma depend on x (keeping only G γ / σ) is the classic mistake.",
    mutants=(
        Mutant("layer_norm_without_mean_terms",
               'dx = G γ / σ: μ and σ treated as constants',
               'misses the two mean-over-the-row terms',
               LayerNormWithoutMeanTerms),
    ),
)


class BatchNormWithoutMeanTerms(BatchNorm1d):
    def _backward(self, g):
        super()._backward(g)
        return g * self.params["gamma"] * self._inv_std


BATCH_NORM = Derivation(
    name="batch_norm",
    title="Batch normalisation (training mode)",
    netlib_class=BatchNorm1d,
    definition_latex=r"y_{nj} = \gamma_j \hat x_{nj} + \beta_j,\quad"
                     r"\hat x_{nj} = \frac{x_{nj} - \mu_j}{\sigma_j},\quad"
                     r"\mu_j = \tfrac1N \sum_n x_{nj},\ "
                     r"\sigma_j = \sqrt{\tfrac1N \textstyle\sum_n (x_{nj} - \mu_j)^2 + \epsilon}",
    inputs=("x", "gamma", "beta"),
    shape_sets=({"x": (3, 2), "gamma": (2,), "beta": (2,)},
                {"x": (2, 3), "gamma": (3,), "beta": (3,)}),
    forward=batch_norm,
    stated={
        # The layer-norm formula with the groups as columns.
        "x": BATCH_NORM_DX,
        "gamma": ones(1, N) * HadamardProduct(G, XHAT_COLUMNS),
        "beta": BETA_GRADIENT,
    },
    build=lambda values: _build(BatchNorm1d, values),
    sample=uniform_sample(ranges={"gamma": (0.5, 2.0)}),
    hyper={"eps": EPS, "mode": "training"},
    notes="Training mode: the statistics of the batch, so every output depends on "
          "the whole batch. Inference mode uses the running statistics, a fixed "
          "affine map (tests/test_new_layers.py). Dropping the two mean terms is "
          "the classic mistake (a mutant in the catalogue).",
    mutants=(
        Mutant("batch_norm_without_mean_terms",
               'dx = G γ / σ: the batch mean and variance treated as '
               'constants',
               'misses the two mean-over-the-batch terms',
               BatchNormWithoutMeanTerms),
    ),
)


# -- RMS norm: rows scaled by their root mean square, no mean subtracted ----------------
def _rms_rows(X):
    r"""Per row, :math:`\hat x = x / r` and :math:`r = \sqrt{\tfrac1F \sum_j x_j^2 + \epsilon}`."""
    rms = [sympy.sqrt(sum(v ** 2 for v in X.row(n)) / X.cols + EPS) for n in range(X.rows)]
    return sympy.Matrix(X.rows, X.cols, lambda n, j: X[n, j] / rms[n]), rms


def rms_norm(symbols):
    r""":math:`y_{nj} = \gamma_j x_{nj} / r_n`."""
    xhat, _ = _rms_rows(symbols["x"])
    gamma = symbols["gamma"]
    return sympy.Matrix(xhat.rows, xhat.cols, lambda n, j: gamma[j] * xhat[n, j])


class RowRMSNormalised(Operator):
    r""":math:`\hat X`: each row over its root mean square."""

    def explicit(self, X):
        return _rms_rows(X)[0]

    def _latex(self, printer):
        return rf"\hat{{{printer._print(self.args[0])}}}"


class RowRMS(Operator):
    r""":math:`r`: a column of the rows' root mean squares (with :math:`\epsilon`)."""

    @property
    def shape(self):
        return (self.args[0].rows, 1)

    def explicit(self, X):
        rms = _rms_rows(X)[1]
        return sympy.Matrix(len(rms), 1, rms)

    def _latex(self, printer):
        return "r"


# ∂x̂_i/∂x_j = (δ_ij - x̂_i x̂_j / F) / r: layer norm's Jacobian without the mean
# term, so dX = (F D - x̂ ⊙ (D ⊙ x̂) 1 1ᵀ) / (F r 1ᵀ) with D 1 ... as above.
XHAT_RMS, RMS = RowRMSNormalised(X), RowRMS(X)
RMS_NORM_DX = HadamardProduct(
    _difference(F * HadamardProduct(G, ones(N, 1) * GAMMA.T),
                HadamardProduct(XHAT_RMS, HadamardProduct(G, XHAT_RMS) * GAMMA * ones(1, F))),
    HadamardPower(F * RMS * ones(1, F), -1))


class RMSNormWithLayerNormMeanTerm(RMSNorm):
    def _backward(self, g):
        dx = super()._backward(g)
        d = g * self.params["gamma"]
        return dx - self._inv_rms * d.mean(axis=-1, keepdims=True)    # layer norm's extra term


def _build_rms(values):
    layer = RMSNorm(values["gamma"].shape[0], eps=float(EPS))
    layer.params["gamma"][...] = values["gamma"]
    return layer


RMS_NORM = Derivation(
    name="rms_norm",
    title="RMS normalisation",
    netlib_class=RMSNorm,
    definition_latex=r"y_{nj} = \gamma_j \hat x_{nj},\quad \hat x_{nj} = \frac{x_{nj}}{r_n},\quad"
                     r" r_n = \sqrt{\tfrac1F \textstyle\sum_j x_{nj}^2 + \epsilon}",
    inputs=("x", "gamma"),
    shape_sets=({"x": (2, 3), "gamma": (3,)}, {"x": (3, 2), "gamma": (2,)}),
    forward=rms_norm,
    stated={
        "x": RMS_NORM_DX,
        "gamma": ones(1, N) * HadamardProduct(G, XHAT_RMS),
    },
    build=_build_rms,
    sample=uniform_sample(ranges={"gamma": (0.5, 2.0)}),
    hyper={"eps": EPS},
    notes="Layer norm without the mean: no mean is subtracted and there is no "
          "shift, so the VJP has one correction term, not two. Used by current "
          "language models in place of layer norm.",
    mutants=(
        Mutant("rms_norm_layer_norm_mean_term",
               "layer norm's VJP pasted in: the mean of D subtracted too",
               "dx shifted by mean(G ⊙ γ) / r in every row",
               RMSNormWithLayerNormMeanTerm),
    ),
)
