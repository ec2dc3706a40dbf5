"""The affine (dense, fully connected) layer in row and column layout."""

from __future__ import annotations

import numpy as np

from netlib._validation import (
    as_float_array,
    check_axis_size,
    check_ndim,
    float_dtype,
    positive_ints,
)
from netlib.layers.base import Layer

__all__ = ["Dense"]

LAYOUTS = ("rows", "columns")


def check_layout(who: str, layout: str) -> str:
    """Refuse any layout other than ``"rows"`` or ``"columns"``."""
    if layout not in LAYOUTS:
        raise ValueError(f"{who}: expected layout 'rows' or 'columns', got {layout!r}")
    return layout


def init_weight(in_features: int, out_features: int, init: str, rng: np.random.Generator,
                std: float, dtype, who: str = "Dense") -> np.ndarray:
    r"""Draw a row-layout weight matrix of shape ``(in_features, out_features)``.

    ``"he"``
        :math:`W_{ij} \sim \mathcal N(0, 2/n_\text{in})`, for ReLU networks
        (keeps the variance of activations constant through ReLUs).
    ``"xavier"``
        :math:`W_{ij} \sim \mathcal N(0, 2/(n_\text{in} + n_\text{out}))`, for
        tanh/sigmoid networks.
    ``"normal"``
        :math:`W_{ij} \sim \mathcal N(0, \sigma^2)` with ``std`` :math:`=\sigma`.
    """
    if init == "he":
        scale = np.sqrt(2.0 / in_features)
    elif init == "xavier":
        scale = np.sqrt(2.0 / (in_features + out_features))
    elif init == "normal":
        scale = std
    else:
        raise ValueError(f"{who}: expected init 'he', 'xavier' or 'normal', got {init!r}")
    return (scale * rng.standard_normal((in_features, out_features))).astype(dtype)


class Dense(Layer):
    r"""Affine layer, in row layout (default) or column layout.

    Row layout (``layout="rows"``), a batch is ``x`` of shape ``(batch, in)``:

    .. math:: Y = X W + \mathbf 1 b^\top, \qquad W \in \mathbb R^{n_\text{in}\times n_\text{out}}

    with VJPs, for an upstream gradient :math:`G = \partial L/\partial Y`:

    .. math::
        \frac{\partial L}{\partial X} = G W^\top, \qquad
        \frac{\partial L}{\partial W} = X^\top G, \qquad
        \frac{\partial L}{\partial b} = G^\top \mathbf 1 \ \text{(sum over the batch)}.

    Column layout (``layout="columns"``), a batch is ``x`` of shape
    ``(in, batch)`` and ``W`` is stored ``(out, in)``:

    .. math:: Y = W X + b \mathbf 1^\top

    with VJPs :math:`W^\top G`, :math:`G X^\top` and the sum of :math:`G` over
    its columns. This is the transpose of the row-layout map, so its gradients
    are the transposes of the row-layout ones.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and the output.
    bias : bool
        Whether the layer has a bias ``b`` (seed D's networks have none).
    init : {"he", "xavier", "normal"}
        Weight initialiser, see :func:`init_weight`. Biases start at zero.
    std : float
        Standard deviation for ``init="normal"``.
    rng : numpy.random.Generator, optional
        Source of randomness; pass one for reproducible weights.
    dtype : float32 or float64
        Dtype of the parameters, which is the dtype of the whole computation:
        inputs of the other float precision are converted to it.
    layout : {"rows", "columns"}
        Where the batch lives, see above.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(3, 2, rng=np.random.default_rng(0))
    >>> y = layer.forward(np.ones((4, 3)))
    >>> y.shape
    (4, 2)
    >>> dx = layer.backward(np.ones((4, 2)))
    >>> dx.shape, layer.grads["W"].shape, layer.grads["b"].shape
    ((4, 3), (3, 2), (2,))
    """

    name = "dense"

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 init: str = "he", std: float = 0.01, rng: np.random.Generator | None = None,
                 dtype=np.float64, layout: str = "rows") -> None:
        super().__init__()
        self.layout = check_layout("Dense", layout)
        dtype = float_dtype("Dense", dtype)
        self.in_features, self.out_features = positive_ints(
            "Dense", in_features=in_features, out_features=out_features)
        rng = np.random.default_rng() if rng is None else rng
        W = init_weight(self.in_features, self.out_features, init, rng, std, dtype)
        # Column layout stores W as (out, in), the way W @ X wants it.
        self.params["W"] = np.ascontiguousarray(W.T) if layout == "columns" else W
        if bias:
            self.params["b"] = np.zeros(self.out_features, dtype=dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    @classmethod
    def from_params(cls, W, b=None, *, layout: str = "rows") -> Dense:
        """Build a layer around given parameter values (copied).

        ``W`` is ``(in, out)`` in row layout and ``(out, in)`` in column layout.
        """
        W = as_float_array("Dense.from_params", "W", W)
        check_ndim("Dense.from_params", "W", W, 2, "(a matrix)")
        in_features, out_features = W.shape if layout == "rows" else W.shape[::-1]
        layer = cls(in_features, out_features, bias=b is not None, dtype=W.dtype,
                    layout=layout, init="normal", std=0.0)
        values = {"W": W} if b is None else {"W": W, "b": b}
        return layer.set_params("Dense.from_params", **values)

    def describe(self) -> str:
        extra = "" if "b" in self.params else ", bias=False"
        extra += "" if self.layout == "rows" else ", layout='columns'"
        return f"Dense({self.in_features}, {self.out_features}{extra})"

    def _expected_x(self) -> str:
        if self.layout == "rows":
            return f"(batch, {self.in_features})"
        return f"({self.in_features}, batch)"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        feature_axis = 1 if self.layout == "rows" else 0
        if x.ndim != 2 or x.shape[feature_axis] != self.in_features:
            who = self.describe()       # only built when there is an error to report
            check_ndim(who, "x", x, 2, self._expected_x())
            check_axis_size(who, "x", x, feature_axis, self.in_features, self._expected_x())
        self._x = x
        W = self.params["W"]
        if self.layout == "rows":
            y = x @ W
            if "b" in self.params:
                y += self.params["b"]            # broadcast over the batch rows
        else:
            y = W @ x
            if "b" in self.params:
                y += self.params["b"][:, None]   # one bias per row = per output unit
        return y

    def _backward(self, g: np.ndarray) -> np.ndarray:
        x, W, grads = self._x, self.params["W"], self.grads
        if self.layout == "rows":
            # y[n, j] = sum_i x[n, i] W[i, j]: the batch index n is summed out
            # for dW (so x.T on the left) and the output index j for dx (W.T
            # on the right). Shapes agree only in this order.
            np.matmul(x.T, g, out=grads["W"])
            if "b" in grads:
                np.add.reduce(g, axis=0, out=grads["b"])    # b is reused by every row
            # Speed: for the first layer dL/dx is the gradient of the data,
            # which no one uses; skipping it saves a product as large as the
            # forward one (see Layer.input_gradient).
            return g @ W.T if self.input_gradient else None
        # Column layout: y[j, n] = sum_i W[j, i] x[i, n]; the same sums with
        # every matrix transposed, hence the reversed products.
        np.matmul(g, x.T, out=grads["W"])
        if "b" in grads:
            np.add.reduce(g, axis=1, out=grads["b"])    # b is reused by every column
        return W.T @ g if self.input_gradient else None
