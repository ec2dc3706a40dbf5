r"""Results for general shapes from SymPy's ``MatrixSymbol`` calculus, never trusted unconfirmed.

``MatrixSymbol.diff`` states a gradient for symbolic dimensions, e.g.

.. math::
    \frac{\partial}{\partial X} \operatorname{tr}\big(G^\top (X W + \mathbf 1 b^\top)\big)
    = G W^\top .

SymPy's matrix derivatives are in *denominator* layout (the result has the
shape of :math:`X`), which for a scalar :math:`\operatorname{tr}(G^\top Y)` is
exactly the VJP. This calculus is right for linear maps and silently wrong for
others: for softmax cross-entropy in log-sum-exp form it returns ``0``. So each
statement here is substituted at the registry entry's concrete shapes and
compared, entry by entry, with the VJP from the explicit Jacobian
(:func:`derivations.verify.derived_vjp`); ``confirmed`` is the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from derivations.registry import get
from derivations.verify import derived_vjp, is_zero, jacobian

#: Symbolic sizes: batch, input features, output features.
N, N_IN, N_OUT = sympy.symbols("N n_in n_out", integer=True, positive=True)


@dataclass
class GeneralResult:
    """A ``MatrixSymbol`` statement and whether the explicit Jacobian confirms it."""

    entry: str
    wrt: str
    expression: object          # the MatrixExpr SymPy returned (may be 0)
    statement: str              # "d tr(Gᵀ Y)/dX = G*W.T"
    latex: str
    confirmed: bool
    checked_shapes: list[str]
    explicit: sympy.Matrix      # the explicit-Jacobian VJP at the first shape set
    message: str


def _dense_symbols(layout: str) -> tuple[dict, sympy.MatrixExpr]:
    """Matrix symbols of general size and the map Y for one layout."""
    if layout == "rows":
        X, W = sympy.MatrixSymbol("X", N, N_IN), sympy.MatrixSymbol("W", N_IN, N_OUT)
        G, b = sympy.MatrixSymbol("G", N, N_OUT), sympy.MatrixSymbol("b", N_OUT, 1)
        Y = X * W + sympy.OneMatrix(N, 1) * b.T
    elif layout == "columns":
        X, W = sympy.MatrixSymbol("X", N_IN, N), sympy.MatrixSymbol("W", N_OUT, N_IN)
        G, b = sympy.MatrixSymbol("G", N_OUT, N), sympy.MatrixSymbol("b", N_OUT, 1)
        Y = W * X + b * sympy.OneMatrix(1, N)
    else:
        raise ValueError(f"dense_general: expected layout 'rows' or 'columns', got {layout!r}")
    return {"x": X, "W": W, "b": b, "G": G}, Y


def _explicit(expr, matrices: dict, sizes: dict, concrete: dict) -> sympy.Matrix:
    """Substitute sizes, then each MatrixSymbol by its concrete symbol matrix."""
    expr = expr.subs(sizes)
    replace = {}
    for name, symbol in matrices.items():
        sized = symbol.subs(sizes)
        replace[sized] = sympy.ImmutableMatrix(concrete[name])
    result = expr.xreplace(replace)
    result = result.doit() if hasattr(result, "doit") else result
    return sympy.Matrix(result) if hasattr(result, "shape") else sympy.Matrix([[result]])


def _agree(stated: sympy.Matrix, explicit: sympy.Matrix) -> bool:
    if stated.shape != explicit.shape:
        if stated.shape != explicit.T.shape or 1 not in stated.shape:
            return False
        stated = stated.T
    return all(is_zero(e) for e in stated - explicit)


def dense_general(layout: str = "rows") -> list[GeneralResult]:
    r"""``MatrixSymbol.diff`` of :math:`\operatorname{tr}(G^\top Y)` for X, W, b, each confirmed."""
    entry = get("dense" if layout == "rows" else "dense_columns")
    matrices, Y = _dense_symbols(layout)
    loss = sympy.Trace(matrices["G"].T * Y)
    results = []
    for wrt in entry.inputs:
        expression = loss.diff(matrices[wrt])
        checked, ok, first = [], True, None
        for shapes in entry.shape_sets:
            batch = shapes["x"][0] if layout == "rows" else shapes["x"][1]
            n_in = shapes["x"][1] if layout == "rows" else shapes["x"][0]
            sizes = {N: batch, N_IN: n_in, N_OUT: shapes["b"][0]}
            concrete = dict(entry.symbols(shapes))
            concrete["b"] = concrete["b"].T                 # the MatrixSymbol b is a column
            concrete["G"] = entry.upstream_symbol(shapes)
            explicit = derived_vjp(entry, wrt, shapes)
            stated = _explicit(expression, matrices, sizes, concrete)
            ok = ok and _agree(stated, explicit)
            checked.append(entry.shape_text(shapes))
            first = explicit if first is None else first
        name = {"x": "X"}.get(wrt, wrt)
        statement = f"d tr(Gᵀ Y)/d{name} = {expression}"
        message = (f"{statement}: {'confirmed' if ok else 'NOT confirmed'} by the explicit "
                   f"Jacobian of {entry.name} at {'; '.join(checked)}")
        results.append(GeneralResult(entry.name, wrt, expression, statement,
                                     sympy.latex(expression), ok, checked, first, message))
    return results


def softmax_cross_entropy_general() -> GeneralResult:
    r"""The documented failure: ``MatrixSymbol.diff`` of softmax cross-entropy.

    With :math:`L = \mathbf 1^\top \log(\exp(Z)\mathbf 1) - \operatorname{tr}(T^\top Z)`
    (log-sum-exp per row, summed over the batch, no :math:`1/N`), SymPy's
    ``diff`` with respect to :math:`Z` returns ``0``. The explicit Jacobian of
    the ``softmax_cross_entropy`` entry (times :math:`N`, which that entry
    divides by) gives :math:`\operatorname{softmax}(Z) - T`, which is not 0.
    ``confirmed`` is therefore ``False`` and ``explicit`` holds the truth.
    """
    entry = get("softmax_cross_entropy")
    K = sympy.Symbol("K", integer=True, positive=True)
    Z, T = sympy.MatrixSymbol("Z", N, K), sympy.MatrixSymbol("T", N, K)
    row_lse = (Z.applyfunc(sympy.exp) * sympy.OneMatrix(K, 1)).applyfunc(sympy.log)
    loss = (sympy.OneMatrix(1, N) * row_lse)[0, 0] - sympy.Trace(T.T * Z)
    expression = loss.diff(Z)
    shapes = entry.shape_sets[0]
    batch, classes = shapes["x"]
    J = jacobian(entry, "x", shapes)                    # 1 × (N K), of the mean loss
    explicit = (batch * J).reshape(batch, classes)
    symbols = entry.symbols(shapes)
    claimed = _explicit(expression, {"Z": Z, "T": T}, {N: batch, K: classes},
                        {"Z": symbols["x"], "T": symbols["t"]})
    if claimed.shape != explicit.shape and claimed.shape == (1, 1):
        claimed = sympy.Matrix.zeros(*explicit.shape) + claimed[0, 0] * sympy.ones(*explicit.shape)
    confirmed = _agree(claimed, explicit)
    statement = f"d/dZ [1ᵀ log(exp(Z) 1) - tr(Tᵀ Z)] = {expression}  (MatrixSymbol.diff)"
    message = (f"{statement}; the explicit Jacobian at {entry.shape_text(shapes)} gives "
               f"softmax(Z) - T, e.g. entry (0,0) = {sympy.simplify(explicit[0, 0])}: "
               f"{'confirmed' if confirmed else 'NOT confirmed — do not trust MatrixSymbol here'}")
    return GeneralResult(entry.name, "x", expression, statement, sympy.latex(expression),
                         confirmed, [entry.shape_text(shapes)], explicit, message)


#: Entry name -> function returning its general-shape results (``show`` prints them).
GENERAL_STATEMENTS = {
    "dense": lambda: dense_general("rows"),
    "dense_columns": lambda: dense_general("columns"),
    "softmax_cross_entropy": lambda: [softmax_cross_entropy_general()],
}
