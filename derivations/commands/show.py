r"""``python -m derivations show NAME [--latex]``: one entry, piece by piece.

Prints the definition, the forward map at the small shape set, and for each
input and parameter: the Jacobian (its zero/nonzero structure, and the matrix
itself when it is small), one entry of ``Jᵀ vec G`` spelled out term by term
(this is where ``G Wᵀ`` comes from), the stated VJP and the exact check.
"""

from __future__ import annotations

import numpy as np
import sympy

from derivations.general_shapes import GENERAL_STATEMENTS
from derivations.latex import (
    jacobian_structure,
    latex_definition,
    latex_derived,
    latex_forward,
    latex_jacobian,
    latex_stated,
    latex_stated_matrix,
)
from derivations.registry import REGISTRY, get
from derivations.verify import check_exact_one, derived_vjp, jacobian, stated_vjp

#: Print a matrix in two-dimensional form only if it fits this many columns;
#: otherwise entry by entry (first few), or for a Jacobian its structure.
MAX_WIDTH = 160
#: Entries listed when a matrix is too wide to draw.
MAX_ENTRIES = 6


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "show", help="print one entry: forward map, Jacobian, stated VJP",
        description="Print an entry's definition, its forward map on the small shape set, "
                    "and for every input and parameter the Jacobian, how one entry of "
                    "the VJP Jᵀ vec(G) adds up, the stated closed form and the exact check.")
    parser.add_argument("name", metavar="NAME", help="entry name (see 'list')")
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    parser.set_defaults(run=run)


def _pretty(expr) -> str:
    text = sympy.pretty(expr, use_unicode=True, wrap_line=False)
    return "\n".join("    " + line for line in text.splitlines())


def _fits(matrix) -> bool:
    """Whether ``matrix`` drawn in two dimensions fits :data:`MAX_WIDTH` columns.

    Pretty-printing is what costs (minutes for max pooling's Piecewise
    Jacobian), so a matrix whose one-line text is far too wide is refused
    before it is drawn: a drawn row is never narrower than a third of it.
    """
    if matrix.cols > MAX_WIDTH // 4 or len(matrix) > MAX_WIDTH:
        return False
    if any(_larger_than(entry, MAX_WIDTH) for entry in matrix):
        return False                           # an entry alone is wider than a line
    for i in range(matrix.rows):
        width = 0
        for j in range(matrix.cols):
            width += len(str(matrix[i, j]))
            if width > 3 * MAX_WIDTH:          # stop measuring as soon as it is too wide
                return False
    text = sympy.pretty(matrix, use_unicode=True, wrap_line=False)
    return max(len(line) for line in text.splitlines()) <= MAX_WIDTH


def _larger_than(expr, nodes: int) -> bool:
    """Whether ``expr`` has more than ``nodes`` nodes; stops counting there.

    Each node prints as at least one character, so a tree of more than
    ``limit`` nodes cannot print in ``limit`` characters. Printing attention's
    Jacobian entries in full, only to cut them, took most of ``show``'s time.
    """
    for count, _ in enumerate(sympy.preorder_traversal(expr), start=1):
        if count > nodes:
            return True
    return False


def _short(expr, limit: int = MAX_WIDTH) -> str:
    """``str(expr)``, cut at ``limit`` characters; a large tree is not printed at all."""
    if _larger_than(expr, 4 * limit):
        nodes = sum(1 for _ in sympy.preorder_traversal(expr))
        return f"(an expression tree of {nodes} nodes, too long to print)"
    text = str(expr)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _render(matrix, name: str) -> list[str]:
    """The matrix drawn if it fits, else its first entries one per line."""
    if _fits(matrix):
        return [_pretty(matrix)]
    lines = [f"    {name}[{i},{j}] = {_short(matrix[i, j])}"
             for i in range(matrix.rows) for j in range(matrix.cols)][:MAX_ENTRIES]
    if len(matrix) > MAX_ENTRIES:
        lines.append(f"    ... {len(matrix) - MAX_ENTRIES} more entries")
    return lines


def _index_name(name: str, flat: int, shape) -> str:
    """``x[1,2]`` for the flat row-major position ``flat`` of an array of ``shape``."""
    index = np.unravel_index(flat, tuple(shape))
    return f"{name}[{','.join(str(int(i)) for i in index)}]"


def explain_first_entry(d, wrt: str, shapes) -> list[str]:
    """``dL/da[0,0] = Σ_k G_k ∂y_k/∂a[0,0]``, listing the nonzero terms."""
    J = jacobian(d, wrt, shapes)
    out_shape = d.output_shape(shapes)
    G = d.upstream_symbol(shapes)
    terms = [(k, J[k, 0]) for k in range(J.rows) if J[k, 0] != 0]
    target = _index_name(wrt, 0, shapes[wrt])
    lines = [f"  How entry {target} of the VJP adds up: dL/d{target} = Σ_k G_k · ∂y_k/∂{target}"
             f" over the {len(terms)} outputs y_k that depend on it:"]
    for k, entry in terms[:8]:
        y = _index_name("y", k, out_shape)
        # Simplify small entries for reading; big ones would cost seconds each.
        simpler = sympy.simplify(entry) if sympy.count_ops(entry) < 60 else entry
        lines.append(f"      {G[k]} · (∂{y}/∂{target} = {_short(simpler)})")
    if len(terms) > 8:
        lines.append(f"      ... {len(terms) - 8} more")
    return lines


def show_text(d) -> str:
    shapes = d.shape_sets[0]
    Y = d.output(shapes)
    lines = [f"{d.name}: {d.title}  (netlib.{d.netlib_class.__name__}, {d.kind})",
             f"Definition (LaTeX): {latex_definition(d)}",
             f"Small shape set: {d.shape_text(shapes)}; output {Y.rows}×{Y.cols}"
             + ("  (a loss: a 1×1 matrix, G is the scalar upstream gradient)"
                if d.kind == "loss" else ""),
             "Forward map, entry by entry:", *_render(Y, "y")]
    if d.hyper:
        lines.append("Hyper-parameters: " + ", ".join(f"{k} = {v}" for k, v in d.hyper.items()))
    if d.constants:
        lines.append(f"Constants (not differentiated): {', '.join(d.constants)}"
                     + ("  (fixed values)" if d.fixed_constants else ""))
    for wrt in d.inputs:
        J = jacobian(d, wrt, shapes)
        lines += ["", f"== d/d{wrt} ==",
                  f"Jacobian d vec(Y)/d vec({wrt}): {J.rows}×{J.cols} "
                  "(rows: outputs, columns: entries of " + wrt + ", both row-major):"]
        if _fits(J):
            lines.append(_pretty(J))
        else:
            lines.append("  structure (* nonzero, . zero):")
            lines += ["    " + row for row in jacobian_structure(d, wrt, shapes).splitlines()]
        lines += explain_first_entry(d, wrt, shapes)
        derived = derived_vjp(d, wrt, shapes)
        lines += ["  All entries, reshape(Jᵀ vec G):", *_render(derived, f"dL/d{wrt}")]
        lines.append(f"  Stated VJP: dL/d{wrt} = {d.stated_text(wrt)}   (LaTeX)")
        try:
            stated = stated_vjp(d, wrt, shapes)
            lines += [f"  Its entry {_index_name(wrt, 0, shapes[wrt])} is {stated[0]} (compare "
                      "with the sum above); at this shape it is:", *_render(stated, "stated")]
        except ValueError as error:
            lines.append(f"  (cannot be formed: {error})")
        result = check_exact_one(d, wrt, shapes)
        lines.append(f"  Exact check, stated == reshape(Jᵀ vec G): "
                     f"{'pass' if result.passed else 'FAIL'}")
        if not result.passed:
            lines.append(result.message)
    if d.name in GENERAL_STATEMENTS:
        lines += ["", "== General shapes (SymPy MatrixSymbol.diff, checked against the "
                  "explicit Jacobian) =="]
        lines += [f"  {r.message}" for r in GENERAL_STATEMENTS[d.name]()]
    if d.notes:
        lines += ["", f"Notes: {d.notes}"]
    return "\n".join(lines)


def show_latex(d) -> str:
    shapes = d.shape_sets[0]
    lines = [f"% {d.name}: {d.title}", f"% definition\n{latex_definition(d)}",
             f"% forward map at {d.shape_text(shapes)}\nY = {latex_forward(d, shapes)}"]
    for wrt in d.inputs:
        lines += [f"% Jacobian d vec(Y) / d vec({wrt})",
                  f"J_{{{wrt}}} = {latex_jacobian(d, wrt, shapes)}",
                  f"% stated VJP\n\\frac{{\\partial L}}{{\\partial {wrt}}} = "
                  f"{latex_stated(d, wrt)}",
                  f"% stated VJP at this shape\n{latex_stated_matrix(d, wrt, shapes)}",
                  f"% derived reshape(J^T vec G)\n{latex_derived(d, wrt, shapes)}"]
    if d.name in GENERAL_STATEMENTS:
        lines += [f"% MatrixSymbol, {'confirmed' if r.confirmed else 'NOT confirmed'}: "
                  f"d/d{r.wrt}\n{r.latex}" for r in GENERAL_STATEMENTS[d.name]()]
    return "\n".join(lines)


def run(args) -> int:
    if args.name not in REGISTRY:
        print(f"show: no entry named {args.name!r}; known entries: {', '.join(REGISTRY)}")
        return 2
    d = get(args.name)
    print(show_latex(d) if args.latex else show_text(d))
    return 0
