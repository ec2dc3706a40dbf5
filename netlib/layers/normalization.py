r"""Normalisation layers: layer norm (over features) and batch norm (over the batch).

Both standardise, :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`, then
scale and shift, :math:`y = \gamma \odot \hat x + \beta`. They differ only in
the axis the mean and variance run over, and that axis is where the
gradient's extra terms come from: every :math:`\hat x_i` of a group depends on
every :math:`x_j` of the group through :math:`\mu` and :math:`\sigma`, so the
Jacobian of one group (``m`` entries) is the full matrix

.. math:: \frac{\partial \hat x_i}{\partial x_j}
          = \frac{1}{\sigma}\Big(\delta_{ij} - \frac1m - \frac{\hat x_i \hat x_j}{m}\Big),

and its VJP, with :math:`d = \gamma \odot g` (:math:`\sigma` here includes
:math:`\epsilon`),

.. math:: \frac{\partial L}{\partial x} = \frac{1}{\sigma}\Big(d - \overline{d}
          - \hat x \odot \overline{d \odot \hat x}\Big)

where the bars are means over the group. Dropping the two mean terms (treating
:math:`\mu` and :math:`\sigma` as constants) is the classic mistake.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import check_axis_size, check_ndim, float_dtype, positive_ints
from netlib.layers.base import Layer

__all__ = ["LayerNorm", "BatchNorm1d", "RMSNorm"]


def checked_eps(who: str, eps) -> float:
    """``eps`` as a float, refused unless finite and >= 0."""
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"{who}: expected a finite eps >= 0, got {eps!r}")
    return float(eps)


def check_features(who: str, x: np.ndarray, features: int) -> None:
    """``x`` of shape ``(..., features)``: normalised over its last axis."""
    if x.ndim < 1:
        raise ValueError(f"{who}: expected x of shape (..., {features}), got a scalar")
    check_axis_size(who, "x", x, -1, features, f"(..., {features})")


def _standardised_vjp(d: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray,
                      axis) -> np.ndarray:
    r"""VJP of :math:`x \mapsto \hat x` over groups along ``axis``.

    ``d`` is :math:`\partial L/\partial \hat x`.

    Implements :math:`\frac1\sigma(d - \overline d - \hat x\, \overline{d \hat x})`.
    """
    mean_d = d.mean(axis=axis, keepdims=True)
    mean_dx = (d * xhat).mean(axis=axis, keepdims=True)
    return inv_std * (d - mean_d - xhat * mean_dx)


class LayerNorm(Layer):
    r"""Layer normalisation over the last axis (the features of each sample).

    For each sample (each row of ``x`` of shape ``(..., features)``):

    .. math:: \mu = \frac1m \sum_j x_j, \quad \sigma^2 = \frac1m\sum_j (x_j-\mu)^2, \quad
              y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

    (the biased variance, divided by :math:`m`). VJPs, summing the parameter
    gradients over every leading axis:

    .. math::
        \frac{\partial L}{\partial \gamma} = \sum_\text{rows} g \odot \hat x, \qquad
        \frac{\partial L}{\partial \beta} = \sum_\text{rows} g,

        \frac{\partial L}{\partial x} = \frac{1}{\sigma}\big(d - \overline d
        - \hat x \odot \overline{d \odot \hat x}\big),\ d = \gamma \odot g

    with means over the features of the row. The layer behaves the same in
    training and inference.

    Parameters
    ----------
    num_features : int
        Size ``m`` of the last axis.
    eps : float
        Added to the variance before the square root (keeps a constant row finite).
    dtype : float32 or float64
        Dtype of ``gamma`` (ones) and ``beta`` (zeros), hence of the computation.

    Examples
    --------
    >>> import numpy as np
    >>> layer = LayerNorm(3)
    >>> y = layer.forward(np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]]))
    >>> np.allclose(y.mean(axis=1), 0), y.shape
    (True, (2, 3))
    """

    name = "layer_norm"

    def __init__(self, num_features: int, *, eps: float = 1e-5, dtype=np.float64) -> None:
        super().__init__()
        (self.num_features,) = positive_ints("LayerNorm", num_features=num_features)
        dtype = float_dtype("LayerNorm", dtype)
        self.eps = checked_eps("LayerNorm", eps)
        self.params["gamma"] = np.ones(self.num_features, dtype=dtype)
        self.params["beta"] = np.zeros(self.num_features, dtype=dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def describe(self):
        return f"LayerNorm({self.num_features})"

    def _forward(self, x):
        check_features(self.describe(), x, self.num_features)
        mu = x.mean(axis=-1, keepdims=True)
        centred = x - mu
        var = (centred * centred).mean(axis=-1, keepdims=True)
        self._inv_std = 1 / np.sqrt(var + x.dtype.type(self.eps))
        self._xhat = centred * self._inv_std
        return self.params["gamma"] * self._xhat + self.params["beta"]

    def _backward(self, g):
        xhat = self._xhat
        rows = tuple(range(g.ndim - 1))     # gamma, beta are shared by every row
        np.sum(g * xhat, axis=rows, out=self.grads["gamma"])
        np.sum(g, axis=rows, out=self.grads["beta"])
        return _standardised_vjp(g * self.params["gamma"], xhat, self._inv_std, axis=-1)


class BatchNorm1d(Layer):
    r"""Batch normalisation of ``x`` of shape ``(batch, features)``, per feature.

    **Training mode** (``layer.training`` true, the default) standardises each
    feature with the statistics of the current batch:

    .. math:: \mu_j = \frac1N \sum_n x_{nj}, \quad
              \sigma_j^2 = \frac1N\sum_n (x_{nj} - \mu_j)^2, \quad
              y_{nj} = \gamma_j \frac{x_{nj} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}} + \beta_j

    so each output depends on the whole batch, and the VJP carries the two
    mean-over-the-batch terms (see the module docstring), with
    :math:`\partial L/\partial\gamma = \sum_n g \odot \hat x` and
    :math:`\partial L/\partial\beta = \sum_n g`. It needs ``batch >= 2``
    (one sample has zero variance and :math:`\hat x = 0`).

    It also updates the running statistics used at inference,

    .. math:: \mu^\text{run} \leftarrow (1 - m)\,\mu^\text{run} + m\,\mu, \qquad
              v^\text{run} \leftarrow (1 - m)\, v^\text{run} + m\,\tfrac{N}{N-1}\sigma^2

    with ``momentum`` :math:`m` and the *unbiased* batch variance (as PyTorch
    does). They start at 0 and 1 and are buffers, not parameters: no gradient,
    not touched by optimizers (:attr:`running_mean`, :attr:`running_var`).

    **Inference mode** (``layer.train(False)``) is the fixed affine map
    :math:`y = \gamma (x - \mu^\text{run})/\sqrt{v^\text{run} + \epsilon} + \beta`,
    whose VJP is :math:`g \gamma / \sqrt{v^\text{run} + \epsilon}`; the running
    statistics do not change.

    Parameters
    ----------
    num_features : int
        Number of features (columns of ``x``).
    eps : float
        Added to the variance before the square root.
    momentum : float
        Weight of the current batch in the running statistics, in (0, 1].
    dtype : float32 or float64
        Dtype of ``gamma`` (ones), ``beta`` (zeros) and the running statistics.
    """

    name = "batch_norm"

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1,
                 dtype=np.float64) -> None:
        super().__init__()
        (self.num_features,) = positive_ints("BatchNorm1d", num_features=num_features)
        dtype = float_dtype("BatchNorm1d", dtype)
        if not 0 < momentum <= 1:
            raise ValueError(f"BatchNorm1d: expected momentum in (0, 1], got {momentum!r}")
        self.eps, self.momentum = checked_eps("BatchNorm1d", eps), float(momentum)
        self.params["gamma"] = np.ones(self.num_features, dtype=dtype)
        self.params["beta"] = np.zeros(self.num_features, dtype=dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)

    def describe(self):
        return f"BatchNorm1d({self.num_features})"

    def _forward(self, x):
        who = self.describe()
        shape = f"(batch, {self.num_features})"
        check_ndim(who, "x", x, 2, shape)
        check_axis_size(who, "x", x, 1, self.num_features, shape)
        eps = x.dtype.type(self.eps)
        self._used_batch_stats = self.training
        if not self.training:
            self._inv_std = 1 / np.sqrt(self.running_var + eps)
            self._xhat = (x - self.running_mean) * self._inv_std
            return self.params["gamma"] * self._xhat + self.params["beta"]
        n = x.shape[0]
        if n < 2:
            raise ValueError(f"{who}: expected a batch of at least 2 samples in training "
                             f"mode (batch statistics), got x of shape {x.shape}; call "
                             f".train(False) to use the running statistics")
        mu = x.mean(axis=0)
        centred = x - mu
        var = (centred * centred).mean(axis=0)
        m = x.dtype.type(self.momentum)
        self.running_mean *= 1 - m
        self.running_mean += m * mu
        self.running_var *= 1 - m
        self.running_var += m * var * (n / (n - 1))
        self._inv_std = 1 / np.sqrt(var + eps)
        self._xhat = centred * self._inv_std
        return self.params["gamma"] * self._xhat + self.params["beta"]

    def _backward(self, g):
        xhat = self._xhat
        np.sum(g * xhat, axis=0, out=self.grads["gamma"])
        np.sum(g, axis=0, out=self.grads["beta"])
        d = g * self.params["gamma"]
        if not self._used_batch_stats:
            return d * self._inv_std           # statistics were constants
        return _standardised_vjp(d, xhat, self._inv_std, axis=0)


class RMSNorm(Layer):
    r"""Root-mean-square normalisation over the last axis, as in current language models.

    For each sample (each row of ``x`` of shape ``(..., features)``), with
    :math:`m` features:

    .. math:: r = \sqrt{\frac1m \sum_j x_j^2 + \epsilon}, \qquad
              \hat x = \frac{x}{r}, \qquad y = \gamma \odot \hat x

    No mean is subtracted and there is no shift :math:`\beta`. Since
    :math:`\partial r / \partial x_j = x_j / (m r)`,

    .. math:: \frac{\partial \hat x_i}{\partial x_j}
              = \frac{1}{r}\Big(\delta_{ij} - \frac{\hat x_i \hat x_j}{m}\Big),

    so with :math:`d = \gamma \odot g`, means over the features of the row,
    and the parameter gradient summed over every leading axis:

    .. math::
        \frac{\partial L}{\partial x} = \frac{1}{r}\big(d - \hat x \odot
        \overline{d \odot \hat x}\big), \qquad
        \frac{\partial L}{\partial \gamma} = \sum_\text{rows} g \odot \hat x.

    It is layer norm's VJP without the :math:`\overline d` term (no mean was
    subtracted, so none comes back). The layer behaves the same in training
    and inference.

    Parameters
    ----------
    num_features : int
        Size ``m`` of the last axis.
    eps : float
        Added to the mean square before the square root (keeps a zero row finite).
    dtype : float32 or float64
        Dtype of ``gamma`` (ones), hence of the computation.

    Examples
    --------
    >>> import numpy as np
    >>> y = RMSNorm(2).forward(np.array([[3.0, 4.0]]))
    >>> np.round(y, 4)                   # r = sqrt((9 + 16) / 2 + 1e-6)
    array([[0.8485, 1.1314]])
    """

    name = "rms_norm"

    def __init__(self, num_features: int, *, eps: float = 1e-6, dtype=np.float64) -> None:
        super().__init__()
        (self.num_features,) = positive_ints("RMSNorm", num_features=num_features)
        dtype = float_dtype("RMSNorm", dtype)
        self.eps = checked_eps("RMSNorm", eps)
        self.params["gamma"] = np.ones(self.num_features, dtype=dtype)
        self.grads = {"gamma": np.zeros_like(self.params["gamma"])}

    def describe(self):
        return f"RMSNorm({self.num_features})"

    def _forward(self, x):
        check_features(self.describe(), x, self.num_features)
        mean_square = (x * x).mean(axis=-1, keepdims=True)
        self._inv_rms = 1 / np.sqrt(mean_square + x.dtype.type(self.eps))
        self._xhat = x * self._inv_rms
        return self.params["gamma"] * self._xhat

    def _backward(self, g):
        xhat = self._xhat
        rows = tuple(range(g.ndim - 1))     # gamma is shared by every row
        np.sum(g * xhat, axis=rows, out=self.grads["gamma"])
        d = g * self.params["gamma"]
        # (1/r)(d - x̂ mean(d ⊙ x̂)): no mean was subtracted,
        # so layer norm's mean(d) term does not come back.
        mean_dx = (d * xhat).mean(axis=-1, keepdims=True)
        return self._inv_rms * (d - xhat * mean_dx)
