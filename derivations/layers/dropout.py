r"""Inverted dropout, restated with its mask as a constant.

Once the mask is drawn, dropout is :math:`y = x \odot M`: linear, diagonal
Jacobian, VJP :math:`G \odot M`. The mask :math:`M` is a *constant* of the
entry (a matrix of symbols in the exact check, so the stated VJP is proved
for every mask), and its numeric value follows the layer's documented
sampling rule - keep where ``rng.random(x.shape) >= p``, scale by
:math:`1/(1-p)` - with the same seeded generator the built layer gets, so
that netlib's forward draws the very mask the derivation was evaluated with.
"""

from __future__ import annotations

import numpy as np

from derivations.core import Derivation
from netlib import Dropout

#: Drop probability and generator seed used by the entry.
P = 0.4
SEED = 7

SHAPES = ({"x": (2, 3), "mask": (2, 3)}, {"x": (3, 4), "mask": (3, 4)})


def sample(rng, shapes):
    """``x`` uniform in [-2, 2]; ``mask`` by the layer's documented rule with seed ``SEED``."""
    keep = np.random.default_rng(SEED).random(shapes["mask"]) >= P
    return {"x": rng.uniform(-2.0, 2.0, size=shapes["x"]),
            "mask": keep / (1 - P)}


def run(layer, values, g):
    """forward then backward on a freshly built layer (a fresh generator with ``SEED``).

    Declared so that every check rebuilds the layer for each evaluation: a
    finite-difference check that reused one layer would draw a new mask at
    every forward call and compare different functions.
    """
    layer.forward(values["x"])
    return {"x": layer.backward(g)}


DROPOUT = Derivation(
    name="dropout",
    title="Dropout (inverted, training mode)",
    netlib_class=Dropout,
    definition_latex=r"y = x \odot M,\quad M_i = \frac{[u_i \ge p]}{1 - p},\ "
                     r"u_i \sim U[0, 1)\ \text{drawn once per forward}",
    inputs=("x",),
    constants=("mask",),
    shape_sets=SHAPES,
    forward=lambda s: s["x"].multiply_elementwise(s["mask"]),
    # The same mask as the forward pass: a fresh one would be another function.
    stated={"x": lambda G, s: G.multiply_elementwise(s["mask"])},
    stated_latex={"x": r"G \odot M"},
    build=lambda values: Dropout(P, rng=SEED),
    run=run,
    sample=sample,
    hyper={"p": P, "seed": SEED},
    notes="Inference mode (layer.train(False)) is the identity and consumes no "
          "randomness; tests/test_new_layers.py checks that and the mask reuse.",
)
