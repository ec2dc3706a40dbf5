"""The one result row of the verification engine, and the numeric tolerance.

Every check (exact, numeric, transpose, forward, finite differences) reports
:class:`CheckRow` values: the CLI prints them, ``--json`` and the site's build
store :meth:`CheckRow.as_dict`, and the tests assert on them. ``derive``'s
confirmation of an answer reports the same rows (its kinds are the last ones
of :data:`KINDS`), with the tolerance each was held to. Plain Python: this
module imports no numpy, so that ``derive`` runs where there is none.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: The kinds of check a row can report: the registry's, in the order ``check``
#: runs them, then those of ``derive`` (``derivations.matrix_calculus.confirm``):
#: an answer against SymPy's explicit Jacobian, its numerator layout against
#: the transpose of its denominator layout, a Jacobian matrix against the
#: explicit Jacobian, central differences at the sizes asked (the explicit
#: Jacobian having run at small ones), a Hessian against SymPy's explicit
#: Hessian, and central differences of the gradient (for a Hessian).
KINDS = ("exact", "transpose", "numeric", "forward", "finite differences",
         "explicit Jacobian", "layout", "Jacobian matrix",
         "finite differences at the sizes asked", "explicit Hessian",
         "finite differences of the gradient")
#: What ``error`` and ``tolerance`` of a row measure: the max-norm relative
#: error, or the absolute error of the worst entry (the one furthest beyond its
#: own derived tolerance) with that entry's tolerance.
MEASURES = ("relative", "absolute")

#: Numeric check tolerance: ``max|netlib - symbolic| <= NUMERIC_RTOL * max|symbolic|``
#: (or more where float64 rounding loses digits at the point:
#: ``derivations.verify.numeric.reference_vjp``).
#: Both sides are float64 evaluations of the same small expressions (a few
#: dozen flops each on values of order 1), so their rounding errors are a few
#: units of 2**-52 ≈ 2.2e-16; 1e-12 leaves a factor ~1000 for cancellation
#: while any wrong formula (errors of order 1e-2 and more) is far outside.
NUMERIC_RTOL = 1e-12


@dataclass
class CheckRow:
    """The outcome of one check of one entry.

    Attributes
    ----------
    entry : str
        Registry name (``"dense"``).
    wrt : str or None
        The input or parameter checked; ``None`` for the forward check.
    shapes : str
        The shape set, as :meth:`~derivations.core.Derivation.shape_text` prints it.
    check : str
        One of :data:`KINDS`.
    passed : bool
    max_rel_error : float or None
        :func:`netlib.gradcheck.relative_error` of netlib against the
        reference (numeric, forward, finite differences); ``None`` for the
        symbolic checks, which are exact.
    seconds : float
    message : str
        Empty when passed; otherwise what differs, side by side.
    tolerance : float or None
        The bound the verdict used, in ``measure``'s units (``None`` for the
        registry's rows, whose tolerance is stated by their kind).
    margin : float or None
        ``error / tolerance``: the row passed when it is at most 1 (``inf``
        for a value that is not finite or has the wrong shape).
    measure : str
        One of :data:`MEASURES`.
    hint : str
        A known mistake the failure looks like (a transpose, a constant factor).
    """

    entry: str
    wrt: str | None
    shapes: str
    check: str
    passed: bool
    max_rel_error: float | None = None
    seconds: float = 0.0
    message: str = ""
    tolerance: float | None = None
    margin: float | None = None
    measure: str = "relative"
    hint: str = ""

    def __post_init__(self) -> None:
        if self.check not in KINDS:
            raise ValueError(f"CheckRow: expected check in {KINDS}, got {self.check!r}")
        if self.measure not in MEASURES:
            raise ValueError(f"CheckRow: expected measure in {MEASURES}, got {self.measure!r}")

    @property
    def error(self) -> float | None:
        """The measured error in ``measure``'s units: ``margin × tolerance`` where
        a tolerance is recorded (``inf`` with an infinite margin, a value that
        is not finite or has the wrong shape, which :meth:`as_dict` writes as
        ``None``), else ``max_rel_error``."""
        if self.tolerance is not None:
            if self.margin is None or not math.isfinite(self.margin):
                return math.inf
            return self.margin * self.tolerance
        return self.max_rel_error

    def as_dict(self) -> dict:
        """The row as plain JSON-ready values (an infinite or NaN number becomes ``None``).

        The fields after ``message`` appear only when set (a row with a
        tolerance also gets its ``error``), so that a registry row has the
        same eight keys as always.
        """
        row = asdict(self)
        if self.tolerance is None:
            for key in ("tolerance", "margin", "measure", "hint"):
                del row[key]
        else:
            row["error"] = self.error
        for key in ("max_rel_error", "tolerance", "margin", "error"):
            if row.get(key) is not None and not math.isfinite(row[key]):
                row[key] = None          # JSON has no inf or nan; the message says why
        return row
