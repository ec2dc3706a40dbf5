"""The one result row of the verification engine, and the numeric tolerance.

Every check (exact, numeric, transpose, forward, finite differences) reports
:class:`CheckRow` values: the CLI prints them, ``--json`` and the site's build
store :meth:`CheckRow.as_dict`, and the tests assert on them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: The kinds of check a row can report, in the order ``check`` runs them.
KINDS = ("exact", "transpose", "numeric", "forward", "finite differences")

#: Numeric check tolerance: ``max|netlib - symbolic| <= NUMERIC_RTOL * max|symbolic|``.
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
    """

    entry: str
    wrt: str | None
    shapes: str
    check: str
    passed: bool
    max_rel_error: float | None = None
    seconds: float = 0.0
    message: str = ""

    def __post_init__(self) -> None:
        if self.check not in KINDS:
            raise ValueError(f"CheckRow: expected check in {KINDS}, got {self.check!r}")

    def as_dict(self) -> dict:
        """The row as plain JSON-ready values (an infinite or NaN error becomes ``None``)."""
        row = asdict(self)
        if row["max_rel_error"] is not None and not math.isfinite(row["max_rel_error"]):
            row["max_rel_error"] = None          # JSON has no inf or nan; the message says why
        return row
