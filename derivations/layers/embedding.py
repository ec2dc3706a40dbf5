r"""Embedding, restated as a selection matrix times the table.

For indices :math:`t_1, \dots, t_K` into a table :math:`W` with :math:`R` rows,
:math:`Y = S W` with :math:`S_{k,r} = [t_k = r]` (a ``K×R`` 0/1 matrix: row
``k`` picks row :math:`t_k`). The map is linear in :math:`W`, so the VJP is
:math:`S^\top G`: row :math:`r` of the gradient is the **sum** of the rows of
:math:`G` whose index is :math:`r`. The indices repeat in both shape sets, so
a backward pass that overwrites instead of accumulating is caught.

The indices are a fixed constant of the entry (integers cannot be symbols you
index with); they are not differentiated, and the entry's only input is ``W``
(netlib's ``backward`` returns ``None`` for the indices).
"""

from __future__ import annotations

import numpy as np
import sympy

from derivations.core import Derivation, Mutant, matrix_shape
from derivations.notation import Operator, matrix, size
from netlib import Embedding

#: The fixed indices of each shape set, by shape; both use some rows twice or more.
INDICES = {
    (2, 3): [[1, 3, 1], [0, 1, 3]],     # W 4×2: row 1 used three times, row 3 twice, row 2 never
    (5,): [2, 2, 4, 0, 2],              # W 5×3: row 2 used three times, rows 1 and 3 never
}

SHAPES = ({"W": (4, 2), "indices": (2, 3)}, {"W": (5, 3), "indices": (5,)})


def _index_values(shapes):
    """The listed indices of a shape set; other shapes (e.g. the mutation
    catalogue's square shapes) get ``k mod (rows - 1)``, which repeats rows too."""
    key, rows = tuple(shapes["indices"]), shapes["W"][0]
    if key in INDICES:
        return np.array(INDICES[key])
    return np.arange(int(np.prod(key))).reshape(key) % max(rows - 1, 1)


def fixed_indices(shapes):
    """The indices of this shape set as a SymPy matrix (its matrix shape)."""
    flat = np.ravel(_index_values(shapes))
    return {"indices": sympy.Matrix(*matrix_shape(tuple(shapes["indices"])), list(flat))}


def _indices(symbols):
    return [int(i) for i in symbols["indices"]]


def selection(symbols):
    """:math:`S_{k,r} = [t_k = r]`, ``K×R``."""
    t, rows = _indices(symbols), symbols["W"].rows
    return sympy.Matrix(len(t), rows, lambda k, r: int(t[k] == r))


def embedding(symbols):
    """One row of ``W`` per index, in index order (``indices.shape + (dim,)`` as a matrix)."""
    W = symbols["W"]
    return sympy.Matrix.vstack(*(W.row(r) for r in _indices(symbols)))


class OneHot(Operator):
    r""":math:`S = \operatorname{onehot}(t)`, ``S[k, r] = [t_k = r]``: one row per index."""

    @property
    def shape(self):
        return (self.args[0].rows * self.args[0].cols, self.args[1].rows)

    def explicit(self, indices, W):
        return selection({"indices": indices, "W": W})

    def _latex(self, printer):
        return r"\operatorname{onehot}(t)"


# The page's notation: K indices t (any shape), a table W of R rows of size D.
K_ROWS, K_COLS, R, D = size("K_r"), size("K_c"), size("R"), size("D")
T_INDICES, W_TABLE = matrix("indices", K_ROWS, K_COLS), matrix("W", R, D)
G_ROWS = matrix("G", K_ROWS * K_COLS, D)


class EmbeddingForChecks(Embedding):
    """Embedding whose ``forward`` accepts the float64 copy of the indices the checks hold.

    The check machinery stores every value as float64; this adapter (used
    only by the registry entry) converts the exactly integral indices back to
    integers before netlib's own ``forward``, which refuses floats.
    """

    def forward(self, indices):
        as_float = np.asarray(indices)
        as_int = as_float.astype(np.int64)
        if not np.array_equal(as_int, as_float):
            raise ValueError(f"embedding entry: expected integral indices, got {as_float}")
        return super().forward(as_int)

    __call__ = forward


def build(values):
    return EmbeddingForChecks.from_params(values["W"])


def run(layer, values, g):
    """forward(indices), backward(g in y's shape); the only gradient is ``W``'s."""
    y = layer.forward(values["indices"])
    returned = layer.backward(np.reshape(g, y.shape))
    if returned is not None:
        raise AssertionError(f"embedding: expected backward to return None (indices are "
                             f"not differentiable), got {type(returned).__name__}")
    return {"W": np.array(layer.grads["W"])}


def sample(rng, shapes):
    """``W`` uniform in [-2, 2]; the indices are the fixed ones of the shape set."""
    return {"W": rng.uniform(-2.0, 2.0, size=shapes["W"]), "indices": _index_values(shapes)}


class EmbeddingOverwritesRepeatedRows(EmbeddingForChecks):
    def backward(self, g):
        super().backward(g)
        dW = self.grads["W"]
        dW[...] = 0
        dW[self._indices.ravel()] = np.reshape(g, (-1, self.dim))   # last use wins
        return None


EMBEDDING = Derivation(
    name="embedding",
    title="Embedding",
    netlib_class=Embedding,
    definition_latex=r"y_k = W_{t_k,:}\quad\text{i.e. } Y = \operatorname{onehot}(t)\, W,\ "
                     r"\operatorname{onehot}(t)_{k,r} = [t_k = r]",
    inputs=("W",),
    constants=("indices",),
    fixed_constants=fixed_indices,
    forward_arg="indices",
    shape_sets=SHAPES,
    forward=embedding,
    # Sᵀ G: the rows of G scattered back to their indices, *added* where an
    # index repeats.
    stated={"W": OneHot(T_INDICES, W_TABLE).T * G_ROWS},
    build=build,
    run=run,
    sample=sample,
    notes="No gradient for the integer indices: netlib's backward returns None. "
          "Writing dW[t] = g keeps one use of a repeated row instead of their sum "
          "(numpy's fancy assignment does not accumulate); np.add.at does.",
    mutants=(
        Mutant("embedding_overwrite_repeated_rows",
               "dW[t] = G: fancy assignment instead of np.add.at",
               "a repeated row keeps one use's gradient, not the sum",
               EmbeddingOverwritesRepeatedRows),
    ),
)
