r"""LaTeX (and plain-text) renderings of each piece of a derivation, for the site and ``show``.

Everything is computed from the entry: the forward map and Jacobian at the
small shape set come from SymPy; the closed forms, and the definition of every
entry whose forward map is a matrix expression, are the printer's output
(:mod:`derivations.printing`) of the very expressions the checks use.
Nothing here is typed twice.
"""

from __future__ import annotations

import sympy

from derivations.core import Derivation, Shapes
from derivations.notation import DefinedFunction, is_expression
from derivations.printing import latex
from derivations.verify import derived_vjp, jacobian, stated_vjp


def _shapes(d: Derivation, shapes: Shapes | None) -> Shapes:
    return d.shape_sets[0] if shapes is None else shapes


def named_functions(d: Derivation) -> list[type]:
    """The named scalar functions (σ, Φ, u...) the entry's expressions use, in order."""
    expressions = [d.forward, *d.stated.values()]
    found: list[type] = []
    for expr in expressions:
        if not is_expression(expr):
            continue
        for atom in sympy.preorder_traversal(expr):
            if isinstance(atom, DefinedFunction) and type(atom) not in found:
                found.append(type(atom))
    return found


def latex_definition(d: Derivation) -> str:
    r"""The definition: ``Y = X W + \mathbf 1 b^\top`` rendered from the forward expression.

    A forward map that is not a matrix expression is described by the
    entry's ``definition_latex``; otherwise that text (if any) follows as a
    where-clause. The named functions the formulas use are defined at the end.
    """
    parts = []
    if is_expression(d.forward):
        parts.append(f"{'L' if d.kind == 'loss' else 'Y'} = {latex(d.forward)}")
    if d.definition_latex:
        parts.append(d.definition_latex)
    z = sympy.Symbol("z", real=True)
    for function in named_functions(d):
        parts.append(f"{latex(function(z))} = {latex(function.definition(z))}")
    if len(parts) == 1:
        return parts[0]
    # A line each (the map, then each named function), so that none runs off the page.
    return r"\begin{gathered} " + r", \\ ".join(parts) + r" \end{gathered}"


def latex_forward(d: Derivation, shapes: Shapes | None = None) -> str:
    """The forward map at the small shape set, entry by entry."""
    return sympy.latex(d.output(_shapes(d, shapes)))


def latex_jacobian(d: Derivation, wrt: str, shapes: Shapes | None = None) -> str:
    """The explicit Jacobian (numerator layout, row-major) at the small shape set."""
    return sympy.latex(jacobian(d, wrt, _shapes(d, shapes)))


def latex_stated(d: Derivation, wrt: str) -> str:
    r"""The stated closed form, e.g. ``G W^\top``."""
    return d.stated_text(wrt)


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
