r"""The verification engine: every check of the project, used by the CLI, the
tests, the site, the mutation catalogue and the user-facing checkers alike.

For an entry ``d`` (a :class:`~derivations.core.Derivation`), an argument
``a`` (input or parameter) and one of its non-square shape sets:

.. math::
    J = \frac{\partial \operatorname{vec} Y}{\partial \operatorname{vec} a}
    \ \text{(numerator layout, row-major vec)},

    \text{derived} = \operatorname{reshape}\big(J^\top \operatorname{vec} G\big).

What each check proves, and to what tolerance
---------------------------------------------
``exact`` (:func:`check_exact`, :func:`check_exact_one`)
    The stated VJP (``d.stated_vjp``, made concrete on the symbols) equals
    ``derived``: their difference is zero entry by entry
    (:func:`is_zero`, :mod:`derivations.verify.zero`). A proof, no tolerance.
``transpose`` (:func:`check_transpose`)
    A column-layout entry's derived VJPs are the transposes of its
    row-layout twin's, symbols renamed. A proof, no tolerance.
``numeric`` (:func:`check_numeric`)
    netlib's ``backward`` at a random float64 point, with a random upstream
    gradient ``g``, equals the lambdified :math:`J^\top g` (evaluated in
    extended precision) to :data:`NUMERIC_RTOL` (``1e-12``) relative, or to
    ``ROUNDING_FACTOR`` times what float64 rounding costs :math:`J^\top g` at
    that point where that is larger (terms that cancel;
    :func:`~derivations.verify.numeric.reference_vjp`): rounding usually stays
    near :math:`10^{-15}`, while a wrong formula errs by :math:`10^{-2}` or more.
``forward`` (:func:`check_forward`)
    netlib's ``forward`` equals the lambdified SymPy forward map (what was
    differentiated is what netlib computes), same tolerance and reason.
``finite differences`` (:func:`check_finite_differences`)
    netlib's ``backward`` against central differences of netlib's own
    ``forward``, by netlib's one finite-difference engine
    (:func:`netlib.gradcheck.check_layer`), whose tolerance
    :math:`100\,\epsilon^{2/3}(\Gamma + F/s)` is derived there.

Relative error is one definition everywhere,
:func:`netlib.gradcheck.relative_error`: ``max|actual - expected| /
max|expected|`` (its ratio stated once in ``netlib/gradcheck/rule.py``, which
``derive`` also uses without numpy). Every check reports :class:`CheckRow`
values (``entry, wrt, shapes, check, passed, max_rel_error, seconds,
message``, and for ``derive``'s confirmation ``tolerance, margin, measure,
hint``; ``as_dict()``).

Running them
------------
:func:`check_entry` (all checks of one entry), :func:`run_checks` (the
registry, ``jobs`` worker processes, ``on_entry`` called as each finishes).

Pieces
------
:func:`jacobian`, :func:`derived_vjp`, :func:`stated_vjp` (raises
:class:`StatedShapeError`), :func:`is_zero`; :func:`jacobian_function`
(lambdified, ``f(values) -> (out, arg) array``), :func:`jacobian_numpy`,
:func:`sample_values`, :func:`draw_point` (values and a random ``g``),
:func:`expected_vjp` (``reshape(J(values)ᵀ g)``), :func:`netlib_vjp`,
:func:`netlib_forward`, :func:`sympy_forward`, :func:`finite_difference_check`
(a :class:`~netlib.gradcheck.GradcheckReport`).

SymPy results (Jacobians, their generated numpy code, exact verdicts) are
cached in memory and on disk, keyed by everything they depend on
(:mod:`derivations.verify.cache`); ``cache.configure(enabled=False)`` bypasses it.

The names are imported on first use (PEP 562): ``derive`` imports
:mod:`derivations.verify.rows` where there is no numpy (the browser), and
importing this package must not pull numpy and netlib in on the way.
"""

from __future__ import annotations

import importlib

#: Public name -> the module of this package that defines it.
_HOME = {
    "cache": "cache",
    "check_finite_differences": "finite_differences", "finite_difference_check":
    "finite_differences",
    "check_forward": "forward", "sympy_forward": "forward",
    **dict.fromkeys(("check_numeric", "draw_point", "expected_vjp", "jacobian_function",
                     "jacobian_numpy", "netlib_forward", "netlib_vjp", "sample_values"),
                    "numeric"),
    **dict.fromkeys(("KINDS", "MEASURES", "NUMERIC_RTOL", "CheckRow"), "rows"),
    **dict.fromkeys(("check_entry", "default_jobs", "run_checks"), "run"),
    **dict.fromkeys(("StatedShapeError", "check_exact", "check_exact_one", "check_transpose",
                     "derived_vjp", "jacobian", "stated_vjp"), "symbolic"),
    "is_zero": "zero",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    value = module if name == _HOME[name] else getattr(module, name)
    globals()[name] = value          # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
