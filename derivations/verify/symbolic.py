r"""The symbolic side: explicit Jacobians, derived VJPs and the exact checks.

For an entry ``d``, an argument ``a`` (input or parameter) and a shape set,

.. math::
    J = \frac{\partial \operatorname{vec} Y}{\partial \operatorname{vec} a}
    \ \text{(numerator layout, row-major vec)},

    \text{derived} = \operatorname{reshape}\big(J^\top \operatorname{vec} G\big).

*Exact*: ``stated - derived`` is zero entry by entry, decided exactly by
:mod:`derivations.verify.zero` (evaluation in a field of rational functions,
then SymPy's ``cancel``/``simplify`` for what that does not prove).
*Transpose*: a column-layout entry's derived VJPs are the transposes of its
row-layout twin's. Both are proofs, not tolerances. Jacobians and verdicts
are kept in memory and on disk (:mod:`derivations.verify.cache`).
"""

from __future__ import annotations

import time

import sympy

from derivations.core import Derivation, Shapes, matrix_shape
from derivations.registry import get
from derivations.verify import cache
from derivations.verify.differentiate import jacobian_matrix
from derivations.verify.rows import CheckRow
from derivations.verify.zero import zero_entries


class StatedShapeError(ValueError):
    """A stated VJP that cannot even be formed (shapes that do not multiply)."""


def check_wrt(d: Derivation, wrt: str) -> None:
    """Raise a ``KeyError`` naming the entry's arguments unless ``wrt`` is one."""
    if wrt not in d.inputs:
        raise KeyError(f"{d.describe()}: no input or parameter named {wrt!r}; "
                       f"expected one of {', '.join(d.inputs)}")


def default_shapes(d: Derivation, shapes: Shapes | None) -> Shapes:
    """``shapes``, or the entry's first (small) shape set."""
    return d.shape_sets[0] if shapes is None else shapes


def shape_sets(d: Derivation, shapes: Shapes | None) -> tuple:
    """``(shapes,)``, or every shape set of the entry."""
    return d.shape_sets if shapes is None else (shapes,)


def jacobian(d: Derivation, wrt: str, shapes: Shapes | None = None) -> sympy.Matrix:
    r"""The explicit Jacobian :math:`\partial\,\mathrm{vec}\,Y / \partial\,\mathrm{vec}\,a`.

    Numerator layout (outputs index rows), row-major ``vec``, by the rules of
    calculus with each shared subexpression differentiated once
    (:func:`~derivations.verify.differentiate.jacobian_matrix`); cached.
    """
    check_wrt(d, wrt)
    shapes = default_shapes(d, shapes)

    def compute() -> sympy.Matrix:
        Y = d.output(shapes)
        a = d.symbols(shapes)[wrt]
        # Both flattened row-major, like np.ravel.
        return jacobian_matrix(list(Y), list(a))

    return cache.memo("jacobian", d, shapes, wrt, compute, stated=False)


def derived_vjp(d: Derivation, wrt: str, shapes: Shapes | None = None) -> sympy.Matrix:
    r"""``reshape(Jᵀ vec(G))``, in the argument's matrix shape (1-D -> a row)."""
    shapes = default_shapes(d, shapes)
    J = jacobian(d, wrt, shapes)
    G = d.upstream_symbol(shapes)
    return (J.T * G.reshape(len(G), 1)).reshape(*matrix_shape(tuple(shapes[wrt])))


def stated_vjp(d: Derivation, wrt: str, shapes: Shapes | None = None) -> sympy.Matrix:
    """The entry's stated VJP for ``wrt``, formed on the symbols of ``shapes``."""
    check_wrt(d, wrt)
    shapes = default_shapes(d, shapes)

    def compute() -> sympy.Matrix:
        try:
            return d.stated_vjp(wrt, d.upstream_symbol(shapes), d.symbols(shapes))
        except (sympy.ShapeError, ValueError, TypeError, IndexError, KeyError,
                AttributeError) as error:
            raise StatedShapeError(f"{d.describe()}: the stated VJP for {wrt} cannot be "
                                   f"formed at shapes {d.shape_text(shapes)}: "
                                   f"{type(error).__name__}: {error}") from error

    # Cached too: making a stated VJP concrete costs seconds for pooling's operators.
    return cache.memo("stated", d, shapes, wrt, compute, stated=True)


# -- the exact check --------------------------------------------------------------------
def _same_layout(stated: sympy.Matrix, derived: sympy.Matrix, shape) -> bool:
    if stated.shape == derived.shape:
        return True
    # A 1-D argument (a bias) may be stated as a row or as a column.
    return len(shape) == 1 and stated.shape == derived.T.shape


def _show(matrix: sympy.Matrix) -> str:
    return "\n".join("    " + line for line in sympy.pretty(matrix, use_unicode=True).splitlines())


def _mismatch_message(d, wrt, shapes, stated, derived, bad) -> str:
    lines = [f"{d.name}: stated VJP for {wrt} ({d.stated_text(wrt)}) differs from "
             f"the derived reshape(Jᵀ vec G) at shapes {d.shape_text(shapes)}:"]
    for index in bad[:3]:
        derived_entry = derived[index]
        # Simplify small entries for reading; big ones would cost seconds each.
        simpler = sympy.simplify(derived_entry) if sympy.count_ops(derived_entry) < 60 \
            else derived_entry
        lines.append(f"  entry {index}: stated  = {stated[index]}")
        lines.append(f"  {' ' * len(f'entry {index}')}  derived = {simpler}")
    if len(bad) > 3:
        lines.append(f"  ... and {len(bad) - 3} more of {len(derived)} entries differ")
    return "\n".join(lines)


def compare_matrices(d: Derivation, wrt: str, shapes: Shapes, stated, derived) -> str:
    """``""`` when ``stated`` equals ``derived`` entry by entry, else why not."""
    shape = tuple(shapes[wrt])
    if stated is None or not _same_layout(stated, derived, shape):
        got = "could not be formed" if stated is None else f"has shape {stated.shape}"
        return (f"{d.name}: stated VJP for {wrt} ({d.stated_text(wrt)}) {got}, "
                f"but {wrt} has shape {shape} (derived: {derived.shape}); at shapes "
                f"{d.shape_text(shapes)}\n  derived =\n{_show(derived)}")
    if stated.shape != derived.shape:
        stated = stated.T
    residual = stated - derived
    indices = [(i, j) for i in range(residual.rows) for j in range(residual.cols)]
    zero = zero_entries(residual[index] for index in indices)
    bad = [index for index, is_zero_entry in zip(indices, zero, strict=True) if not is_zero_entry]
    return _mismatch_message(d, wrt, shapes, stated, derived, bad) if bad else ""


def exact_message(d: Derivation, wrt: str, shapes: Shapes) -> str:
    """The exact check's verdict: ``""`` when ``stated == derived``, else the difference."""
    def compute() -> str:
        derived = derived_vjp(d, wrt, shapes)
        try:
            stated = stated_vjp(d, wrt, shapes)
        except StatedShapeError as error:
            return f"{error}\n{compare_matrices(d, wrt, shapes, None, derived)}"
        return compare_matrices(d, wrt, shapes, stated, derived)

    return cache.memo("exact", d, shapes, wrt, compute, stated=True)


def check_exact_one(d: Derivation, wrt: str, shapes: Shapes | None = None) -> CheckRow:
    """``stated == derived`` for one argument at one shape set (the first by default)."""
    shapes = default_shapes(d, shapes)
    started = time.perf_counter()
    message = exact_message(d, wrt, shapes)
    return CheckRow(d.name, wrt, d.shape_text(shapes), "exact", not message, None,
                    time.perf_counter() - started, message)


def check_exact(d: Derivation, shapes: Shapes | None = None) -> list[CheckRow]:
    """The exact check for every input, at ``shapes`` or at every shape set."""
    return [check_exact_one(d, wrt, sh) for sh in shape_sets(d, shapes) for wrt in d.inputs]


# -- both layouts ------------------------------------------------------------------------
def _transposed_shapes(d: Derivation, shapes: Shapes) -> dict:
    other = {}
    for name, shape in shapes.items():
        target = d.transpose_map.get(name, name)
        other[target] = tuple(shape[::-1]) if len(shape) == 2 else tuple(shape)
    return other


def _transpose_message(d: Derivation, other: Derivation, wrt: str, shapes: Shapes) -> str:
    other_shapes = _transposed_shapes(d, shapes)
    mine, theirs = d.symbols(shapes), other.symbols(other_shapes)
    rename = {}
    for name, other_name in d.transpose_map.items():
        target = mine[name].T if len(shapes[name]) == 2 else mine[name]
        rename.update(zip(theirs[other_name], target, strict=True))
    rename.update(zip(other.upstream_symbol(other_shapes), d.upstream_symbol(shapes).T,
                      strict=True))
    as_mine = derived_vjp(other, d.transpose_map.get(wrt, wrt), other_shapes).xreplace(rename)
    as_mine = as_mine.T if len(shapes[wrt]) == 2 else as_mine
    message = compare_matrices(d, wrt, shapes, as_mine, derived_vjp(d, wrt, shapes))
    return message and (f"{d.name} vs {other.name}: the gradient for {wrt} is not the "
                        f"transpose of the other layout's\n{message}")


def check_transpose(d: Derivation, shapes: Shapes | None = None) -> list[CheckRow]:
    r"""For a column-layout entry: its derived VJPs are the transposes of the row layout's.

    With :math:`X_c = X_r^\top`, :math:`W_c = W_r^\top`, :math:`G_c = G_r^\top`,
    the column entry's ``derived_vjp`` for each argument must equal the
    transpose of the row entry's, after renaming the row entry's symbols to
    the transposed column symbols. Exact, entry by entry.
    """
    if d.transpose_of is None:
        return []
    other = get(d.transpose_of)
    rows = []
    for sh in shape_sets(d, shapes):
        for wrt in d.inputs:
            started = time.perf_counter()
            message = _transpose_message(d, other, wrt, sh)
            rows.append(CheckRow(d.name, wrt, d.shape_text(sh), "transpose", not message,
                                 None, time.perf_counter() - started, message))
    return rows
