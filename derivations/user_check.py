r"""Check *your* backward function against a registry derivation, symbolically.

Where :func:`netlib.gradcheck.check_gradients` compares your backward with
finite differences of your forward, :func:`check_against` compares it with the
VJP that SymPy derives from the registry entry's definition,

.. math:: \text{expected} = \operatorname{reshape}\big(J^\top \operatorname{vec} g\big),
          \qquad J = \frac{\partial \operatorname{vec} y}{\partial \operatorname{vec} a}
          \ \text{(lambdified, float64)},

at random points of the entry's sampling domain, with random upstream
gradients, at every shape set of the entry (non-square). No forward of yours
is needed, and the reference has no truncation error: an entry passes when
:math:`|a - \text{expected}| \le` ``NUMERIC_RTOL`` :math:`\cdot \max|\text{expected}|`
(``1e-12``, see :mod:`derivations.verify`).

Shapes and hyperparameters are yours to choose: ``shapes=`` (one shape set,
in the entry's row layout; entries whose geometry is tied to their shape sets,
convolution and pooling, accept only those) and ``hyper=`` (the values your
code uses: LeakyReLU's and ELU's ``alpha``, a normalisation's ``eps``,
dropout's ``p``; :func:`hyperparameters` lists them). The upstream gradient
``g`` arrives in the layer's output shape (NCHW for a convolution) and an
embedding's indices as integers.

Layouts: registry entries are in row layout unless their name says otherwise.
With ``layout="columns"`` every 2-D argument, upstream gradient and gradient
is the transpose of the entry's (``x`` is ``(features, batch)``, a dense
``W`` is ``(out, in)``); 1-D arguments (a bias) are unchanged.

Examples
--------
Seed B's column-layout dense backward, against the registry's ``dense``:

>>> from derivations.user_check import check_against
>>> def backward(g, x, W, b):            # x (in, batch), W (out, in), g (out, batch)
...     return {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)}
>>> check_against("dense", backward, layout="columns").passed
True

and the row-layout formula for ``dW`` pasted into it:

>>> def wrong(g, x, W, b):
...     return {"x": W.T @ g, "W": x @ g.T, "b": g.sum(axis=1)}
>>> report = check_against("dense", wrong, layout="columns")
>>> report.passed, [(c.name, c.where) for c in report.failures()]
(False, [('W', 'shape set 1'), ('W', 'shape set 2')])
>>> "transpose of derived" in report["W"].hint
True
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from contextlib import contextmanager

import numpy as np
import sympy

from derivations.core import Derivation
from derivations.notation import is_expression
from derivations.registry import get
from derivations.verify import NUMERIC_RTOL, draw_point, netlib_forward
from derivations.verify.differentiate import jacobian_matrix
from derivations.verify.numeric import arguments, reference_vjp, vjp_with_tolerance
from netlib.gradcheck import GradcheckReport, compare_gradient, missing_hint, relative_error

LAYOUTS = ("rows", "columns")


def _to_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """An entry's (row-layout) array as the user's layout sees it, and back."""
    array = np.asarray(array)
    return array.T if layout == "columns" and array.ndim == 2 else array


def hyperparameters(entry: str) -> dict[str, object]:
    """The hyperparameters of ``entry`` that your code must match, with their values.

    Numbers (``alpha``, ``eps``, ``p``) can be overridden with ``hyper=`` in
    :func:`check_against`; descriptions (a convolution's stride and padding
    per shape set) are fixed by the entry's shape sets.

    >>> hyperparameters("leaky_relu"), hyperparameters("dropout")
    ({'alpha': 0.2}, {'p': 0.4, 'seed': 7})
    """
    d = get(entry)
    return {name: _plain(value) for name, value in d.hyper.items()}


def _plain(value):
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, sympy.Rational | sympy.Float):
        return float(value)
    return value


def _is_number(value) -> bool:
    return isinstance(value, int | float | sympy.Rational | sympy.Float) and \
        not isinstance(value, bool)


@contextmanager
def _hyper_patched(d: Derivation, hyper: Mapping[str, object]):
    """Yield the entry with ``hyper``'s values in place of its own.

    A forward map written as a matrix expression holds the constant as an
    atom (and its negative, where SymPy distributed it over a sum): both are
    replaced. Forward maps written as functions, the sampling and ``build``
    read module constants when called: those constants are set for the
    duration. :func:`_confirm_forward` then checks the result against netlib.
    """
    patches, atoms = [], {}
    for name, value in hyper.items():
        old = d.hyper[name]
        new = sympy.Rational(str(value)) if isinstance(old, sympy.Basic) else type(old)(value)
        if isinstance(old, sympy.Basic):
            atoms.update({old: new, -old: -new})
        for module in [m for key, m in sys.modules.items()
                       if key.startswith("derivations.layers.")]:
            for attribute, held in list(vars(module).items()):
                if held is old and attribute.isupper():
                    patches.append((module, attribute, old))
                    setattr(module, attribute, new)
    try:
        if atoms and is_expression(d.forward):
            d = dataclasses.replace(d, forward=d.forward.xreplace(atoms))
        yield d
    finally:
        for module, attribute, old in reversed(patches):
            setattr(module, attribute, old)


def _confirm_forward(d: Derivation, shapes, values: dict, y: np.ndarray) -> None:
    """The overridden SymPy forward map equals netlib's layer built with the same
    hyperparameters at the sampled point, or the override did not take."""
    symbols = d.symbols(shapes)
    names = arguments(d)
    function = sympy.lambdify([list(symbols[n]) for n in names],
                              sympy.Matrix(list(d.forward_of(symbols))), modules="numpy")
    mine = np.asarray(function(*[np.ravel(values[n]) for n in names]), dtype=np.float64)
    if relative_error(mine.ravel(), np.ravel(y)) > NUMERIC_RTOL:
        raise ValueError(f"check_against: could not set {d.name!r}'s hyperparameters: its "
                         f"derivation and netlib disagree after the change")


def _check_hyper(d: Derivation, hyper) -> dict:
    hyper = dict(hyper or {})
    numbers = {k for k, v in d.hyper.items() if _is_number(v)}
    for name, value in hyper.items():
        if name not in d.hyper:
            raise KeyError(f"check_against: {name!r} is not a hyperparameter of {d.name!r}; "
                           f"its hyperparameters: {hyperparameters(d.name) or 'none'}")
        if name not in numbers:
            raise ValueError(f"check_against: {d.name!r}'s {name!r} ({d.hyper[name]}) is "
                             f"fixed by its shape sets and cannot be overridden")
        if not _is_number(value) or not np.isfinite(float(value)):
            raise TypeError(f"check_against: expected hyper {name!r} as a finite number, "
                            f"got {value!r}")
    return hyper


def _check_shapes(d: Derivation, shapes) -> tuple[dict, ...]:
    """The shape sets to check at: the entry's own, or ``shapes`` (checked here)."""
    if shapes is None:
        return tuple(d.shape_sets)
    shapes = {name: tuple(int(n) for n in np.atleast_1d(shape))
              for name, shape in dict(shapes).items()}
    needed = (*d.inputs, *d.constants)
    missing, unknown = set(needed) - set(shapes), set(shapes) - set(needed)
    if missing or unknown:
        raise ValueError(f"check_against: expected shapes for {list(needed)} of {d.name!r}, "
                         f"got {sorted(shapes)} (missing {sorted(missing)}, unknown "
                         f"{sorted(unknown)})")
    try:
        d.output_shape(shapes)
    except Exception as error:                  # the entry's own operators refuse them
        own = "; ".join(d.shape_text(sh) for sh in d.shape_sets)
        raise ValueError(f"check_against: {d.name!r} cannot be derived at shapes "
                         f"{d.shape_text(shapes)} ({type(error).__name__}: {error}). Its "
                         f"shape sets are: {own}") from None
    return (shapes,)


def _expected(d: Derivation, wrt: str, shapes, values, g,
              fresh: bool) -> tuple[np.ndarray, float]:
    """``reshape(J^T vec g)`` and its relative tolerance (:func:`reference_vjp`); with
    overridden hyperparameters, from a fresh Jacobian (the cached one holds the
    entry's own values)."""
    if not fresh:
        return reference_vjp(d, wrt, shapes, values, g)
    symbols = d.symbols(shapes)
    J = jacobian_matrix(list(d.forward_of(symbols)), list(symbols[wrt]))
    names = arguments(d)
    function = sympy.lambdify([list(symbols[n]) for n in names], J, modules="numpy")

    def jacobian(point, dtype):
        return np.asarray(function(*[np.ravel(point[n]).astype(dtype) for n in names]),
                          dtype=dtype)

    return vjp_with_tolerance(jacobian, values, g, shapes[wrt])


def _user_values(d: Derivation, values: dict, layout: str, rename: dict) -> dict:
    """The point as your backward gets it: your names, your layout, integer indices."""
    result = {}
    for name, value in values.items():
        if name in d.constants and name == d.forward_arg:      # an embedding's indices
            value = np.asarray(value).astype(np.int64)
        result[rename.get(name, name)] = _to_layout(value, layout)
    return result


def check_against(entry: str, backward: Callable, *, layout: str = "rows", rng=0,
                  names: Mapping[str, str] | None = None,
                  shapes: Mapping[str, tuple] | None = None,
                  hyper: Mapping[str, float] | None = None) -> GradcheckReport:
    """Check ``backward`` against the derived VJP of registry entry ``entry``.

    Parameters
    ----------
    entry : str
        Registry name (``"dense"``, ``"softmax"``, ``"mse"``...).
    backward : callable
        ``backward(g, **arguments)`` returning a dict ``name -> gradient`` (or
        a tuple in the order of the entry's inputs). ``g`` has the layer's
        output shape (a float for a loss); ``arguments`` are the entry's
        inputs and constants (a loss's target ``t``), in ``layout``.
    layout : {"rows", "columns"}
        The layout your code uses (see the module docstring).
    rng : int or Generator
        Seed of the sampled points and upstream gradients.
    names : dict, optional
        The entry's argument names mapped to yours (``{"x": "X"}``).
    shapes : dict, optional
        One shape set (in the entry's row layout) instead of the entry's own.
    hyper : dict, optional
        Your values of the entry's numeric hyperparameters (:func:`hyperparameters`).

    Returns
    -------
    GradcheckReport
        One row per input and parameter per shape set (mode ``"symbolic"``);
        the worst entry, yours against the derived one, and a hint.
    """
    d = get(entry)
    if layout not in LAYOUTS:
        raise ValueError(f"check_against: expected layout 'rows' or 'columns', got {layout!r}")
    rename = dict(names or {})
    unknown = set(rename) - set(d.inputs) - set(d.constants)
    if unknown:
        raise KeyError(f"check_against: {sorted(unknown)} are not arguments of {entry!r} "
                       f"({', '.join((*d.inputs, *d.constants))})")
    hyper = _check_hyper(d, hyper)
    shape_sets = _check_shapes(d, shapes)
    rng = np.random.default_rng(rng)
    many = len(shape_sets) > 1
    checks = []
    with _hyper_patched(d, hyper) as d:
        for number, sh in enumerate(shape_sets):
            values, g = draw_point(d, sh, rng)
            point = _user_values(d, values, "rows", {})
            y = netlib_forward(d, d.build(point), point)
            if hyper:
                _confirm_forward(d, sh, values, y)
            # g in the layer's own output shape (NCHW, (batch, seq, d)), not SymPy's
            g_user = float(g) if d.kind == "loss" else _to_layout(np.reshape(g, np.shape(y)),
                                                                  layout)
            result = backward(g_user, **_user_values(d, values, layout, rename))
            result = _as_dict(d, result, rename)
            sizes = {int(n) for shape in sh.values() for n in shape}
            for wrt in d.inputs:
                expected, rtol = _expected(d, wrt, sh, values, g, bool(hyper))
                expected = _to_layout(expected, layout)
                tolerance = rtol * float(np.max(np.abs(expected), initial=0))
                name = rename.get(wrt, wrt)
                check = compare_gradient(name, result.get(name), expected, tolerance, sizes,
                                         mode="symbolic", reference_name="derived")
                if result.get(name) is None:
                    check.hint = "; ".join(t for t in (check.hint, missing_hint(
                        name, list(result), [rename.get(k, k) for k in values], True)) if t)
                check.where = f"shape set {number + 1}" if many else ""
                checks.append(check)
    settings = {**hyperparameters(entry), **hyper}
    shown = ", ".join(f"{k} = {v}" for k, v in settings.items() if _is_number(v))
    what = f"your backward against the derivation {d.describe()}, {layout} layout" + \
        (f", {shown}" if shown else "")
    return GradcheckReport(what, checks, reference="derived")


def _as_dict(d: Derivation, result, rename: dict) -> dict:
    if isinstance(result, Mapping):
        return dict(result)
    if not isinstance(result, (tuple, list)) or len(result) != len(d.inputs):
        raise TypeError(f"check_against: expected backward to return a dict or a tuple of "
                        f"{len(d.inputs)} gradients ({', '.join(d.inputs)}), got "
                        f"{type(result).__name__}")
    return dict(zip([rename.get(k, k) for k in d.inputs], result, strict=True))


# -- user-side mutants: wrong backward functions written outside the project ---------

def _sigma(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_derivative_at_output(g, x):
    """σ'(a) instead of σ'(z): the derivative formula applied to the activation."""
    a = _sigma(x)
    return {"x": g * _sigma(a) * (1 - _sigma(a))}


def attention_backward(g, x, Wq, Wk, Wv, Wo, scaled=True):
    r"""One head, row layout, ``x`` of shape ``(1, T, d)``: :math:`S = QK^\top/\sqrt{d_h}`,
    :math:`P = \operatorname{softmax}(S)`, :math:`Y = P V W_o`; ``scaled=False``
    forgets the :math:`1/\sqrt{d_h}` in the backward pass."""
    X, G = x[0], g[0]
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    c = 1 / np.sqrt(Wq.shape[1])
    S = Q @ K.T * c
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dO = G @ Wo.T
    dP, dV = dO @ V.T, P.T @ dO
    dS = P * (dP - (dP * P).sum(axis=1, keepdims=True))       # softmax, row by row
    c_back = c if scaled else 1.0
    dQ, dK = dS @ K * c_back, dS.T @ Q * c_back
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return {"x": dX[None], "Wq": X.T @ dQ, "Wk": X.T @ dK, "Wv": X.T @ dV,
            "Wo": (P @ V).T @ G}


def attention_without_scale(g, x, Wq, Wk, Wv, Wo):
    """Attention whose backward forgets the 1/sqrt(d_h) of the scores."""
    return attention_backward(g, x, Wq, Wk, Wv, Wo, scaled=False)


def embedding_by_assignment(g, W, indices):
    """dW[indices] = g: fancy assignment keeps one use of a repeated row."""
    dW = np.zeros_like(W)
    dW[np.ravel(indices)] = np.reshape(g, (-1, W.shape[1]))
    return {"W": dW}


#: (entry, wrong backward): users' own mistakes, checked by check_against and
#: by finite differences of netlib's forward (the mutation report).
USER_MUTANTS: tuple[tuple[str, Callable], ...] = (
    ("sigmoid", sigmoid_derivative_at_output),
    ("attention", attention_without_scale),
    ("embedding", embedding_by_assignment),
)


def finite_difference_check_of(entry: str, backward: Callable, rng=0) -> GradcheckReport:
    """``backward`` against finite differences of netlib's forward of ``entry``, at
    the entry's last shape set (attention's has d_h = 3: a missing scale shows)."""
    from netlib.gradcheck import check_gradients

    d = get(entry)
    rng = np.random.default_rng(rng)
    values, _ = draw_point(d, d.shape_sets[-1], rng)
    point = _user_values(d, values, "rows", {})

    def forward(**arguments):
        return netlib_forward(d, d.build(arguments), arguments)

    forward.__name__ = entry
    return check_gradients(forward, backward, point, wrt=list(d.inputs), rng=rng, mode="full")
