r"""Check any backward pass against central finite differences (numpy only).

Point it at a netlib layer or loss (:func:`check_layer`), a whole model with
its loss (:func:`check_model`), or two plain functions of your own
(:func:`check_gradients`): a ``forward`` and a ``backward`` written in any
layout. Every input and every parameter is checked, in float64, with a random
upstream gradient ``u`` (an all-ones ``u`` hides wrong-axis sums and swapped
products).

What is compared
----------------
Let :math:`f` be the forward map, :math:`u` the upstream gradient and
:math:`\varphi(p) = \langle u, f(p)\rangle`. A correct backward returns, for
every argument :math:`p`, :math:`a = J_p^\top u = \nabla_p \varphi`.

``mode="full"`` (small arguments)
    The whole finite-difference Jacobian, one column per entry,

    .. math:: J_{:, j} \approx \frac{f(p + h_j e_j) - f(p - h_j e_j)}{2 h_j},
              \qquad n = J^\top u,

    compared with :math:`a` entry by entry.
``mode="directional"`` (large arguments)
    The dot-product test :math:`\langle v, J^\top u\rangle = \langle J v, u\rangle`
    for random directions :math:`v` (``directions`` of them, scaled to
    :math:`\max_j |v_j| = 1`):

    .. math:: \langle v, a\rangle \approx
              \frac{\varphi(p + h v) - \varphi(p - h v)}{2h}.
``mode="auto"``
    ``full`` for arguments of at most ``AUTO_FULL_MAX`` entries, else
    ``directional``.

Step and tolerance (derived, not tuned)
---------------------------------------
The step is :math:`h = \epsilon^{1/3} s` with :math:`\epsilon` the float64
machine epsilon and :math:`s = \max(1, |p_j|)` (``full``) or
:math:`\max(1, \lVert p\rVert_\infty)` (``directional``) the scale of the
argument; ``p + h`` is rounded so that the step is exact. A central difference
errs by truncation and by rounding,

.. math:: |n - \partial\varphi| \le \frac{h^2}{6}|\varphi'''|
          + \frac{\epsilon F}{h},
          \qquad F = \sum_i |u_i f_i(p)|,

(:math:`F` is the size of the terms summed into :math:`\varphi`, which bounds
its rounding error). We assume that :math:`\varphi` varies on the scale of its
argument, :math:`|\varphi'''| \le \Gamma / s^2` with :math:`\Gamma` the size of
the gradient (the largest :math:`|a_j|, |n_j|` of the argument in ``full``
mode; :math:`\max(\sum_j |v_j a_j|, |n|)` in ``directional`` mode). With
:math:`h = \epsilon^{1/3}s` both terms are of order :math:`\epsilon^{2/3}`, and
a check passes when

.. math:: |a - n| \le K \, \epsilon^{2/3} \Big(\Gamma + \frac{F}{s}\Big),
          \qquad K = 100,

:math:`\epsilon^{2/3} \approx 3.7\times 10^{-11}`. ``K`` absorbs the
:math:`1/6`, the unknown third derivative relative to :math:`\Gamma/s^2`, and
rounding accumulated in :math:`f` and in the sums; it was fixed from this
analysis, never adjusted to make a test pass. A wrong gradient errs by a
fraction of :math:`\Gamma` itself, eight orders of magnitude above the bound.
The assumption fails near a singularity (``log p`` with ``p`` near 0) or a kink:
check at points away from them. :math:`F` also undercounts rounding when
:math:`f` is itself a small difference of large terms that the checker cannot
see (a cross-entropy of a sample classified with great confidence: ``lse(z) -
z_y`` with both terms large): check such losses at samples that are not yet
fitted, rather than raising ``K``.

Kinks
-----
ReLU-like maps are not differentiable at 0. A point closer than ``h`` to a kink
gets a meaningless finite difference, so the checks must *sample away* from
kinks (:func:`sample_away_from_kinks`; ``check_layer`` does it when given a
shape instead of an array) rather than loosen the tolerance. If a check fails
and the second difference shows a kink within one step, the report says so.

Report
------
One row per argument: the worst entry (largest :math:`|a - n|` relative to its
tolerance), analytic against numeric, the relative error, and a hint when the
error has the pattern of a known mistake: analytic equal to the numeric
transposed, a constant factor (the batch size, 2, ``-1``), a wrong shape,
nothing written. ``str(report)`` prints the table; for failing arguments of at
most ``SHOW_MAX`` entries it also prints both arrays side by side.

The relative error printed is the project's one definition,
:func:`relative_error`,

.. math:: \operatorname{rel}(a, e) = \frac{\max_i |a_i - e_i|}{\max_i |e_i|},

which ``derivations`` also uses (against ``NUMERIC_RTOL``) for its numeric
checks.

Package layout
--------------
``engine``
    ``Problem``, the step and tolerance above, ``full`` and
    ``directional`` checks.
``compare``
    :func:`relative_error` and :func:`compare_gradient`, the entry-by-entry
    comparison every check ends in.
``hints``
    The known-mistake patterns.
``report``
    :class:`ArgumentCheck` (one row) and :class:`GradcheckReport` (the table).
``entry_points``
    :func:`check_gradients`, :func:`check_layer`, :func:`check_model` (a model
    and its loss checked as one layer) and :func:`sample_away_from_kinks`.

Examples
--------
Your own column-layout dense layer, checked in five lines:

>>> import numpy as np
>>> from netlib.gradcheck import check_gradients
>>> forward = lambda x, W, b: W @ x + b[:, None]      # x (in, batch), W (out, in)
>>> backward = lambda g, x, W, b: {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)}
>>> rng = np.random.default_rng(0)
>>> inputs = {"x": rng.standard_normal((3, 5)), "W": rng.standard_normal((2, 3)),
...           "b": rng.standard_normal(2)}
>>> check_gradients(forward, backward, inputs).passed
True

The classic mistake, ``dW`` written in row-layout order:

>>> wrong = lambda g, x, W, b: {"x": W.T @ g, "W": x @ g.T, "b": g.sum(axis=1)}
>>> report = check_gradients(forward, wrong, inputs)
>>> report.passed, report["W"].passed, report["x"].passed
(False, False, True)
>>> print(report["W"].hint)
analytic has shape (3, 2), the gradient must have W's shape (2, 3); analytic is the
transpose of numeric (a missing or extra transpose, or a swapped product order)
"""

from netlib.gradcheck.compare import compare_gradient, relative_error
from netlib.gradcheck.engine import AUTO_FULL_MAX, SAFETY_FACTOR
from netlib.gradcheck.entry_points import check_gradients, check_layer, sample_away_from_kinks
from netlib.gradcheck.localise import check_model, check_steps
from netlib.gradcheck.report import ArgumentCheck, GradcheckReport, StepCheck

__all__ = [
    "AUTO_FULL_MAX",
    "SAFETY_FACTOR",
    "ArgumentCheck",
    "GradcheckReport",
    "StepCheck",
    "check_gradients",
    "check_layer",
    "check_model",
    "check_steps",
    "compare_gradient",
    "relative_error",
    "sample_away_from_kinks",
]
