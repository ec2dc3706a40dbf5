"""The exact zero test: the fast proof in Q(t) (python-flint) and SymPy's fallback.

The fast path may only ever say "zero" for expressions that are identically
zero; everything it cannot prove goes to SymPy, which decides. These tests
pin both halves: identities the fast path must prove (else the check's speed
is silently lost), non-identities it must never prove, and the registry's
residuals, all of which it proves today.
"""

from __future__ import annotations

import pytest
import sympy

from derivations.registry import REGISTRY, get
from derivations.verify import derived_vjp, is_zero, stated_vjp, zero

x, y, z = sympy.symbols("x y z")
sigma = 1 / (1 + sympy.exp(-x))
softmax_0 = sympy.exp(x) / (sympy.exp(x) + sympy.exp(y))

IDENTITIES = [
    (x + y) ** 2 - x**2 - 2 * x * y - y**2,
    sigma * (1 - sigma) - sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2,
    # SymPy writes exp(x)·exp(y) as exp(x + y): the fast path must see them as equal.
    sympy.exp(x) * sympy.exp(y) - sympy.exp(x + y),
    sympy.diff(softmax_0, x) - softmax_0 * (1 - softmax_0),
    # Scaled scores, as attention's 1/sqrt(d_h) makes them.
    sympy.exp(sympy.sqrt(3) * x * y / 3) ** 2 - sympy.exp(2 * sympy.sqrt(3) * x * y / 3),
    1 - sympy.tanh(x) ** 2 - 4 / (sympy.exp(x) + sympy.exp(-x)) ** 2,
    sympy.cosh(x) ** 2 - sympy.sinh(x) ** 2 - 1,
    # One root variable per value of the base, however the base is written.
    sympy.sqrt(x * y + x) - sympy.sqrt(x * (y + 1)),
    (x * y + x) ** sympy.Rational(3, 2) - sympy.sqrt(x * (y + 1)) ** 3,
    sympy.erf(x * y) * (x + 1) - sympy.erf(y * x) * x - sympy.erf(x * y),
]

NON_IDENTITIES = [
    (x + y) ** 2 - x**2 - y**2,
    sigma - sympy.Rational(1, 2),
    softmax_0 - sympy.Rational(1, 2),
    sympy.exp(x) * sympy.exp(y) - sympy.exp(x * y),
    sympy.exp(x / 2) - sympy.exp(x / 3),
    sympy.tanh(x) - x,
    sympy.sqrt(x) - x,
    sympy.Piecewise((x, x > y), (y, True)) - x,
    sympy.erf(x) - sympy.erf(y),
]


@pytest.mark.skipif(zero.flint is None, reason="python-flint is not installed")
@pytest.mark.parametrize("expr", IDENTITIES, ids=range(len(IDENTITIES)))
def test_fast_path_proves_identities(expr):
    assert zero.proved_zero([expr]) == [True]


@pytest.mark.parametrize("expr", NON_IDENTITIES, ids=range(len(NON_IDENTITIES)))
def test_nothing_proves_a_non_identity(expr):
    assert zero.proved_zero([expr]) == [False]
    assert not is_zero(expr)


@pytest.mark.parametrize("expr", IDENTITIES[:4] + IDENTITIES[6:7], ids=range(5))
def test_sympy_alone_decides_without_flint(monkeypatch, expr):
    monkeypatch.setattr(zero, "flint", None)
    assert zero.proved_zero([expr]) == [False]
    assert is_zero(expr)


def test_many_atoms_get_more_variables():
    """More distinct atoms than the first allocation (64) still evaluate."""
    symbols = sympy.symbols("a0:200")
    expr = sum(sympy.exp(s) for s in symbols)
    assert zero.proved_zero([expr - sum(sympy.exp(s) for s in reversed(symbols)),
                             expr]) == [True, False]


@pytest.mark.skipif(zero.flint is None, reason="python-flint is not installed")
@pytest.mark.parametrize("name", [n for n in REGISTRY if get(n).shape_sets])
def test_fast_path_proves_every_registry_residual(name):
    """Every entry's stated − derived is proved zero without SymPy's rewriting.

    This is what keeps the cold ``derivations check`` within its time target:
    a residual left to ``simplify`` costs seconds per entry.
    """
    d = get(name)
    shapes = d.shape_sets[0]
    residuals = []
    for wrt in d.inputs:
        stated, derived = stated_vjp(d, wrt, shapes), derived_vjp(d, wrt, shapes)
        stated = stated if stated.shape == derived.shape else stated.T
        residuals += list(stated - derived)
    assert all(zero.proved_zero(residuals))


def test_text_is_refused_not_parsed():
    """A string is never parsed (parsing would go through eval)."""
    with pytest.raises(sympy.SympifyError):
        zero.proved_zero(["x - x"])
