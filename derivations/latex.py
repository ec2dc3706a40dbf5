r"""LaTeX (and plain-text) renderings of each piece of a derivation, for the site and ``show``.

Everything is computed from the entry: the forward map and Jacobian at the
small shape set come from SymPy, the closed form is the entry's
``stated_latex``. Nothing here is typed twice.
"""

from __future__ import annotations

import sympy

from derivations.checks import derived_vjp, jacobian, stated_vjp
from derivations.core import Derivation, Shapes


def _shapes(d: Derivation, shapes: Shapes | None) -> Shapes:
    return d.shape_sets[0] if shapes is None else shapes


def latex_definition(d: Derivation) -> str:
    """The definition, as the entry states it."""
    return d.definition_latex


def latex_forward(d: Derivation, shapes: Shapes | None = None) -> str:
    """The forward map at the small shape set, entry by entry."""
    return sympy.latex(d.output(_shapes(d, shapes)))


def latex_jacobian(d: Derivation, wrt: str, shapes: Shapes | None = None) -> str:
    """The explicit Jacobian (numerator layout, row-major) at the small shape set."""
    return sympy.latex(jacobian(d, wrt, _shapes(d, shapes)))


def latex_stated(d: Derivation, wrt: str) -> str:
    r"""The stated closed form, e.g. ``G W^\top``."""
    return d.stated_latex[wrt]


def latex_stated_matrix(d: Derivation, wrt: str, shapes: Shapes | None = None) -> str:
    """The stated VJP formed on the symbols of the small shape set."""
    return sympy.latex(stated_vjp(d, wrt, _shapes(d, shapes)))


def latex_derived(d: Derivation, wrt: str, shapes: Shapes | None = None) -> str:
    r"""``reshape(Jᵀ vec G)`` at the small shape set (unsimplified: what the Jacobian gives)."""
    return sympy.latex(derived_vjp(d, wrt, _shapes(d, shapes)))


def jacobian_structure(d: Derivation, wrt: str, shapes: Shapes | None = None) -> str:
    """The Jacobian's sparsity pattern as text: ``*`` a nonzero entry, ``.`` a zero.

    Rows are the flattened outputs, columns the flattened ``wrt`` (numerator
    layout). A diagonal means an elementwise map; blocks mean per-sample maps.
    """
    J = jacobian(d, wrt, _shapes(d, shapes))
    return "\n".join("".join("." if J[i, j] == 0 else "*" for j in range(J.cols))
                     for i in range(J.rows))
