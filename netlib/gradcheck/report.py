"""Result types of a gradient check: one row per argument, and the table.

:class:`ArgumentCheck` is the one result row type of the project's checks (the
finite-difference checks here and ``derivations.user_check``, which compares
with the lambdified SymPy VJP); :class:`GradcheckReport` holds the rows of one
function and prints them, with both arrays side by side for small failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SHOW_MAX", "ArgumentCheck", "GradcheckReport", "StepCheck"]

#: Failing arguments up to this many entries are printed in full in the report.
SHOW_MAX = 40


@dataclass
class ArgumentCheck:
    r"""The check of one input or parameter.

    Attributes
    ----------
    name, shape : str, tuple
        The argument and its shape.
    mode : str
        ``"full"`` or ``"directional"``.
    passed : bool
    index : tuple or int or None
        Worst entry (``full``), worst direction number (``directional``), or
        ``None`` when the analytic gradient is missing or has the wrong shape.
    analytic, numeric : float
        The two values at ``index`` (``<v, a>`` and the difference quotient in
        ``directional`` mode).
    error, tolerance : float
        ``|analytic - numeric|`` and the derived bound it is held to, in the
        same (absolute) units; ``margin = error / tolerance`` passes when <= 1.
    rel_error : float
        :func:`~netlib.gradcheck.relative_error` of ``analytic`` against
        ``numeric``, :math:`|a - n| / |n|`.
    hint : str
        Known-mistake pattern, or ``""``.
    analytic_array, numeric_array : ndarray or None
        The whole gradients (``numeric_array`` in ``full`` mode only).
    jacobian : ndarray or None
        The finite-difference Jacobian (``full`` mode), shape
        ``(output size, argument size)``, numerator layout.
    where : str
        Which point or shape set, when a report checks several.
    """

    name: str
    shape: tuple
    mode: str
    passed: bool
    index: tuple | int | None
    analytic: float
    numeric: float
    error: float
    tolerance: float
    rel_error: float
    hint: str = ""
    analytic_array: np.ndarray | None = field(default=None, repr=False)
    numeric_array: np.ndarray | None = field(default=None, repr=False)
    jacobian: np.ndarray | None = field(default=None, repr=False)
    where: str = ""

    @property
    def margin(self) -> float:
        """``error / tolerance``: at most 1 passes."""
        if self.error == 0:
            return 0.0
        return self.error / self.tolerance if self.tolerance else float("inf")

    @classmethod
    def unusable(cls, name: str, shape: tuple, mode: str, hint: str,
                 analytic: np.ndarray | None = None,
                 numeric: np.ndarray | None = None) -> ArgumentCheck:
        """A failed check whose analytic gradient cannot be compared entry by entry.

        It is missing, not numeric, or of the wrong shape: there is no worst
        entry (``index`` is ``None``) and the error is infinite.
        """
        return cls(name, shape, mode, False, None, np.nan, np.nan, np.inf, 0.0, np.inf,
                   hint, analytic, numeric)


@dataclass
class StepCheck:
    """The local check of one layer or step of a chain, at the point the chain gives it.

    ``position`` counts from 0 in forward order; ``name`` is the layer's class
    (or the step's function); ``report`` holds its argument checks.
    """

    position: int
    name: str
    report: GradcheckReport

    @property
    def passed(self) -> bool:
        return self.report.passed

    def summary(self) -> str:
        """``"#1 Sigmoid: wrong x (margin 3e+04): hint"`` or ``"#0 Dense: ok"``."""
        if self.passed:
            return f"#{self.position} {self.name}: ok"
        parts = []
        for c in self.report.failures():
            margin = "inf" if not np.isfinite(c.margin) else f"{c.margin:.2g}"
            parts.append(f"{c.name} (margin {margin})" + (f": {c.hint}" if c.hint else ""))
        return f"#{self.position} {self.name}: wrong " + "; ".join(parts)


@dataclass
class GradcheckReport:
    """All argument checks of one function; ``str()`` gives the table.

    ``reference`` names what the analytic gradient is compared with
    (``"numeric"``: finite differences; ``"derived"``: SymPy). ``steps``
    holds the layer-by-layer checks of a model or chain (localisation), in
    forward order; :attr:`first_wrong` is the first that fails.
    """

    what: str
    checks: list[ArgumentCheck]
    reference: str = "numeric"
    steps: list[StepCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks) and \
            all(step.passed for step in self.steps)

    @property
    def first_wrong(self) -> StepCheck | None:
        """The first layer or step (forward order) whose local VJP is wrong."""
        return next((step for step in self.steps if not step.passed), None)

    def localisation(self) -> str:
        """The layer-by-layer verdicts, one line each, and the first wrong one."""
        if not self.steps:
            return ""
        lines = ["layer by layer (each local VJP at the point the forward pass gives it):"]
        lines.extend("  " + step.summary() for step in self.steps)
        first = self.first_wrong
        if first is None:
            lines.append("every local VJP is right")
        else:
            names = ", ".join(c.name for c in first.report.failures())
            lines.append(f"first wrong: #{first.position} {first.name}, argument {names}")
        return "\n".join(lines)

    def __getitem__(self, name: str) -> ArgumentCheck:
        """The check of argument ``name`` (its first failing one, if several)."""
        matching = [check for check in self.checks if check.name == name]
        for check in matching:
            if not check.passed:
                return check
        if matching:
            return matching[0]
        raise KeyError(f"GradcheckReport: no argument {name!r}; checked "
                       f"{[c.name for c in self.checks]}")

    def failures(self) -> list[ArgumentCheck]:
        """The failing rows (of the end-to-end check; steps have their own)."""
        return [check for check in self.checks if not check.passed]

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` carrying the report's table if any check failed."""
        if not self.passed:
            raise AssertionError(str(self))

    @property
    def formula(self) -> str:
        """How the error, the tolerance and the margin of each row are defined."""
        if self.reference == "numeric":
            bound = "K ε^(2/3) (Γ + F/s) [+ 4 e_R, Ridders' error estimate]"
        else:
            bound = "rtol × max|reference|"
        return (f"error = |analytic − {self.reference}| at the worst entry, in the units "
                f"of the gradient;\ntolerance = {bound}, same units; margin = error / "
                f"tolerance (passes when ≤ 1)")

    def __str__(self) -> str:
        if self.passed:
            verdict = "passed"
        elif self.failures():
            verdict = f"FAILED ({len(self.failures())} of {len(self.checks)} arguments)"
        else:
            verdict = f"FAILED at #{self.first_wrong.position} {self.first_wrong.name}"
        lines = [f"gradient check of {self.what}: {verdict}", self.formula]
        if self.checks:
            lines.extend(self._table())
        if self.steps:
            lines.append(self.localisation())
        for c in self.failures():
            label = f"{c.name} ({c.where})" if c.where else c.name
            if c.hint:
                lines.append(f"hint for {label}: {c.hint}")
            # Localised: the step's own report says what is wrong, not these arrays.
            if (c.analytic_array is not None and c.numeric_array is not None
                    and self.first_wrong is None
                    and max(c.analytic_array.size, c.numeric_array.size) <= SHOW_MAX):
                lines.append(f"{label}, analytic | {self.reference}:")
                lines.extend(_side_by_side(c.analytic_array, c.numeric_array))
        return "\n".join(lines)

    __repr__ = __str__

    def _table(self) -> list[str]:
        """One left-aligned line per check, under a header; an "at" column only
        when some check says where it was taken."""
        wheres = any(c.where for c in self.checks)
        header = ("argument", *(("at",) if wheres else ()), "shape", "mode", "worst index",
                  "analytic", self.reference, "error", "tolerance", "margin", "ok")
        rows = [header]
        for c in self.checks:
            rows.append((c.name, *((c.where,) if wheres else ()), str(c.shape), c.mode,
                         "-" if c.index is None else str(c.index),
                         _number(c.analytic), _number(c.numeric), f"{c.error:.2e}",
                         f"{c.tolerance:.2e}", _margin(c), "yes" if c.passed else "NO"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                for row in rows]


def _margin(check: ArgumentCheck) -> str:
    """error / tolerance: at most 1 passes; ``inf`` when nothing could be compared."""
    if check.error == 0:
        return "0"
    if not check.tolerance or not np.isfinite(check.error):
        return "inf"
    return f"{check.error / check.tolerance:.2g}"


def _number(value: float) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.10g}"


def _side_by_side(analytic: np.ndarray, numeric: np.ndarray) -> list[str]:
    """Both arrays printed as text, in two columns: ``analytic | numeric``."""
    left, right = (np.array2string(np.atleast_2d(array), precision=6, suppress_small=False,
                                   max_line_width=200).splitlines()
                   for array in (analytic, numeric))
    width = max(len(line) for line in left)
    height = max(len(left), len(right))
    left += [""] * (height - len(left))
    right += [""] * (height - len(right))
    return [f"  {a.ljust(width)}   |   {b}" for a, b in zip(left, right, strict=True)]
