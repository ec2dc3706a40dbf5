"""Dimensions of the matrix language: the lowest layer of shape inference.

A dimension is a *monomial*: an integer times a product of named sizes
(``m``, ``n`` or, for sizes nobody named, ``rows(X)``/``cols(X)``), because
``vec`` and ``kron`` multiply sizes.  Both the function table
(``functions``) and shape inference (``shapes``) build on this module, which
imports neither: the imports of the package point one way,
``dims ← functions ← shapes``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SCALAR", "Dim", "dim_product", "square"]


@dataclass(frozen=True)
class Dim:
    """``coef`` times the product of the named sizes in ``names`` (sorted)."""

    coef: int
    names: tuple = ()

    def __str__(self) -> str:
        parts = [] if (self.coef == 1 and self.names) else [str(self.coef)]
        return "·".join(parts + list(self.names))

    @property
    def is_one(self) -> bool:
        return self.coef == 1 and not self.names


#: The shape of a 1×1 value (a number, a trace, a sum).
SCALAR = (Dim(1), Dim(1))


def dim_product(a: Dim, b: Dim) -> Dim:
    """The product of two dimensions (the rows of ``kron``, the length of ``vec``).

    >>> str(dim_product(Dim(2, ("m",)), Dim(1, ("n",))))
    '2·m·n'
    """
    return Dim(a.coef * b.coef, tuple(sorted(a.names + b.names)))


def square(env, shape: tuple, why: str) -> Dim:
    """Make ``shape`` square (for tr, det, inv) and return its size.

    ``env`` is a :class:`~derivations.matrix_calculus.shapes.ShapeEnv`; only
    its ``unify`` is used, so this module needs no import of it.
    """
    return env.unify(shape[0], shape[1], why + " (needs a square matrix)")
