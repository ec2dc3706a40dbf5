"""Result types of a gradient check: one row per argument, and the table.

:class:`ArgumentCheck` is the one result row type of the project's checks (the
finite-difference checks here and ``derivations.user_check``, which compares
with the lambdified SymPy VJP); :class:`GradcheckReport` holds the rows of one
function and prints them, with both arrays side by side for small failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SHOW_MAX", "ArgumentCheck", "GradcheckReport"]

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
        ``|analytic - numeric|`` and the derived bound it is held to.
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
class GradcheckReport:
    """All argument checks of one function; ``str()`` gives the table.

    ``reference`` names what the analytic gradient is compared with
    (``"numeric"``: finite differences; ``"derived"``: SymPy).
    """

    what: str
    checks: list[ArgumentCheck]
    reference: str = "numeric"

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

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
        return [check for check in self.checks if not check.passed]

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` carrying the report's table if any check failed."""
        if not self.passed:
            raise AssertionError(str(self))

    def __str__(self) -> str:
        verdict = "passed" if self.passed else f"FAILED ({len(self.failures())} of " \
                                               f"{len(self.checks)} arguments)"
        lines = [f"gradient check of {self.what}: {verdict}"]
        lines.extend(self._table())
        for c in self.failures():
            label = f"{c.name} ({c.where})" if c.where else c.name
            if c.hint:
                lines.append(f"hint for {label}: {c.hint}")
            if (c.analytic_array is not None and c.numeric_array is not None
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
                  "analytic", self.reference, "rel. error", "tolerance", "ok")
        rows = [header]
        for c in self.checks:
            rows.append((c.name, *((c.where,) if wheres else ()), str(c.shape), c.mode,
                         "-" if c.index is None else str(c.index),
                         _number(c.analytic), _number(c.numeric), f"{c.rel_error:.2e}",
                         f"{c.tolerance:.1e}", "yes" if c.passed else "NO"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                for row in rows]


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
