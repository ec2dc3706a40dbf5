"""What the executed pages of the site call: tables, figures, checks.

The pages import this module in their first (hidden) cell; ``conf.py`` puts
this folder on the kernel's ``PYTHONPATH``. Everything here is computed from
the registry and the check functions of :mod:`derivations.checks` at build
time; nothing here states a formula of its own.

A failed check raises :class:`CheckFailed` inside the page's cell, and
``nb_execution_raise_on_error`` turns that into a failed build.
"""

from __future__ import annotations

import numpy as np
from IPython.display import Markdown, Math, display

#: Above this many characters of LaTeX a Jacobian is shown by its pattern of
#: nonzeros and one of its rows instead of entry by entry (MathJax lays out
#: a few thousand characters quickly; the softmax Jacobian runs to tens of
#: thousands and says nothing more than its row does).
MAX_LATEX_CHARS = 6000


class CheckFailed(AssertionError):
    """A check that ran while the site was built did not pass."""


def _registry():
    from derivations.registry import REGISTRY

    return REGISTRY


def _shape_text(shapes) -> str:
    if isinstance(shapes, str):
        return shapes
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def _mark(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


def _optional_mark(passed: bool | None) -> str:
    return "n/a" if passed is None else _mark(passed)


def _error(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1e}"


# -- home page -----------------------------------------------------------------
def status_table(page_prefix: str = "layers/") -> None:
    """Run every check of every registry entry and display one table row each."""
    from derivations.checks import run_checks

    registry = _registry()
    rows, failures = [], []
    for row in run_checks():
        d = registry[row.entry]
        rows.append([f"[{d.title}]({page_prefix}{row.entry}.md)", f"`{row.wrt}`", row.check,
                     row.shapes, _mark(row.exact), _error(row.max_rel_error),
                     _optional_mark(row.numeric_passed), f"{row.seconds:.2f}"])
        if not row.passed:
            failures.append(f"{row.entry} d/d{row.wrt} ({row.check}) at {row.shapes}:\n"
                            f"{row.message}")
    entries = {row[0] for row in rows}
    display(Markdown(
        f"{len(entries)} entries, {len(rows)} checks, "
        f"{len(rows) - len(failures)} passed, {len(failures)} failed.\n\n"
        + _markdown_table(["entry", "with respect to", "check", "shapes", "exact",
                           "max rel. error", "numeric", "seconds"], rows)))
    if failures:
        raise CheckFailed("checks failed while building the site:\n" + "\n".join(failures))


# -- one page per registry entry -------------------------------------------------
class LayerPage:
    """The computed parts of one registry entry's page."""

    def __init__(self, name: str) -> None:
        from derivations.registry import get

        self.d = get(name)
        # The smallest shape set keeps the rendered matrices readable; the
        # checks below run at every shape set.
        self.shapes = min(self.d.shape_sets,
                          key=lambda shapes: sum(int(np.prod(s)) for s in shapes.values()))

    def show_forward(self) -> None:
        """The forward map written out at the smallest shape set."""
        from derivations.latex import latex_forward

        display(Markdown(f"Written out by SymPy at the shapes {_shape_text(self.shapes)}:"))
        text = latex_forward(self.d, self.shapes)
        if len(text) <= MAX_LATEX_CHARS:
            display(Math(text))
        else:
            display(Markdown(f"(the expression runs to {len(text)} characters of LaTeX; "
                             "the definition above says the same in one line)"))

    def show_jacobians(self) -> None:
        """Each Jacobian as SymPy gives it, and all of them as heat maps."""
        import matplotlib.pyplot as plt

        from derivations.checks import jacobian, jacobian_numpy
        from derivations.latex import jacobian_structure

        d, shapes = self.d, self.shapes
        for wrt in d.inputs:
            J = jacobian(d, wrt, shapes)
            head = (rf"J_{{{wrt}}} = \frac{{\partial \operatorname{{vec}} y}}"
                    rf"{{\partial \operatorname{{vec}} {_symbol(wrt)}}}"
                    rf" \in \mathbb R^{{{J.rows}\times {J.cols}}}")
            text = _latex(J)
            if len(text) <= MAX_LATEX_CHARS:
                display(Math(head + " = " + text))
            else:
                display(Math(head + r",\ \text{first row: } " + _latex(J[0, :])))
                display(Markdown(f"The full matrix runs to {len(text)} characters of LaTeX; "
                                 "its pattern of nonzero (`*`) and zero (`.`) entries:\n\n"
                                 f"```text\n{jacobian_structure(d, wrt, shapes)}\n```"))
        values = d.sample(np.random.default_rng(0), shapes)
        matrices = [(wrt, jacobian_numpy(d, wrt, shapes, values=values)) for wrt in d.inputs]
        widths = [max(J.shape[1], 2) for _, J in matrices]
        fig, axes = plt.subplots(1, len(matrices), figsize=(min(3 + 0.35 * sum(widths), 12), 4),
                                 width_ratios=widths, squeeze=False)
        for ax, (wrt, J) in zip(axes[0], matrices, strict=True):
            limit = float(np.abs(J).max()) or 1.0
            ax.imshow(J, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"$J_{{{wrt}}}$ {J.shape[0]}×{J.shape[1]}")
            ax.set_xlabel(f"entry of vec({wrt})")
            ax.set_ylabel("entry of vec(y)")
        fig.suptitle(f"{d.title}: Jacobians at a random point, {_shape_text(shapes)}")
        fig.tight_layout()
        display(fig)          # the kernel's inline backend renders it as a PNG
        plt.close(fig)

    def show_stated(self) -> None:
        """The stated closed-form VJP of every argument."""
        from derivations.latex import latex_stated

        for wrt in self.d.inputs:
            display(Math(rf"\frac{{\partial L}}{{\partial {_symbol(wrt)}}} = "
                         + latex_stated(self.d, wrt)))

    def show_checks(self) -> None:
        """Run this entry's checks now, show them, and fail the build if one fails."""
        from derivations.checks import check_entry

        d, rows, failures = self.d, [], []
        for row in check_entry(d):
            rows.append([row.check, f"`{row.wrt}`", row.shapes, _mark(row.exact),
                         _error(row.max_rel_error), _optional_mark(row.numeric_passed),
                         f"{row.seconds:.2f}"])
            if not row.passed:
                failures.append(f"d/d{row.wrt} ({row.check}) at {row.shapes}:\n{row.message}")
        display(Markdown(
            "Each row ran while this page was built. *exact*: the stated VJP minus "
            "reshape(Jᵀ vec G) simplifies to zero (for a `transpose of` row: this "
            "layout's VJPs are exactly the transposes of the other's). *max rel. error*: "
            "netlib's `backward` against the lambdified Jᵀ g in float64 at a random "
            "point with a random upstream gradient.\n\n"
            + _markdown_table(["check", "with respect to", "shapes", "exact",
                               "max rel. error", "numeric", "seconds"], rows)))
        if failures:
            raise CheckFailed(f"{d.name}: {len(failures)} check(s) failed while building "
                              f"its page:\n" + "\n".join(failures))


def _latex(matrix) -> str:
    import sympy

    return sympy.latex(matrix, mat_delim="(")


def _symbol(name: str) -> str:
    """``x`` -> ``x``; ``gamma`` -> ``\\gamma`` (parameter names as LaTeX)."""
    greek = {"gamma", "beta", "alpha", "mu", "sigma"}
    return f"\\{name}" if name in greek else name


# -- the mistakes page -------------------------------------------------------------
def mistakes_table(page_prefix: str = "layers/"):
    """Run the mutation catalogue, display it, and fail if a mistake went unseen."""
    from derivations.mutants import run_catalogue

    registry = _registry()
    results = run_catalogue()
    rows, unseen = [], []
    for r in results:
        m = r.mutant
        entry = registry[m.entry]
        rows.append([m.description, f"[{entry.title}]({page_prefix}{m.entry}.md)", m.symptom,
                     _caught(r.caught_by_finite_differences), _caught(r.caught_by_symbolic),
                     r.hint or "(none)", "slips through" if r.slips_square_ones else "caught"])
        if not (r.caught_by_finite_differences and r.caught_by_symbolic):
            unseen.append(f"{m.name}: finite differences caught it: "
                          f"{r.caught_by_finite_differences}, symbolic: {r.caught_by_symbolic}")
    display(Markdown(
        f"{len(results)} mistakes; finite differences caught "
        f"{sum(r.caught_by_finite_differences for r in results)}, the symbolic check caught "
        f"{sum(r.caught_by_symbolic for r in results)}.\n\n"
        + _markdown_table(["mistake", "entry", "symptom", "finite differences", "symbolic",
                           "hint printed", "square shapes, all-ones g"], rows)))
    if unseen:
        raise CheckFailed("mistakes the checks did not catch:\n" + "\n".join(unseen))
    return results


def _caught(caught: bool) -> str:
    return "caught" if caught else "**missed**"


def slipped_summary(results) -> None:
    """Which mistakes a square, all-ones check would have let through."""
    slipped = [r.mutant for r in results if r.slips_square_ones]
    if not slipped:
        display(Markdown("No mistake of the catalogue slips through the square, all-ones "
                         "check at present."))
        return
    items = "\n".join(f"- {m.description} ({m.entry}): {m.symptom}" for m in slipped)
    display(Markdown(
        f"{len(slipped)} of {len(results)} mistakes pass a finite-difference check run "
        f"with every axis of the same length and an all-ones upstream gradient:\n\n{items}\n\n"
        "With a square $W$ a transposed gradient has the right shape; with $g$ all ones, a "
        "sum over the wrong axis or a swapped product can give the same numbers."))
