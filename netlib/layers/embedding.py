r"""Embedding: a lookup table of learnable vectors indexed by integers.

With a table :math:`W` of shape ``(num_embeddings, dim)`` and integer indices
:math:`t`, the output is :math:`y_k = W_{t_k}` (one row per index). As a map
of :math:`W` this is linear, :math:`y = S W` with the selection matrix
:math:`S_{k,r} = [t_k = r]`, so the VJP is

.. math:: \frac{\partial L}{\partial W} = S^\top G, \qquad
          \frac{\partial L}{\partial W_r} = \sum_{k:\ t_k = r} g_k :

a row used several times receives the **sum** of the gradients of all its
uses. Writing ``dW[t] = g`` instead keeps only one of them (numpy's fancy
assignment does not accumulate) - the classic bug; ``np.add.at`` does.

Indices are not differentiable, so ``backward`` returns ``None`` instead of an
input gradient (the one layer where it does; a model can only start with it).
"""

from __future__ import annotations

import numpy as np

from netlib._validation import as_float_array, check_ndim, float_dtype, positive_ints
from netlib.layers.base import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    r"""Lookup table: ``y = W[indices]``, one ``dim``-vector per index.

    ``forward(indices)`` takes an integer array of any shape and returns an
    array of shape ``indices.shape + (dim,)``; ``backward(g)`` fills
    ``grads["W"]`` with :math:`\sum_{k: t_k = r} g_k` per row ``r`` (rows not
    looked up get 0) and returns ``None``: there is no gradient with respect
    to integer indices.

    Parameters
    ----------
    num_embeddings, dim : int
        Number of rows of the table and length of each vector.
    std : float
        Initial entries are :math:`\mathcal N(0, \text{std}^2)`.
    rng : numpy.random.Generator, optional
        Randomness for the table.
    dtype : float32 or float64
        Dtype of the table.

    Examples
    --------
    >>> import numpy as np
    >>> emb = Embedding(4, 2, rng=np.random.default_rng(0))
    >>> y = emb.forward(np.array([[1, 3, 1]]))        # row 1 is used twice
    >>> y.shape
    (1, 3, 2)
    >>> emb.backward(np.ones((1, 3, 2))) is None
    True
    >>> emb.grads["W"]
    array([[0., 0.],
           [2., 2.],
           [0., 0.],
           [1., 1.]])
    """

    name = "embedding"

    def __init__(self, num_embeddings: int, dim: int, *, std: float = 1.0,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        self.num_embeddings, self.dim = positive_ints(
            "Embedding", num_embeddings=num_embeddings, dim=dim)
        dtype = float_dtype("Embedding", dtype)
        rng = np.random.default_rng() if rng is None else rng
        self.params["W"] = (std * rng.standard_normal((self.num_embeddings, self.dim))
                            ).astype(dtype)
        self.grads = {"W": np.zeros_like(self.params["W"])}

    @classmethod
    def from_params(cls, W) -> Embedding:
        """Build a layer around a given table ``W`` ``(num_embeddings, dim)`` (copied)."""
        W = as_float_array("Embedding.from_params", "W", W)
        check_ndim("Embedding.from_params", "W", W, 2, "(num_embeddings, dim)")
        layer = cls(W.shape[0], W.shape[1], std=0.0, dtype=W.dtype)
        return layer.set_params("Embedding.from_params", W=W)

    def describe(self):
        return f"Embedding({self.num_embeddings}, {self.dim})"

    def forward(self, indices, *, check_finite_input: bool = True) -> np.ndarray:
        """Look up ``W[indices]`` (integer indices in ``[0, num_embeddings)``).

        ``check_finite_input`` is accepted for uniformity with :meth:`Layer.forward`;
        integer indices cannot be NaN, so there is nothing to scan.
        """
        who = self.describe()
        indices = np.asarray(indices)
        # The base class converts x to floats; indices must stay integers.
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"{who}: expected integer indices, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            bad = indices[(indices < 0) | (indices >= self.num_embeddings)]
            raise ValueError(f"{who}: expected indices in [0, {self.num_embeddings}), got "
                             f"{bad.size} out of range (e.g. {int(bad.flat[0])})")
        self._indices = indices
        y = self.params["W"][indices]
        self._y_shape = y.shape
        self._x_dtype = y.dtype
        return y

    __call__ = forward

    def _backward(self, g: np.ndarray) -> None:
        """Fill ``grads["W"]`` with the per-row sums of ``g``; return ``None``.

        (``Layer.backward`` has checked ``g``: forward sets ``_y_shape`` and the
        float ``_x_dtype`` that those checks use.)
        """
        dW = self.grads["W"]
        dW[...] = 0
        # add.at accumulates over repeated indices; dW[indices] += g would not.
        np.add.at(dW, self._indices.ravel(), g.reshape(-1, self.dim))
        return None
