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
import sympy

from derivations.core import G_ENTRYWISE, X_ENTRYWISE, Derivation, F, Mutant, N
from derivations.notation import matrix
from netlib import Dropout

#: Drop probability and generator seed used by the entry.
P = 0.4
SEED = 7

#: The mask M, drawn once per forward pass, in the input's shape.
MASK = matrix("mask", N, F)

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


class DropoutFreshMaskInBackward(Dropout):
    def _backward(self, g):
        keep = self.rng.random(g.shape) >= self.p           # a second draw: another mask
        return g * keep / (1 - self.p)


DROPOUT = Derivation(
    name="dropout",
    title="Dropout (inverted, training mode)",
    netlib_class=Dropout,
    definition_latex=r"M_i = \frac{[u_i \ge p]}{1 - p},\ "
                     r"u_i \sim U[0, 1)\ \text{drawn once per forward}",
    inputs=("x",),
    constants=("mask",),
    shape_sets=SHAPES,
    forward=sympy.HadamardProduct(X_ENTRYWISE, MASK),
    # The same mask as the forward pass: a fresh one would be another function.
    stated={"x": sympy.HadamardProduct(G_ENTRYWISE, MASK)},
    build=lambda values: Dropout(P, rng=SEED),
    run=run,
    sample=sample,
    hyper={"p": P, "seed": SEED},
    notes="Inference mode (layer.train(False)) is the identity and consumes no "
          "randomness; tests/test_new_layers.py checks that and the mask reuse.",
    mutants=(
        Mutant("dropout_fresh_mask_in_backward",
               "a new mask drawn in backward",
               "gradient flows through entries the forward pass dropped",
               DropoutFreshMaskInBackward),
    ),
)
