r"""Deciding that a SymPy expression is zero: an exact fast path, then SymPy's own.

The exact check asks, entry by entry, whether ``stated - derived`` is zero.
SymPy's ``expand``/``cancel``/``simplify`` decide it, but spend most of their
time rewriting expression trees: about ten seconds an entry for attention's
gradients at :math:`d_h = 3`.

:func:`proved_zero` decides the same question by *evaluating* the expression
in a field of rational functions, :math:`\mathbb{Q}(t_1, \dots, t_k)`, with
FLINT's multivariate polynomials (``python-flint``):

* each symbol is a variable :math:`t_i`;
* each exponential :math:`\exp(\sum_m c_m m)` of a polynomial (:math:`m` its
  monomials) is the product :math:`\prod_m u_m^{c_m / c^0_m}` of one variable
  :math:`u_m = \exp(c^0_m m)` per monomial (:math:`c^0_m` the coefficient it
  was first seen with), so that :math:`e^{a}e^{b}` and :math:`e^{a+b}` agree;
* :math:`\tanh, \sinh, \cosh` are written with exponentials;
* a root :math:`b^{p/q}` is :math:`r^p` with one variable :math:`r = b^{1/q}`
  per (canonical) base :math:`b` and :math:`q`;
* any other function, :math:`f(a_1, \dots)`, is one variable per ``f`` and
  canonical (reduced) arguments; anything else at all (``Piecewise``, ...) is
  one variable per distinct expression.

Every replacement keeps equal values equal, so if the result is the zero
rational function, the expression is identically zero: a proof. The converse
does not hold (relations such as :math:`r^2 = b` are forgotten), so a nonzero
result proves nothing and the caller falls back to SymPy, which decides. Only
the fast *yes* is new; every *no* still comes from SymPy.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy
from sympy.core.sympify import _sympify

try:  # Optional: without FLINT (e.g. in the browser), SymPy decides alone.
    import flint
    from flint.utils.flint_exceptions import DomainError
except ImportError:  # pragma: no cover - exercised where python-flint is absent
    flint = None


class _Undecided(Exception):
    """The fast path cannot represent this expression (``I``, ``oo``, a zero divisor)."""


class _OutOfVariables(Exception):
    """More distinct atoms than variables allocated; retried with more."""


class _RationalFunctions:
    r"""Evaluates SymPy expressions to fractions ``(numerator, denominator)`` of polynomials.

    Variables are handed out as atoms are met (one FLINT context of ``size``
    variables, allocated up front); results are memoised per subexpression,
    so a residual matrix's shared subtrees are evaluated once.
    """

    def __init__(self, size: int) -> None:
        self.context = flint.fmpq_mpoly_ctx.get(tuple(f"t{i}" for i in range(size)))
        self.unused = list(reversed(self.context.gens()))
        self.one = self.context.from_dict({(0,) * size: 1})
        self.variables: dict = {}
        self.exponentials: dict = {}
        self.memo: dict = {}

    # -- variables --------------------------------------------------------------------
    def variable(self, key):
        """The variable standing for the atom ``key`` (a new one the first time)."""
        if key not in self.variables:
            if not self.unused:
                raise _OutOfVariables
            self.variables[key] = self.unused.pop()
        return self.variables[key]

    def constant(self, value: sympy.Rational):
        return self.one * flint.fmpq(int(value.p), int(value.q))

    def canonical(self, fraction) -> tuple[str, str]:
        """A key for a fraction's value: lowest terms, monic denominator, as text."""
        numerator, denominator = fraction
        common = numerator.gcd(denominator)
        if not common.is_one():
            numerator, denominator = numerator / common, denominator / common
        lead = denominator.leading_coefficient()
        return str(numerator / lead), str(denominator / lead)

    # -- arithmetic on fractions ------------------------------------------------------
    def add(self, first, second):
        (n1, d1), (n2, d2) = first, second
        if d1 == d2:
            return n1 + n2, d1
        common = d1.gcd(d2)
        a, b = d1 / common, d2 / common
        return n1 * b + n2 * a, a * d2

    @staticmethod
    def multiply(first, second):
        return first[0] * second[0], first[1] * second[1]

    def power(self, fraction, exponent: int):
        numerator, denominator = fraction
        if exponent < 0:
            if numerator.is_zero():
                raise _Undecided("division by zero")
            numerator, denominator, exponent = denominator, numerator, -exponent
        return numerator ** exponent, denominator ** exponent

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, expr: sympy.Expr):
        """``expr`` as a fraction of FLINT polynomials."""
        if expr in self.memo:
            return self.memo[expr]
        value = self._evaluate(expr)
        self.memo[expr] = value
        return value

    def _evaluate(self, expr):
        if expr.is_Rational:
            return self.constant(expr), self.one
        if expr.is_Float:
            # The float's exact binary value: the same float is the same number.
            return self.constant(sympy.Rational(expr)), self.one
        if expr.is_Add or expr.is_Mul:
            combine = self.add if expr.is_Add else self.multiply
            values = [self.evaluate(arg) for arg in expr.args]
            result = values[0]
            for value in values[1:]:
                result = combine(result, value)
            return result
        if expr.is_Pow:
            return self._power(expr)
        if isinstance(expr, sympy.exp):
            return self._exponential(expr.args[0])
        if isinstance(expr, (sympy.tanh, sympy.sinh, sympy.cosh)):
            return self._hyperbolic(expr)
        if expr.is_Number or expr.has(sympy.I, sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
            raise _Undecided(f"cannot represent {expr}")
        if isinstance(expr, sympy.Function) and expr.args:
            key = (expr.func, *(self.canonical(self.evaluate(arg)) for arg in expr.args))
            return self.variable(key), self.one
        # Symbols, matrix entries, Piecewise, relations...: one variable per expression.
        return self.variable(expr), self.one

    def _power(self, expr):
        base, exponent = expr.args
        if base is sympy.E:
            return self._exponential(exponent)
        if exponent.is_Integer:
            return self.power(self.evaluate(base), int(exponent))
        if exponent.is_Rational:
            root = self.variable(("root", int(exponent.q), self.canonical(self.evaluate(base))))
            return self.power((root, self.one), int(exponent.p))
        return self.variable(expr), self.one

    def _hyperbolic(self, expr):
        # tanh a = (e^{2a} - 1)/(e^{2a} + 1), sinh a = (e^{2a} - 1)/(2 e^a),
        # cosh a = (e^{2a} + 1)/(2 e^a): then 1 - tanh² meets the exponentials.
        a = self.evaluate(expr.args[0])
        e_a = self._exponential_of(a)
        e_2a = self.multiply(e_a, e_a)
        minus, plus = self.add(e_2a, (-self.one, self.one)), self.add(e_2a, (self.one, self.one))
        if isinstance(expr, sympy.tanh):
            return self.multiply(minus, self.power(plus, -1))
        twice = self.multiply((self.one * 2, self.one), e_a)
        return self.multiply(minus if isinstance(expr, sympy.sinh) else plus,
                             self.power(twice, -1))

    def _exponential(self, argument):
        return self._exponential_of(self.evaluate(argument))

    def _exponential_of(self, fraction):
        numerator, denominator = fraction
        if not denominator.is_constant():
            return self.variable(("exp", self.canonical((numerator, denominator)))), self.one
        scale = denominator.leading_coefficient()
        result = (self.one, self.one)
        for monomial, coefficient in (numerator / scale).terms():
            first = self.exponentials.setdefault(monomial, coefficient)
            ratio = coefficient / first
            if ratio.q == 1:     # exp(k c m) = exp(c m)^k
                factor = self.power((self.variable(("exp", monomial)), self.one), int(ratio.p))
            else:
                factor = (self.variable(("exp", monomial, str(coefficient))), self.one)
            result = self.multiply(result, factor)
        return result


def proved_zero(expressions: Iterable[sympy.Expr]) -> list[bool]:
    """For each expression, ``True`` when the fast path proves it zero, else ``False``.

    ``False`` means "not proved here", never "nonzero". All expressions share
    one field, so common subexpressions are evaluated once. Without
    ``python-flint`` every answer is ``False``.
    """
    expressions = list(expressions)
    if flint is None:
        return [False] * len(expressions)
    size = 64
    while True:
        field = _RationalFunctions(size)
        try:
            return [_zero_in(field, expr) for expr in expressions]
        except _OutOfVariables:
            size *= 4


def _zero_in(field: _RationalFunctions, expr: sympy.Expr) -> bool:
    try:
        # Strict: SymPy objects and numbers only, never text (no parsing, no eval).
        return field.evaluate(_sympify(expr))[0].is_zero()
    except (_Undecided, DomainError, ZeroDivisionError):
        return False


# -- SymPy's decision, for what the fast path does not prove ------------------------------
def exp_atoms_to_symbols(expr: sympy.Expr) -> sympy.Expr:
    """Replace ``exp(c·s)`` by ``u_s**c`` (``u_s > 0``) so that ``cancel`` sees rational functions.

    After this, softmax- and sigmoid-type differences are quotients of
    polynomials, which ``cancel`` decides exactly; ``simplify`` on the same
    expressions takes seconds each.
    """
    expr = expr.rewrite(sympy.exp) if expr.has(sympy.tanh, sympy.cosh, sympy.sinh) else expr
    replacements = {}
    bases: dict = {}
    for atom in expr.atoms(sympy.exp):
        factors = []
        for term in sympy.Add.make_args(sympy.expand(atom.args[0])):
            coeff, rest = term.as_coeff_Mul()
            if not (rest.is_Symbol and coeff.is_Rational):
                break
            base = bases.setdefault(rest, sympy.Symbol(f"u_{{{rest.name}}}", positive=True))
            factors.append(base ** coeff)
        else:
            replacements[atom] = sympy.Mul(*factors)
    return expr.xreplace(replacements)


def sympy_is_zero(expr: sympy.Expr) -> bool:
    """Decide ``expr == 0`` with SymPy, cheapest rewriting first, ``simplify`` last.

    Tries, in order: ``expand`` without splitting ``exp(a + b)`` into
    products (splitting blows attention's softmax terms up several-fold and
    never helps a zero appear), exp-atoms to symbols then ``cancel``. When no
    function is left after the substitution (softmax, sigmoid, tanh, losses),
    the expression is a rational function and ``cancel`` decides exactly,
    both ways. Otherwise (``Piecewise``, ``log``) ``simplify`` is the last
    resort, and ``False`` means it did not reach zero.
    """
    if sympy.expand(expr, power_exp=False, power_base=False, log=False) == 0:
        return True
    rational = exp_atoms_to_symbols(expr)
    if not rational.atoms(sympy.Function):
        # A rational function of symbols (exponentials now among them):
        # cancel brings it to p/q in lowest terms, so "p == 0" decides both ways.
        return sympy.cancel(sympy.together(rational)) == 0
    if sympy.cancel(sympy.together(rational)) == 0:
        return True
    return sympy.simplify(expr) == 0


def zero_entries(expressions: Iterable[sympy.Expr]) -> list[bool]:
    """``expr == 0`` for each expression: the fast proof first, SymPy for the rest."""
    expressions = list(expressions)
    fast = proved_zero(expressions)
    return [True if proved or expr == 0 else sympy_is_zero(expr)
            for expr, proved in zip(expressions, fast, strict=True)]


def is_zero(expr: sympy.Expr) -> bool:
    """``expr == 0``, decided exactly (see the module docstring)."""
    return expr == 0 or zero_entries([expr])[0]
