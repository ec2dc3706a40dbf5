r"""The residual connection, restated around a layer norm: :math:`Y = X + \operatorname{LN}(X)`.

The Jacobian of :math:`x \mapsto x + f(x)` is :math:`I + J_f`, so the input
gradient is the upstream gradient (the skip path) plus the inner layer's,
:math:`G + J_f^\top G`; the parameter gradients are the inner layer's alone.
The inner map must keep the shape; a layer norm does, with parameters
(:math:`\gamma, \beta`) that are not square matrices, and the pair is a
transformer's sub-layer pattern. The inner VJPs are the layer-norm entry's
(:mod:`derivations.layers.normalization`), each proved there on its own.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation, Mutant, uniform_sample
from derivations.layers.normalization import EPS, LAYER_NORM, G, layer_norm
from netlib import LayerNorm, Residual


def residual_layer_norm(symbols):
    return symbols["x"] + layer_norm(symbols)


def _build(values):
    inner = LayerNorm(values["gamma"].shape[0], eps=float(EPS))
    inner.params["gamma"][...] = values["gamma"]
    inner.params["beta"][...] = values["beta"]
    return Residual(inner)


class ResidualSkipPathDropped(Residual):
    def _backward(self, g):
        return self.inner.backward(g)                       # only the inner path


RESIDUAL = Derivation(
    name="residual",
    title="Residual around a layer norm",
    netlib_class=Residual,
    definition_latex=r"Y = X + f(X),\quad f = \operatorname{LayerNorm}_{\gamma,\beta}",
    inputs=("x", "gamma", "beta"),
    shape_sets=LAYER_NORM.shape_sets,
    forward=residual_layer_norm,
    stated={
        # Skip path + inner path (the layer norm's own expression, over the
        # same symbols X, G, γ); the parameters are reached through f only.
        "x": sympy.MatAdd(G, LAYER_NORM.stated["x"]),
        "gamma": LAYER_NORM.stated["gamma"],
        "beta": LAYER_NORM.stated["beta"],
    },
    build=_build,
    sample=uniform_sample(ranges={"gamma": (0.5, 2.0)}),
    hyper={"eps": EPS},
    notes="The combinator shares the inner layer's params and grads dicts, so "
          "optimizers and checks see gamma and beta under their own names. In a "
          "transformer block the inner layer is a MultiHeadAttention or an MLP.",
    mutants=(
        Mutant("residual_skip_path_dropped",
               "dx = f.backward(g): the skip path's g forgotten",
               "dx misses G",
               ResidualSkipPathDropped),
    ),
)

