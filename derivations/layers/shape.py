r"""Flatten, restated: the same entries in the same row-major order, fewer axes.

The symbols of an argument of rank > 2 are the matrix with its leading axes
stacked as rows (see :func:`derivations.core.matrix_shape`), so the forward
map needs the full shape to know where the batch axis ends; each shape set is
looked up from its matrix shape. The Jacobian is the identity of size
``x.size`` and the VJP is ``G`` reshaped back to ``x``'s shape.
"""

from __future__ import annotations

from derivations.core import Derivation, Mutant, matrix_shape, uniform_sample
from derivations.notation import Operator, matrix, size
from netlib import Flatten

SHAPES = ({"x": (2, 3, 4)}, {"x": (4, 1, 3, 2)})

#: Full input shape of each shape set, keyed by the matrix shape of its symbols.
_FULL_SHAPE = {matrix_shape(sh["x"]): sh["x"] for sh in SHAPES}


def flatten(symbols):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)`` in row-major order."""
    X = symbols["x"]
    batch = _FULL_SHAPE[X.shape][0]
    return X.reshape(batch, len(X) // batch)


class ReshapeLike(Operator):
    r""":math:`\operatorname{reshape}(G, \operatorname{shape}(X))`.

    ``G``'s entries, row-major, in ``X``'s shape.
    """

    @property
    def shape(self):
        return self.args[1].shape

    def explicit(self, G, X):
        return G.reshape(*X.shape)

    def _latex(self, printer):
        return (rf"\operatorname{{reshape}}\big({printer._print(self.args[0])},\ "
                rf"\operatorname{{shape}}({printer._print(self.args[1])})\big)")


# x as its matrix of symbols (leading axes stacked as rows), and G of (N, K).
X_ANY, G_FLAT = matrix("x", size("R"), size("C")), matrix("G", size("N"), size("K"))


class FlattenUnflattenedColumnMajor(Flatten):
    def _backward(self, g):
        return g.reshape(self._x_shape, order="F")


FLATTEN = Derivation(
    name="flatten",
    title="Flatten",
    netlib_class=Flatten,
    definition_latex=r"y_{n,\,(c H + h) W + w} = x_{n,c,h,w}\quad"
                     r"\text{(all axes after the batch, row-major)}",
    inputs=("x",),
    shape_sets=SHAPES,
    forward=flatten,
    # The Jacobian is the identity: Gᵀ goes back unchanged, in x's shape.
    stated={"x": ReshapeLike(G_FLAT, X_ANY)},
    build=lambda values: Flatten(),
    sample=uniform_sample(),
    notes="netlib returns a copy, not a view of x, so later changes to x do not "
          "show through y.",
    mutants=(
        Mutant("flatten_back_column_major",
               "g reshaped back in column-major (Fortran) order",
               "gradients land on the wrong entries",
               FlattenUnflattenedColumnMajor, slips_square_ones=True),
    ),
)

