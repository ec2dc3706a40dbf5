r"""The page's notation as SymPy expressions: written once, checked and rendered.

A stated VJP is one SymPy expression over *matrix symbols* of symbolic size,
``G * W.T`` with ``W = MatrixSymbol("W", n_in, n_out)``: the notation a reader
sees on the page. Two things are done with that one expression:

* the checks make it **concrete** (:func:`concrete`): every matrix symbol is
  replaced by the entry's matrix of scalar symbols at a concrete shape set
  (``x`` by :math:`x_{0,0}, \dots`), every size symbol by its number, and the
  operations are carried out on explicit matrices;
* the site, ``show`` and ``--json`` **render** it
  (:func:`derivations.printing.latex`), with ``⊙`` for Hadamard products,
  ``ᵀ`` and :math:`\mathbf 1`.

So what a page displays as checked is the printer's output of the very
expression the check substituted into.

Vocabulary
----------
* :func:`matrix` names an argument (``"x"``, ``"W"``, ``"G"``...) with a
  symbolic shape; its name is the argument's name in the registry (the
  printer shows ``x`` as :math:`X`, ``t`` as :math:`T`, see
  :data:`derivations.printing.DISPLAY_NAMES`).
* :func:`size` is a size symbol (:math:`N`, :math:`n_\text{in}`); sizes are
  bound by matching the matrix symbols' shapes with the concrete matrices.
* :func:`entrywise` applies a scalar function to every entry of a matrix:
  ``entrywise(lambda z: 1 - tanh(z)**2, X)`` is :math:`f'(X)` for tanh.
* :class:`Operator` is the base of named operations with no plain matrix
  form (a row softmax, ``col2im``): each says how it is computed on explicit
  matrices, *from its definition*, and how it is written.
* :class:`DefinedFunction` is a named scalar function (:math:`\sigma`,
  :math:`\Phi`) displayed by name and replaced by its definition when made
  concrete.

A 1-D argument (a bias) is a row ``1×n`` in the entries' symbols; a matrix
symbol may declare it as a column ``n×1`` instead, as the page writes it
(:math:`b \in \mathbb R^{n_\text{out}}`): a vector value is reshaped,
row-major, to the declared shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sympy
from sympy.core.sympify import _sympify
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

__all__ = [
    "DefinedFunction",
    "NotationError",
    "Operator",
    "concrete",
    "entrywise",
    "is_expression",
    "matrix",
    "ones",
    "size",
]


class NotationError(ValueError):
    """An expression cannot be made concrete (unknown symbol, shapes that do not fit)."""


def size(name: str) -> sympy.Symbol:
    """A positive integer size symbol, e.g. ``size("N")`` for the batch."""
    return sympy.Symbol(name, integer=True, positive=True)


def matrix(name: str, rows, cols) -> sympy.MatrixSymbol:
    """The matrix symbol of argument ``name`` (or ``"G"``) with a symbolic shape."""
    return sympy.MatrixSymbol(name, rows, cols)


def ones(rows, cols) -> sympy.OneMatrix:
    r""":math:`\mathbf 1`, the all-ones matrix (``ones(N, 1)`` is a column)."""
    return sympy.OneMatrix(rows, cols)


def entrywise(function: Callable[[sympy.Symbol], sympy.Expr], argument) -> sympy.MatrixExpr:
    """``function`` applied to every entry of the matrix expression ``argument``."""
    z = sympy.Symbol("z", real=True)
    return ElementwiseApplyFunction(sympy.Lambda(z, function(z)), argument)


def is_expression(value) -> bool:
    """True for a SymPy matrix or scalar expression (not a Python callable)."""
    return isinstance(value, sympy.Basic)


class DefinedFunction(sympy.Function):
    """A named scalar function: displayed by name, made concrete by :meth:`definition`.

    Subclasses set ``latex_name`` and implement ``definition(cls, z)``.
    """

    latex_name = ""

    @classmethod
    def definition(cls, z: sympy.Expr) -> sympy.Expr:
        raise NotImplementedError

    def _latex(self, printer, exp=None):
        name = self.latex_name + (f"^{{{printer._print(exp)}}}" if exp is not None else "")
        return rf"{name}\left({printer._print(self.args[0])}\right)"


class Operator(sympy.MatrixExpr):
    """A named matrix operation: its shape, its explicit value, its notation.

    Subclasses implement ``explicit(self, *args)`` (the value on explicit
    SymPy matrices; non-matrix arguments arrive with sizes substituted) and
    ``_latex(self, printer)``; an operator has its first argument's shape
    unless it overrides ``shape`` (a property, in terms of the arguments'
    symbolic shapes).
    """

    def __new__(cls, *args):
        # Strict conversion: numbers and SymPy objects only, never a string.
        return sympy.Basic.__new__(cls, *[_sympify(a) for a in args])

    @property
    def shape(self):
        return self.args[0].shape

    def explicit(self, *args) -> sympy.Matrix:
        raise NotImplementedError

    # SymPy asks matrix expressions for entries when printing or comparing;
    # an Operator is only ever made concrete as a whole.
    def _entry(self, i, j, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is evaluated by derivations.notation")


# -- making an expression concrete --------------------------------------------------

def _bind_sizes(expr, values: Mapping[str, sympy.Matrix]) -> dict:
    """Size symbol -> number, from the shapes of the matrices substituted."""
    pairs = []                                 # (declared size, actual size, what)
    for symbol in sorted(expr.atoms(sympy.MatrixSymbol), key=lambda s: s.name):
        value = values.get(symbol.name)
        if value is None:
            raise NotationError(f"no value for the matrix symbol {symbol.name!r}; "
                                f"known: {', '.join(sorted(values))}")
        rows, cols = symbol.shape
        if 1 in value.shape and (rows == 1 or cols == 1):
            # A vector: row or column as declared; only its length must match.
            pairs.append((cols if rows == 1 else rows, len(value), f"length of {symbol.name}"))
        else:
            pairs += [(rows, value.rows, f"rows of {symbol.name}"),
                      (cols, value.cols, f"columns of {symbol.name}")]
    sizes: dict = {}
    seen: dict = {}                            # size symbol -> where it was bound
    for declared, actual, what in pairs:       # plain size symbols first ...
        if isinstance(declared, sympy.Symbol):
            if sizes.setdefault(declared, sympy.Integer(actual)) != actual:
                raise NotationError(f"size {declared} is {sizes[declared]} ({seen[declared]}) "
                                    f"but {actual} ({what})")
            seen.setdefault(declared, what)
    for declared, actual, what in pairs:       # ... then every size, compound ones too
        if _sympify(declared).xreplace(sizes) != actual:
            raise NotationError(f"{what}: declared {declared} does not match {actual}")
    return sizes


def concrete(expr, values: Mapping[str, sympy.Matrix]) -> sympy.Matrix:
    """The explicit matrix of ``expr`` with each matrix symbol replaced by ``values[name]``.

    Sizes are bound from the shapes of ``values``; a scalar symbol named in
    ``values`` (a loss's upstream ``G``) takes the single entry of its value.
    A scalar result comes back as a ``1×1`` matrix.
    """
    sizes = _bind_sizes(expr, values)
    scalars = {s: values[s.name][0, 0] for s in expr.free_symbols
               if isinstance(s, sympy.Symbol) and s.name in values and s not in sizes}
    result = _evaluate(expr, values, {**sizes, **scalars})
    if not isinstance(result, sympy.MatrixBase):
        result = sympy.Matrix([[result]])
    return _expand_defined(sympy.Matrix(result))


def _expand_defined(value: sympy.Matrix) -> sympy.Matrix:
    """Replace every :class:`DefinedFunction` by its definition."""
    def expand(entry):
        return entry.replace(lambda e: isinstance(e, DefinedFunction),
                             lambda e: type(e).definition(e.args[0]))
    return value.applyfunc(expand)


def _as_declared(symbol: sympy.MatrixSymbol, value: sympy.Matrix, subs: dict) -> sympy.Matrix:
    rows, cols = (int(_sympify(n).xreplace(subs)) for n in symbol.shape)
    if value.shape != (rows, cols):
        value = value.reshape(rows, cols)         # a vector, row-major either way
    return value


def _evaluate(expr, values, subs):
    """Carry out ``expr`` on explicit matrices (recursive, by node type)."""
    if isinstance(expr, sympy.MatrixSymbol):
        return _as_declared(expr, values[expr.name], subs)
    if isinstance(expr, sympy.OneMatrix):
        return sympy.ones(*(int(n.xreplace(subs)) for n in expr.shape))
    if isinstance(expr, sympy.Identity):
        return sympy.eye(int(expr.rows.xreplace(subs)))
    if isinstance(expr, sympy.ZeroMatrix):
        return sympy.zeros(*(int(n.xreplace(subs)) for n in expr.shape))
    if isinstance(expr, sympy.Transpose):
        return _evaluate(expr.arg, values, subs).T
    if isinstance(expr, Operator):
        args = [_evaluate(a, values, subs) if isinstance(a, sympy.MatrixExpr)
                else a.xreplace(subs) for a in expr.args]
        return expr.explicit(*args)
    if isinstance(expr, ElementwiseApplyFunction):
        return _evaluate(expr.expr, values, subs).applyfunc(expr.function)
    if isinstance(expr, (sympy.MatMul, sympy.Mul)):
        return _product([_evaluate(a, values, subs) for a in expr.args])
    if isinstance(expr, (sympy.MatAdd, sympy.Add)):
        terms = [_evaluate(a, values, subs) for a in expr.args]
        return _sum(terms)
    if isinstance(expr, sympy.HadamardProduct):
        factors = [_evaluate(a, values, subs) for a in expr.args]
        result = factors[0]
        for factor in factors[1:]:
            result = result.multiply_elementwise(factor)
        return result
    if isinstance(expr, sympy.HadamardPower):
        base = _evaluate(expr.base, values, subs)
        exponent = expr.exp.xreplace(subs)
        return base.applyfunc(lambda v: v ** exponent)
    if isinstance(expr, sympy.MatrixExpr):
        raise NotationError(f"derivations.notation cannot evaluate {type(expr).__name__}")
    if isinstance(expr, sympy.Pow) and expr.has(sympy.MatrixSymbol):
        raise NotationError(f"derivations.notation: a power of a matrix, {expr}")
    return expr.xreplace(subs)


def _product(factors):
    result = sympy.Integer(1)
    for factor in factors:
        both = isinstance(result, sympy.MatrixBase) and isinstance(factor, sympy.MatrixBase)
        if both and result.cols != factor.rows:
            raise NotationError(f"matrix product of {result.rows}×{result.cols} and "
                                f"{factor.rows}×{factor.cols}")
        result = result * factor
    return result


def _sum(terms):
    matrices = [t for t in terms if isinstance(t, sympy.MatrixBase)]
    if len({m.shape for m in matrices}) > 1:
        raise NotationError("sum of matrices of shapes "
                            + ", ".join(f"{m.rows}×{m.cols}" for m in matrices))
    if matrices and len(matrices) != len(terms):
        raise NotationError("sum of a matrix and a scalar")
    result = terms[0]
    for term in terms[1:]:
        result = result + term
    return result
