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

Steps that stay in the domain, differences that know their own error
--------------------------------------------------------------------
The bound above assumes :math:`\varphi` varies on the scale of its argument.
Near a singularity it does not (``log p`` with ``p = 1e-6``: the step
``h ≈ 6e-6`` leaves the domain, and nearby the truncation error grows like
:math:`h^2/p^2`). So:

- a step shrinks (halving) until :math:`p \pm h` lies inside ``bounds``
  (``check_gradients(..., bounds={"p": (0, 1)})``) and the forward map
  neither raises nor returns NaN or infinity there; the rounding term uses
  the step actually taken, :math:`\epsilon F / h`;
- an entry (or direction) that the plain quotient rejects is measured again
  by Ridders' method (:mod:`netlib.gradcheck.ridders`): Richardson
  extrapolation over the steps :math:`h, h/2, h/4, \dots`, which returns the
  derivative with an estimate :math:`e_R` of its own error. The entry is then
  held to :math:`\text{tol} + 4 e_R`. A wrong gradient errs by a fraction of
  :math:`\Gamma`, far above either; correct code near a singularity passes
  (0 false alarms in 1,000 seeds of a binary cross-entropy with :math:`p`
  down to ``1e-6``, ``tests/test_gradcheck_accuracy.py``).

Kinks
-----
ReLU-like maps are not differentiable at 0. A point closer than ``h`` to a kink
gets a meaningless finite difference, so the checks must *sample away* from
kinks (:func:`sample_away_from_kinks`; ``check_layer`` does it when given a
shape instead of an array) rather than loosen the tolerance. When a check
fails, the worst entry's one-sided quotients are compared at ``h`` and
``h/4``: their gap shrinks fourfold for a smooth function and stays at the jump
of the derivative at a kink (:func:`~netlib.gradcheck.ridders.kink_test`).
Only a real kink is reported as one.

Localisation
------------
:func:`check_model` checks the model end to end and, when that fails, each
layer and the loss alone at the activations the forward pass gives them;
``report.first_wrong`` names the first wrong layer by position and class, with
its wrong arguments and hints. :func:`check_steps` does the same for your own
chain of ``(forward, backward)`` steps.

Report
------
One row per argument: the worst entry (largest :math:`|a - n|` relative to its
tolerance), analytic against numeric, the *error* :math:`|a - n|` and the
*tolerance* in the same (absolute) units, and their ratio, the *margin*
(at most 1 passes); the header states the formulas. A hint is given when a
failing error has the pattern of a known mistake: analytic equal to the
numeric transposed, a constant factor (the batch size, 2, ``-1``; never 1),
a wrong shape, nothing written, a misspelt key (``"dW"`` for ``"W"``), a
forgotten ``wrt=``, an entrywise derivative taken at the output instead of
the input (:math:`\sigma'(a)` for :math:`\sigma'(z)`). ``str(report)``
prints the table; for failing arguments of at most ``SHOW_MAX`` entries it
also prints both arrays side by side.

The relative error (``ArgumentCheck.rel_error``) is the project's one
definition, :func:`relative_error`,

.. math:: \operatorname{rel}(a, e) = \frac{\max_i |a_i - e_i|}{\max_i |e_i|},

which ``derivations`` also uses (against ``NUMERIC_RTOL``) for its numeric
checks.

Package layout
--------------
``engine``
    ``Problem``, the step and tolerance above, ``full`` and
    ``directional`` checks.
``ridders``
    Safe steps, Ridders' extrapolation with its error estimate, the kink test.
``compare``
    :func:`relative_error` and :func:`compare_gradient`, the entry-by-entry
    comparison every check ends in.
``hints``
    The known-mistake patterns.
``report``
    :class:`ArgumentCheck` (one row) and :class:`GradcheckReport` (the table).
``entry_points``
    :func:`check_gradients`, :func:`check_layer` and :func:`sample_away_from_kinks`.
``localise``
    :func:`check_model` (a model and its loss, end to end then layer by
    layer) and :func:`check_steps` (your own chain of steps).

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
from netlib.gradcheck.hints import missing_hint
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
    "missing_hint",
    "relative_error",
    "sample_away_from_kinks",
]
