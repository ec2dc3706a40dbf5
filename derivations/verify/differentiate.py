r"""Explicit Jacobians by the rules of calculus, each shared part differentiated once.

The Jacobian :math:`J_{ij} = \partial y_i / \partial a_j` of a forward map
written on concrete symbol matrices is what every exact and numeric check
starts from. SymPy's ``diff`` applied entry by entry gets it right but does
the same work many times: the outputs of attention share their softmax
weights :math:`P_{ik} = e^{S_{ik}} / \sum_m e^{S_{im}}`, and each output's
``diff`` differentiates every :math:`P_{ik}` it contains again, for every
entry :math:`a_j`.

:func:`jacobian_matrix` applies the same rules (sum, product, power,
:math:`\exp`, one-argument functions through their own derivative
``fdiff``, anything else through SymPy's ``diff``) with one memo per
argument entry :math:`a_j`, so a subexpression shared by several outputs is
differentiated once. The results are SymPy expressions equal to SymPy's own
derivatives (the exact check proves the stated VJP against them, entry by
entry), not necessarily in the same arrangement.

``Piecewise`` (ReLU, max pooling) is differentiated branch by branch, as
SymPy's rule does, but built unevaluated: SymPy would re-canonicalise every
condition of every new ``Piecewise`` (seconds per max-pooling window), while
unevaluated the conditions stay the very objects of the forward map, so a
stated VJP written with the same conditions cancels against it exactly.
"""

from __future__ import annotations

import sympy


class _Differentiator:
    """``∂e/∂x`` for one symbol ``x``, memoised over the subexpressions ``e``."""

    def __init__(self, symbol: sympy.Symbol, free: dict) -> None:
        self.x, self.free, self.memo = symbol, free, {}

    def depends(self, e: sympy.Basic) -> bool:
        if e not in self.free:
            self.free[e] = e.free_symbols
        return self.x in self.free[e]

    def __call__(self, e: sympy.Expr) -> sympy.Expr:
        if not self.depends(e):
            return sympy.S.Zero
        if e not in self.memo:
            self.memo[e] = self.rule(e)
        return self.memo[e]

    def rule(self, e: sympy.Expr) -> sympy.Expr:
        if e == self.x:
            return sympy.S.One
        if isinstance(e, sympy.Add):
            return sympy.Add(*(self(term) for term in e.args))
        if isinstance(e, sympy.Mul):
            # Product rule: one term per factor that depends on x.
            factors = e.args
            return sympy.Add(*(sympy.Mul(*factors[:k], self(f), *factors[k + 1:])
                               for k, f in enumerate(factors) if self.depends(f)))
        if isinstance(e, sympy.Pow):
            base, exponent = e.args
            if not self.depends(exponent):
                return exponent * base ** (exponent - 1) * self(base)
            return e * (self(exponent) * sympy.log(base) + exponent * self(base) / base)
        if isinstance(e, sympy.exp):
            return e * self(e.args[0])
        if isinstance(e, sympy.Piecewise):
            branches = [(self(branch), condition) for branch, condition in e.args]
            if all(branch == 0 for branch, _ in branches):
                return sympy.S.Zero
            return sympy.Piecewise(*branches, evaluate=False)
        if isinstance(e, sympy.Function) and len(e.args) == 1:
            return e.fdiff(1) * self(e.args[0])
        return e.diff(self.x)


def jacobian_matrix(outputs, arguments) -> sympy.Matrix:
    r"""``J[i, j] = ∂outputs[i] / ∂arguments[j]`` (numerator layout), shared parts once.

    ``outputs`` and ``arguments`` are sequences of SymPy expressions and
    symbols (a flattened matrix: ``list(M)`` is row-major, like ``np.ravel``).
    """
    free: dict = {}
    columns = [[_Differentiator(x, free)(y) for y in outputs] for x in arguments]
    return sympy.Matrix(len(outputs), len(arguments), lambda i, j: columns[j][i])
