r"""The checks: explicit Jacobians, the exact check, the numeric check.

Used alike by the command line, the tests and the site. For an entry ``d``,
an argument ``a`` (input or parameter) and a shape set:

.. math::
    J = \frac{\partial \operatorname{vec} Y}{\partial \operatorname{vec} a}
    \ \text{(numerator layout, row-major vec)}, \qquad
    \text{derived} = \operatorname{reshape}\big(J^\top \operatorname{vec} G\big).

*Exact*: ``stated - derived`` simplifies to zero entry by entry.
*Numeric*: netlib's ``backward`` at a random float64 point, with a random
upstream gradient ``g``, equals the lambdified :math:`J^\top g` to
:data:`NUMERIC_RTOL` (relative to the largest entry).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sympy

from derivations.core import Derivation, Shapes, matrix_shape
from derivations.registry import REGISTRY, get

#: Numeric check tolerance: ``max|netlib - symbolic| <= NUMERIC_RTOL * max|symbolic|``.
#: Both sides are float64 evaluations of the same small expressions (a few
#: dozen flops each on values of order 1), so their rounding errors are a few
#: units of 2**-52 ≈ 2.2e-16; 1e-12 leaves a factor ~1000 for cancellation
#: while any wrong formula (errors of order 1e-2 and more) is far outside.
NUMERIC_RTOL = 1e-12


class StatedShapeError(ValueError):
    """A stated VJP that cannot even be formed (shapes that do not multiply)."""


@dataclass
class ExactResult:
    """Outcome of ``stated == derived`` for one argument at one shape set."""

    entry: str
    wrt: str
    shapes: str
    passed: bool
    stated: sympy.Matrix | None
    derived: sympy.Matrix
    residual: sympy.Matrix | None
    message: str
    seconds: float
    check: str = "vjp"


@dataclass
class NumericResult:
    """Outcome of netlib's backward against the lambdified ``Jᵀ g``."""

    entry: str
    wrt: str
    shapes: str
    max_rel_error: float
    passed: bool
    netlib: np.ndarray
    symbolic: np.ndarray
    seconds: float
    message: str = ""


@dataclass
class CheckRow:
    """One line of ``python -m derivations check``."""

    entry: str
    wrt: str
    shapes: str
    exact: bool
    max_rel_error: float | None
    numeric_passed: bool | None
    seconds: float
    check: str = "vjp"
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.exact and self.numeric_passed is not False

    def as_dict(self) -> dict:
        return {"entry": self.entry, "wrt": self.wrt, "shapes": self.shapes,
                "check": self.check, "exact": self.exact,
                "max_rel_error": self.max_rel_error, "numeric_passed": self.numeric_passed,
                "passed": self.passed, "seconds": self.seconds, "message": self.message}


# -- symbolic pieces ------------------------------------------------------------------
_JACOBIANS: dict = {}
_FUNCTIONS: dict = {}


def _shapes_key(shapes: Shapes) -> tuple:
    return tuple(sorted((name, tuple(shape)) for name, shape in shapes.items()))


def _cache_key(d: Derivation, wrt: str, shapes: Shapes) -> tuple:
    # The Jacobian depends on the forward map and the symbols, not on the
    # stated VJPs, so an entry copied with a wrong stated VJP (a mutant)
    # reuses it. The forward function object itself is kept in the key so
    # that its id cannot be recycled.
    return (d.name, d.forward, d.fixed_constants, wrt, _shapes_key(shapes))


def _check_wrt(d: Derivation, wrt: str) -> None:
    if wrt not in d.inputs:
        raise KeyError(f"{d.describe()}: no input or parameter named {wrt!r}; "
                       f"expected one of {', '.join(d.inputs)}")


def _default_shapes(d: Derivation, shapes: Shapes | None) -> Shapes:
    return d.shape_sets[0] if shapes is None else shapes


def jacobian(d: Derivation, wrt: str, shapes: Shapes | None = None) -> sympy.Matrix:
    r"""The explicit Jacobian :math:`\partial\,\mathrm{vec}\,Y / \partial\,\mathrm{vec}\,a`.

    Numerator layout (outputs index rows), row-major ``vec``, computed by
    ``sympy.Matrix.jacobian`` on the flattened forward map; cached.
    """
    _check_wrt(d, wrt)
    shapes = _default_shapes(d, shapes)
    key = _cache_key(d, wrt, shapes)
    if key not in _JACOBIANS:
        symbols = d.symbols(shapes)
        Y = d.forward(symbols)
        y = Y.reshape(len(Y), 1)                       # row-major, like np.ravel
        a = symbols[wrt].reshape(len(symbols[wrt]), 1)
        _JACOBIANS[key] = y.jacobian(a)
    return _JACOBIANS[key]


def derived_vjp(d: Derivation, wrt: str, shapes: Shapes | None = None) -> sympy.Matrix:
    r"""``reshape(Jᵀ vec(G))``, in the argument's matrix shape (1-D -> a row)."""
    shapes = _default_shapes(d, shapes)
    J = jacobian(d, wrt, shapes)
    G = d.upstream_symbol(shapes)
    return (J.T * G.reshape(len(G), 1)).reshape(*matrix_shape(tuple(shapes[wrt])))


def stated_vjp(d: Derivation, wrt: str, shapes: Shapes | None = None) -> sympy.Matrix:
    """The entry's stated VJP for ``wrt``, formed on the symbols of ``shapes``."""
    _check_wrt(d, wrt)
    shapes = _default_shapes(d, shapes)
    G = d.upstream_symbol(shapes)
    try:
        stated = d.stated_vjp(wrt, G, d.symbols(shapes))
    except (sympy.ShapeError, ValueError, TypeError, IndexError, KeyError,
            AttributeError) as error:
        raise StatedShapeError(f"{d.describe()}: the stated VJP for {wrt} cannot be formed "
                               f"at shapes {d.shape_text(shapes)}: "
                               f"{type(error).__name__}: {error}") from error
    return stated


# -- deciding that an expression is zero ------------------------------------------------
def _exp_atoms_to_symbols(expr: sympy.Expr) -> sympy.Expr:
    """Replace ``exp(c·s)`` by ``u_s**c`` (``u_s > 0``) so that ``cancel`` sees rational functions.

    After this, softmax- and sigmoid-type differences are quotients of
    polynomials, which ``cancel`` decides exactly and fast; ``simplify`` on
    the same expressions takes seconds each.
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


def is_zero(expr: sympy.Expr) -> bool:
    """Decide ``expr == 0`` as cheaply as possible, with ``simplify`` as last resort.

    Tries, in order: structural zero, ``expand``, exp-atoms to symbols then
    ``cancel``. When no function is left after the substitution (softmax,
    sigmoid, tanh, losses), the expression is a rational function and
    ``cancel`` decides exactly, both ways. Otherwise (``Piecewise``, ``log``)
    ``simplify`` is the last resort, and ``False`` means it did not reach zero.
    """
    if expr == 0:
        return True
    if sympy.expand(expr) == 0:
        return True
    rational = _exp_atoms_to_symbols(expr)
    if not rational.atoms(sympy.Function):
        # A rational function of symbols (exponentials now among them):
        # cancel brings it to p/q in lowest terms, so "p == 0" decides both ways.
        return sympy.cancel(sympy.together(rational)) == 0
    if sympy.cancel(sympy.together(rational)) == 0:
        return True
    return sympy.simplify(expr) == 0


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


def _compare(d: Derivation, wrt: str, shapes: Shapes, stated, derived, check: str,
             started: float) -> ExactResult:
    """Compare two matrices of the argument's shape entry by entry."""
    shape = tuple(shapes[wrt])
    text = d.shape_text(shapes)
    if stated is None or not _same_layout(stated, derived, shape):
        got = "could not be formed" if stated is None else f"has shape {stated.shape}"
        message = (f"{d.name}: stated VJP for {wrt} ({d.stated_text(wrt)}) {got}, "
                   f"but {wrt} has shape {shape} (derived: {derived.shape}); at shapes {text}\n"
                   f"  derived =\n{_show(derived)}")
        return ExactResult(d.name, wrt, text, False, stated, derived, None, message,
                           time.perf_counter() - started, check)
    if stated.shape != derived.shape:
        stated = stated.T
    residual = stated - derived
    bad = [(i, j) for i in range(residual.rows) for j in range(residual.cols)
           if not is_zero(residual[i, j])]
    message = "" if not bad else _mismatch_message(d, wrt, shapes, stated, derived, bad)
    return ExactResult(d.name, wrt, text, not bad, stated, derived, residual, message,
                       time.perf_counter() - started, check)


def check_exact_one(d: Derivation, wrt: str, shapes: Shapes) -> ExactResult:
    """``stated == derived`` for one argument at one shape set."""
    started = time.perf_counter()
    derived = derived_vjp(d, wrt, shapes)
    try:
        stated = stated_vjp(d, wrt, shapes)
    except StatedShapeError as error:
        result = _compare(d, wrt, shapes, None, derived, "vjp", started)
        result.message = f"{error}\n{result.message}"
        return result
    return _compare(d, wrt, shapes, stated, derived, "vjp", started)


def _shape_sets(d: Derivation, shapes: Shapes | None) -> tuple:
    return d.shape_sets if shapes is None else (shapes,)


def check_exact(d: Derivation, shapes: Shapes | None = None) -> list[ExactResult]:
    """The exact check for every input, at ``shapes`` or at every shape set."""
    return [check_exact_one(d, wrt, sh) for sh in _shape_sets(d, shapes) for wrt in d.inputs]


# -- both layouts ------------------------------------------------------------------------
def _transposed_shapes(d: Derivation, shapes: Shapes) -> dict:
    other = {}
    for name, shape in shapes.items():
        target = d.transpose_map.get(name, name)
        other[target] = tuple(shape[::-1]) if len(shape) == 2 else tuple(shape)
    return other


def check_transpose(d: Derivation, shapes: Shapes | None = None) -> list[ExactResult]:
    r"""For a column-layout entry: its derived VJPs are the transposes of the row layout's.

    With :math:`X_c = X_r^\top`, :math:`W_c = W_r^\top`, :math:`G_c = G_r^\top`,
    the column entry's ``derived_vjp`` for each argument must equal the
    transpose of the row entry's, after renaming the row entry's symbols to
    the transposed column symbols. Exact, entry by entry.
    """
    if d.transpose_of is None:
        return []
    other = get(d.transpose_of)
    results = []
    for sh in _shape_sets(d, shapes):
        other_shapes = _transposed_shapes(d, sh)
        mine, theirs = d.symbols(sh), other.symbols(other_shapes)
        rename = {}
        for name, other_name in d.transpose_map.items():
            source = theirs[other_name]
            target = mine[name].T if len(sh[name]) == 2 else mine[name]
            rename.update(zip(source, target, strict=True))
        G_other = other.upstream_symbol(other_shapes)
        rename.update(zip(G_other, d.upstream_symbol(sh).T, strict=True))
        for wrt in d.inputs:
            started = time.perf_counter()
            derived = derived_vjp(d, wrt, sh)
            other_vjp = derived_vjp(other, d.transpose_map.get(wrt, wrt), other_shapes)
            as_mine = other_vjp.xreplace(rename)
            as_mine = as_mine.T if len(sh[wrt]) == 2 else as_mine
            result = _compare(d, wrt, sh, as_mine, derived, "transpose", started)
            if not result.passed:
                result.message = (f"{d.name} vs {other.name}: the gradient for {wrt} is not "
                                  f"the transpose of the other layout's\n{result.message}")
            results.append(result)
    return results


# -- numeric ------------------------------------------------------------------------------
def _arguments(d: Derivation) -> tuple[str, ...]:
    """Names whose values a lambdified function takes (inputs, symbolic constants)."""
    return (*d.inputs, *d.symbolic_constants())


def jacobian_function(d: Derivation, wrt: str, shapes: Shapes | None = None):
    """The lambdified Jacobian: ``f(values: dict) -> ndarray (out_size, arg_size)``; cached."""
    shapes = _default_shapes(d, shapes)
    key = _cache_key(d, wrt, shapes)
    if key not in _FUNCTIONS:
        J = jacobian(d, wrt, shapes)
        symbols = d.symbols(shapes)
        names = _arguments(d)
        flat = [list(symbols[name]) for name in names]
        compiled = sympy.lambdify(flat, J, modules="numpy", cse=True)

        def evaluate(values, compiled=compiled, names=names, size=J.shape):
            args = [np.asarray(values[name], dtype=np.float64).ravel() for name in names]
            out = np.asarray(compiled(*args), dtype=np.float64)
            return np.broadcast_to(out, size) if out.shape != size else out

        _FUNCTIONS[key] = evaluate
    return _FUNCTIONS[key]


def jacobian_numpy(d: Derivation, wrt: str, shapes: Shapes | None = None, values=None,
                   seed: int = 0) -> np.ndarray:
    """The Jacobian as a float64 array at ``values`` (sampled if omitted), for heat maps."""
    shapes = _default_shapes(d, shapes)
    if values is None:
        values = sample_values(d, shapes, np.random.default_rng(seed))
    return jacobian_function(d, wrt, shapes)(values)


def sample_values(d: Derivation, shapes: Shapes, rng: np.random.Generator) -> dict:
    """Random float64 values of every argument (fixed constants at their fixed values)."""
    values = {name: np.asarray(value, dtype=np.float64)
              for name, value in d.sample(rng, shapes).items()}
    values.update(d.fixed_values(shapes))
    return values


def netlib_vjp(d: Derivation, values: dict, g) -> dict[str, np.ndarray]:
    """Run netlib's forward then backward(g); the gradient of every input, by name.

    Layers: ``forward(values[d.forward_arg])``, ``backward(g)``, returning
    ``{"x": dx, **grads}``. Losses: ``forward(values["x"], target)``,
    ``backward(g)`` with the scalar ``g``. An entry's ``run`` overrides both.
    """
    obj = d.build(values)
    if d.run is not None:
        return d.run(obj, values, g)
    if d.kind == "loss":
        target = d.netlib_target(values) if d.netlib_target else values["t"]
        obj.forward(values[d.forward_arg], target)
        return {d.forward_arg: obj.backward(float(np.asarray(g).reshape(())))}
    obj.forward(values[d.forward_arg])
    dx = obj.backward(g)
    return {d.forward_arg: dx, **{name: np.array(v) for name, v in obj.grads.items()}}


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """``max|actual - expected| / max|expected|`` (absolute if ``expected`` is all 0)."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    error = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    return error / scale if scale > 0 else error


def check_numeric(d: Derivation, shapes: Shapes | None = None,
                  rng: np.random.Generator | None = None) -> list[NumericResult]:
    """netlib's backward against the lambdified ``Jᵀ g`` at a random point, per input."""
    rng = np.random.default_rng(0) if rng is None else rng
    results = []
    for sh in _shape_sets(d, shapes):
        text = d.shape_text(sh)
        values = sample_values(d, sh, rng)
        out_shape = d.output_shape(sh)
        # A random upstream gradient: all-ones would hide wrong-axis sums.
        g = rng.standard_normal(()) if d.kind == "loss" else rng.standard_normal(out_shape)
        started = time.perf_counter()
        computed = netlib_vjp(d, values, g)
        shared = time.perf_counter() - started
        for wrt in d.inputs:
            started = time.perf_counter()
            J = jacobian_function(d, wrt, sh)(values)
            expected = (J.T @ np.ravel(g)).reshape(sh[wrt])
            actual = np.asarray(computed.get(wrt, np.full(sh[wrt], np.nan)), dtype=np.float64)
            if wrt not in computed:
                error, message = float("inf"), (
                    f"{d.name}: netlib returned no gradient for {wrt} "
                    f"(got gradients for {', '.join(computed) or 'nothing'})")
            elif actual.shape != expected.shape:
                error, message = float("inf"), (
                    f"{d.name}: netlib's gradient for {wrt} has shape {actual.shape}, "
                    f"expected {expected.shape}")
            else:
                error = relative_error(actual, expected)
                message = "" if error <= NUMERIC_RTOL else (
                    f"{d.name}: netlib backward for {wrt} vs lambdified Jᵀg at shapes {text}: "
                    f"max relative error {error:.3e} > {NUMERIC_RTOL:g}\n"
                    f"  netlib   = {np.array2string(actual.ravel(), precision=6)}\n"
                    f"  symbolic = {np.array2string(expected.ravel(), precision=6)}")
            results.append(NumericResult(d.name, wrt, text, error, error <= NUMERIC_RTOL,
                                         actual, expected,
                                         shared / len(d.inputs) + time.perf_counter() - started,
                                         message))
    return results


# -- everything ----------------------------------------------------------------------------
def check_entry(d: Derivation, seed: int = 0) -> list[CheckRow]:
    """All checks of one entry: a row per (input, shape set), then transpose rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for sh in d.shape_sets:
        exact = check_exact(d, sh)
        numeric = check_numeric(d, sh, rng)
        for e, n in zip(exact, numeric, strict=True):
            message = "\n".join(m for m in (e.message, n.message) if m)
            rows.append(CheckRow(d.name, e.wrt, e.shapes, e.passed, n.max_rel_error, n.passed,
                                 e.seconds + n.seconds, "vjp", message))
    for t in check_transpose(d):
        rows.append(CheckRow(d.name, t.wrt, t.shapes, t.passed, None, None, t.seconds,
                             f"transpose of {d.transpose_of}", t.message))
    return rows


def run_checks(names: Iterable[str] | None = None, seed: int = 0) -> list[CheckRow]:
    """Every check of every (or the named) registry entry, as table rows."""
    selected = list(REGISTRY) if names is None else list(names)
    rows = []
    for name in selected:
        rows.extend(check_entry(get(name), seed))
    return rows
