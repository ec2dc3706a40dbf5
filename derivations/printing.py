r"""LaTeX for the page's notation: SymPy's printer, set up for our conventions.

:func:`latex` renders the expressions of :mod:`derivations.notation` (the
stated VJPs, the forward maps) as the site, ``show`` and ``--json`` display
them:

* ``⊙`` (``\odot``) for a Hadamard (entrywise) product, and only for that;
  an entrywise quotient is a fraction;
* ``^\top`` for a transpose, :math:`\mathbf 1` for an all-ones matrix;
* argument names as the glossary writes them (:data:`DISPLAY_NAMES`: the
  input ``x`` of a batch is :math:`X`, a target ``t`` is :math:`T`);
* a scalar function applied entrywise, :math:`f(X)`, is written with the
  matrix in place of the scalar variable; a product of such factors is
  entrywise (``⊙``), a constant factor is a plain coefficient.
"""

from __future__ import annotations

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

__all__ = ["DISPLAY_NAMES", "NotationPrinter", "latex"]

#: How argument names are displayed (every other name as SymPy prints it).
DISPLAY_NAMES = {
    "x": "X",
    "t": "T",
    "mask": "M",
    "gamma": r"\gamma",
    "beta": r"\beta",
}


def _is_negative(term) -> bool:
    """A term written with a leading minus: -T, or -1/F times a product."""
    if isinstance(term, sympy.MatMul) and not isinstance(term.args[0], sympy.MatrixExpr):
        coefficient = term.args[0]
        return bool(coefficient.is_negative) or coefficient.could_extract_minus_sign()
    return term.could_extract_minus_sign()


class NotationPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the project's notation (see the module docstring)."""

    def __init__(self, settings=None):
        super().__init__({"mat_symbol_style": "plain", **(settings or {})})
        self._entrywise: dict = {}         # scalar variable -> the matrix it stands for

    def _print_MatrixSymbol(self, expr):
        return DISPLAY_NAMES.get(expr.name, self._print(sympy.Symbol(expr.name)))

    def _print_Symbol(self, expr, style="plain"):
        if expr in self._entrywise:
            return self._entrywise[expr]
        if expr.name in DISPLAY_NAMES:
            return DISPLAY_NAMES[expr.name]
        return super()._print_Symbol(expr, style=style)

    def _print_Transpose(self, expr):
        return rf"{self.parenthesize(expr.arg, PRECEDENCE['Pow'])}^\top"

    def _print_OneMatrix(self, expr):
        # A column of ones is 1, a row 1ᵀ, a full matrix of ones 1 1ᵀ.
        rows, cols = expr.shape
        if cols == 1:
            return r"\mathbf{1}"
        if rows == 1:
            return r"\mathbf{1}^\top"
        return r"\mathbf{1}\mathbf{1}^\top"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Identity(self, expr):
        return r"I"

    def _print_HadamardProduct(self, expr):
        numerator, denominator = [], []
        for factor in expr.args:
            if isinstance(factor, sympy.HadamardPower) and factor.exp == -1:
                denominator.append(factor.base)
            else:
                numerator.append(factor)
        top = self._hadamard(numerator) if numerator else "1"
        if not denominator:
            return top
        return rf"\frac{{{top}}}{{{self._hadamard(denominator)}}}"

    def _hadamard(self, factors) -> str:
        if len(factors) == 1:
            return self._print(factors[0])
        # Named matrices first: G ⊙ M, X ⊙ (1 - X), as the pages write them.
        factors = sorted(factors, key=lambda f: not isinstance(f, sympy.MatrixSymbol))
        return r" \odot ".join(self._factor(f) for f in factors)

    def _factor(self, factor) -> str:
        """A factor of a product, in parentheses when it is a sum."""
        if isinstance(factor, ElementwiseApplyFunction):
            text = self._print(factor)
            return rf"\left({text}\right)" if " + " in text or " - " in text else text
        if isinstance(factor, (sympy.MatAdd, sympy.MatMul, sympy.Add, sympy.Mul)):
            return rf"\left({self._print(factor)}\right)"
        return self._print(factor)

    def _print_MatAdd(self, expr):
        # Positive terms first: X - T, not -T + X.
        terms = sorted(expr.args, key=_is_negative)
        text = self._print(terms[0])
        for term in terms[1:]:
            if _is_negative(term):
                text += " - " + self.parenthesize(-term, PRECEDENCE["Add"])
            else:
                text += " + " + self._print(term)
        return text

    def _print_Piecewise(self, expr):
        if not self._entrywise or len(expr.args) != 2 or expr.args[1].cond is not sympy.true:
            return super()._print_Piecewise(expr)
        # Entrywise, as Iverson brackets: f(X) = a [X > 0] + b [X <= 0].
        (first, condition), (second, _) = expr.args
        parts = []
        for value, cond in ((first, condition), (second, condition.negated)):
            if value == 0:
                continue
            bracket = rf"[{self._print(cond)}]"
            if value == 1:
                parts.append(bracket)
            else:
                parts.append(rf"{self.parenthesize(value, 50)} \odot {bracket}"
                             if value.free_symbols & set(self._entrywise)
                             else rf"{self._print(value)}\,{bracket}")
        return " + ".join(parts) or "0"

    def _print_HadamardPower(self, expr):
        if expr.exp == -1:
            return rf"\frac{{1}}{{{self._print(expr.base)}}}"
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        return rf"{base}^{{\odot {self._print(expr.exp)}}}"

    def _print_ElementwiseApplyFunction(self, expr):
        (variable,) = expr.function.variables
        saved = dict(self._entrywise)
        self._entrywise[variable] = self._print(expr.expr)
        try:
            return self._print(expr.function.expr)
        finally:
            self._entrywise = saved

    def _print_Mul(self, expr):
        # Read entrywise, a product of factors that vary with the entry is a
        # Hadamard product; constant factors stay plain coefficients.
        varying = [f for f in expr.args if f.free_symbols & set(self._entrywise)]
        if len(varying) < 2:
            return super()._print_Mul(expr)
        constant = [f for f in expr.args if f not in varying]
        # Sums last: sigma(X) ⊙ (1 - sigma(X)), not the other way round.
        varying.sort(key=lambda f: isinstance(f, sympy.Add))
        above = [f for f in varying if not (isinstance(f, sympy.Pow) and f.exp.is_negative)]
        below = [f.base ** -f.exp for f in varying if f not in above]
        text = self._entrywise_product(above) if above else "1"
        if below:
            text = rf"\frac{{{text}}}{{{self._entrywise_product(below)}}}"
        prefix = self._print(sympy.Mul(*constant)) + " " if constant else ""
        return prefix + text

    def _entrywise_product(self, factors) -> str:
        return r" \odot ".join(self.parenthesize(f, PRECEDENCE["Mul"],
                                                 strict=True) if len(factors) > 1
                               else self._print(f) for f in factors)

    def _print_Pow(self, expr):
        if (self._entrywise and expr.base in self._entrywise and expr.exp.is_Integer
                and expr.exp > 0):
            return rf"{self._entrywise[expr.base]}^{{\odot {expr.exp}}}"
        return super()._print_Pow(expr)


def is_decimal(number) -> bool:
    """A rational quoted as a short decimal (0.2, 0.044715); halves and quarters are not."""
    return number.is_Rational and number.q > 4 and 10 ** 8 % number.q == 0


def latex(expr) -> str:
    r"""``expr`` in the project's notation, e.g. ``G W^\top`` for ``G * W.T``.

    Rationals such as 8943/200000 are shown as the decimals they were quoted
    as (0.044715); only the display changes, the checked expression is exact.
    """
    decimals = {r: sympy.Float(r, 15) for r in expr.atoms(sympy.Rational)
                if is_decimal(r)}
    return NotationPrinter().doprint(expr.xreplace(decimals) if decimals else expr)

