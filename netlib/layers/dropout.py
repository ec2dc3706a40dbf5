r"""Inverted dropout: zero a random subset of the inputs while training.

In training mode each entry is kept with probability :math:`1 - p` and scaled
by :math:`1/(1-p)`, so the expected output equals the input and nothing needs
rescaling at inference:

.. math:: y = x \odot M, \qquad M_i = \frac{[u_i \ge p]}{1 - p}, \quad u_i \sim U[0, 1)

Once drawn, :math:`M` is a constant of the forward map, which is then linear
with diagonal Jacobian :math:`\operatorname{diag}(M)`: the VJP is
:math:`g \odot M`, with the *same* mask. Drawing a fresh mask in ``backward``
is the bug this layer's tests look for.
"""

from __future__ import annotations

import numpy as np

from netlib.layers.base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    r"""Inverted dropout with a seeded generator; the identity at inference.

    Training mode (default): ``forward`` draws ``u = rng.random(x.shape)``,
    keeps the entries with :math:`u \ge p`, stores the scaled mask
    :math:`M = [u \ge p]/(1-p)` in :attr:`mask` and returns :math:`x \odot M`;
    ``backward(g)`` returns :math:`g \odot M` with that stored mask. Each
    ``forward`` call draws a new mask from the same generator, so a layer built
    with the same seed reproduces the same sequence of masks.

    Inference mode (``layer.train(False)``): ``y = x`` and the VJP is ``g``;
    no randomness is consumed and :attr:`mask` is ``None``.

    Parameters
    ----------
    p : float
        Probability of *dropping* an entry, in [0, 1).
    rng : numpy.random.Generator or int, optional
        The generator (or its seed) the masks are drawn from.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dropout(0.5, rng=0)
    >>> y = layer.forward(np.ones((2, 4)))
    >>> sorted(set(y.ravel().tolist()))      # dropped, or kept and doubled
    [0.0, 2.0]
    >>> bool(np.array_equal(layer.backward(np.ones((2, 4))), y))
    True
    """

    name = "dropout"

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not (isinstance(p, (int, float, np.floating)) and 0 <= p < 1):
            raise ValueError(f"Dropout: expected a drop probability p in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng(rng)
        self.mask: np.ndarray | None = None

    def describe(self):
        return f"Dropout(p={self.p})"

    def _forward(self, x):
        if not self.training:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.mask

    def _backward(self, g):
        if self.mask is None:         # forward ran in inference mode: identity
            return g
        return g * self.mask
