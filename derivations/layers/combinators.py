r"""The residual connection, restated around a dense layer: :math:`Y = X + (XW + \mathbf 1 b^\top)`.

The Jacobian of :math:`x \mapsto x + f(x)` is :math:`I + J_f`, so the input
gradient is the upstream gradient (the skip path) plus the inner layer's:
:math:`G + G W^\top`; the parameter gradients are the inner layer's alone.
The inner map must keep the shape, so here :math:`W` is square (``d × d``);
the batch axis keeps :math:`X` non-square.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation, ones_row
from netlib import Dense, Residual


def residual_dense(symbols):
    X, W, b = symbols["x"], symbols["W"], symbols["b"]
    return X + X * W + sympy.ones(X.rows, 1) * b


RESIDUAL = Derivation(
    name="residual",
    title="Residual around a dense layer",
    netlib_class=Residual,
    definition_latex=r"Y = X + f(X),\quad f(X) = X W + \mathbf{1} b^\top",
    inputs=("x", "W", "b"),
    shape_sets=({"x": (3, 2), "W": (2, 2), "b": (2,)},
                {"x": (2, 3), "W": (3, 3), "b": (3,)}),
    forward=residual_dense,
    stated={
        # Skip path + inner path.
        "x": lambda G, s: G + G * s["W"].T,
        "W": lambda G, s: s["x"].T * G,
        "b": lambda G, s: ones_row(G.rows) * G,
    },
    stated_latex={"x": r"G + G W^\top", "W": r"X^\top G", "b": r"G^\top \mathbf{1}"},
    build=lambda values: Residual(Dense.from_params(values["W"], values["b"])),
    notes="The combinator shares the inner layer's params and grads dicts, so "
          "optimizers and checks see W and b under their own names. In a "
          "transformer block the inner layer is a MultiHeadAttention.",
)
