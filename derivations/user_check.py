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

from collections.abc import Callable, Mapping

import numpy as np

from derivations.registry import get
from derivations.verify import NUMERIC_RTOL, draw_point, expected_vjp
from netlib.gradcheck import GradcheckReport, compare_gradient

LAYOUTS = ("rows", "columns")


def _to_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """An entry's (row-layout) array as the user's layout sees it, and back."""
    array = np.asarray(array)
    return array.T if layout == "columns" and array.ndim == 2 else array


def check_against(entry: str, backward: Callable, *, layout: str = "rows", rng=0,
                  names: Mapping[str, str] | None = None,
                  shapes: Mapping[str, tuple] | None = None) -> GradcheckReport:
    """Check ``backward`` against the derived VJP of registry entry ``entry``.

    Parameters
    ----------
    entry : str
        Registry name (``"dense"``, ``"softmax"``, ``"mse"``...).
    backward : callable
        ``backward(g, **arguments)`` returning a dict ``name -> gradient`` (or
        a tuple in the order of the entry's inputs). ``arguments`` are the
        entry's inputs and constants (a loss's target ``t``), in ``layout``.
    layout : {"rows", "columns"}
        The layout your code uses (see the module docstring).
    rng : int or Generator
        Seed of the sampled points and upstream gradients.
    names : dict, optional
        The entry's argument names mapped to yours (``{"x": "X"}``).
    shapes : dict, optional
        One shape set (in the entry's row layout) instead of the entry's own.

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
    rng = np.random.default_rng(rng)
    shape_sets = d.shape_sets if shapes is None else (dict(shapes),)
    many = len(shape_sets) > 1
    checks = []
    for number, sh in enumerate(shape_sets):
        values, g = draw_point(d, sh, rng)
        arguments = {rename.get(k, k): _to_layout(v, layout) for k, v in values.items()}
        result = backward(float(g) if d.kind == "loss" else _to_layout(g, layout), **arguments)
        if not isinstance(result, Mapping):
            if not isinstance(result, (tuple, list)) or len(result) != len(d.inputs):
                raise TypeError(f"check_against: expected backward to return a dict or a "
                                f"tuple of {len(d.inputs)} gradients ({', '.join(d.inputs)}), "
                                f"got {type(result).__name__}")
            result = dict(zip([rename.get(k, k) for k in d.inputs], result, strict=True))
        sizes = {int(n) for shape in sh.values() for n in shape}
        for wrt in d.inputs:
            expected = _to_layout(expected_vjp(d, wrt, sh, values, g), layout)
            tolerance = NUMERIC_RTOL * float(np.max(np.abs(expected), initial=0))
            name = rename.get(wrt, wrt)
            check = compare_gradient(name, result.get(name), expected, tolerance, sizes,
                                     mode="symbolic", reference_name="derived")
            check.where = f"shape set {number + 1}" if many else ""
            checks.append(check)
    what = f"your backward against the derivation {d.describe()}, {layout} layout"
    return GradcheckReport(what, checks, reference="derived")
