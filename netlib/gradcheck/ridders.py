r"""Difference quotients that know their own error: safe steps, Ridders' tableau, kinks.

Along a line :math:`\psi(t) = \varphi(p + t\,e)` (``e`` a unit vector
:math:`e_j` or a random direction ``v``) the central quotient

.. math:: D(h) = \frac{\psi(h) - \psi(-h)}{2h}
          = \psi'(0) + c_1 h^2 + c_2 h^4 + \dots

has an error expansion in even powers of ``h``. Ridders' method evaluates
:math:`D` at :math:`h_0, h_0/r, h_0/r^2, \dots` (:data:`SHRINK` :math:`r = 2`)
and removes the :math:`h^2, h^4, \dots` terms one after the other (Richardson
extrapolation, a Neville tableau),

.. math:: T_{i,0} = D(h_0 r^{-i}), \qquad
          T_{i,k} = \frac{r^{2k} T_{i,k-1} - T_{i-1,k-1}}{r^{2k} - 1}.

Each new entry comes with an estimate of its error, the larger of its
distances to the two entries it was made from,
:math:`\max(|T_{i,k} - T_{i,k-1}|, |T_{i,k} - T_{i-1,k-1}|)`; the entry with
the smallest estimate is the answer. When the diagonal starts to grow
(:math:`|T_{i,i} - T_{i-1,i-1}| \ge 2\,\text{err}`) rounding has taken over
and the tableau stops. The estimate contains the rounding noise too: two
extrapolants that disagree because of rounding give a large estimate.

A step must stay in the argument's domain: :func:`safe_step` shrinks it until
both :math:`p \pm h e` lie inside the given ``bounds`` and the forward map
neither raises nor returns a non-finite value there (``log`` of a probability
stepped below 0, a loss that refuses probabilities outside [0, 1]).

:func:`kink_test` tells a kink from a smooth function, after the idea of
Chainer's ``detect_nondifferentiable``: the gap between the one-sided
quotients :math:`(\psi(h) - \psi(0))/h - (\psi(0) - \psi(-h))/h` is
:math:`h\,\psi''(0) + O(h^3)` for a smooth :math:`\psi` (a quarter of the step
gives a quarter of the gap) but stays near the jump of :math:`\psi'` when a kink
lies within the step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MAX_HALVINGS", "MAX_LEVELS", "SHRINK", "kink_test", "ridders", "safe_step"]

#: The ratio between successive steps of the tableau.
SHRINK = 2.0
#: Rows of the tableau at most (the last step is ``h0 / 2**(MAX_LEVELS - 1)``).
MAX_LEVELS = 10
#: Halvings of a step that leaves the domain before giving up.
MAX_HALVINGS = 60


def safe_step(evaluate: Callable[[float], float | np.ndarray], h: float, room: float,
              who: str) -> float:
    """The largest ``h / 2**k`` with ``h <= room / 2`` at which ``evaluate(±h)`` works.

    ``evaluate(t)`` returns the forward output at ``p + t e``; it "works" when
    it neither raises nor returns a non-finite value. ``room`` is the distance
    from ``p`` to the nearest bound along ``e`` (``inf`` without bounds).
    """
    if room <= 0:
        raise ValueError(f"{who}: the point lies on or outside the bounds given for it "
                         f"(no room for a step); check at an interior point")
    h = min(h, room / 2)
    last_error = None
    for _ in range(MAX_HALVINGS):
        try:
            if all(np.all(np.isfinite(evaluate(t))) for t in (h, -h)):
                return h
        except (ArithmeticError, ValueError, FloatingPointError) as error:
            last_error = error
        h /= 2
    reason = f" (last error: {last_error})" if last_error is not None else ""
    raise ValueError(f"{who}: the forward map fails or is not finite at every step down "
                     f"to {h:.1e} from the point{reason}; check at a point inside its "
                     f"domain or give bounds=")


def ridders(psi: Callable[[float], float], h0: float,
            decide: Callable[[float, float], bool | None] | None = None
            ) -> tuple[float, float, float]:
    r"""Ridders' extrapolated derivative :math:`\psi'(0)` and its error estimate.

    Parameters
    ----------
    psi : callable
        The scalar function of the step, :math:`\psi(t)`.
    h0 : float
        The first (largest) step; every step used is at most ``h0``.
    decide : callable, optional
        ``decide(value, error)`` after each row: ``True`` or ``False`` ends
        the tableau early (the verdict is clear), ``None`` goes on.

    Returns
    -------
    value, error, h : float
        The best extrapolant, its estimated error and the last step used.
    """
    h = h0
    row = [(psi(h) - psi(-h)) / (2 * h)]
    best, error = row[0], np.inf
    for _ in range(1, MAX_LEVELS):
        h /= SHRINK
        new = [(psi(h) - psi(-h)) / (2 * h)]
        factor = 1.0
        for k in range(1, len(row) + 1):
            factor *= SHRINK ** 2
            new.append((factor * new[k - 1] - row[k - 1]) / (factor - 1))
            estimate = max(abs(new[k] - new[k - 1]), abs(new[k] - row[k - 1]))
            if estimate <= error:
                best, error = new[k], estimate
        growing = abs(new[-1] - row[-1]) >= 2 * error
        row = new
        # Three rows at least before an early verdict: one extrapolation can agree
        # with its neighbour by chance and understate the error.
        early = len(row) >= 3 and decide is not None and decide(best, error) is not None
        if growing or early:
            break
    return float(best), float(error), h


def kink_test(psi: Callable[[float], float], h: float, noise: float) -> float:
    """The jump of :math:`\\psi'` when a kink lies within ``h`` of 0, else ``0.0``.

    ``noise`` is the rounding error of one value of ``psi`` (``eps * F``): a
    gap smaller than ``100 * noise / h`` at the small step is rounding, not a kink.
    """
    zero = psi(0.0)

    def gap(step: float) -> float:
        return (psi(step) - zero) / step - (zero - psi(-step)) / step

    large, small = gap(h), gap(h / 4)
    # Smooth: the gap shrinks with the step (by 4 here). A kink: it stays.
    if abs(small) > 0.5 * abs(large) and abs(small) > 100 * noise * 4 / h:
        return abs(small)
    return 0.0
