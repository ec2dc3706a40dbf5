"""What the executed pages of the site call: tables, figures, checks.

The pages import this module in their first (hidden) cell; ``conf.py`` puts
this folder on the kernel's ``PYTHONPATH``. Everything here is computed from
the registry and the check functions of :mod:`derivations.verify` at build
time; nothing here states a formula of its own.

A failed check raises :class:`CheckFailed` inside the page's cell, and
``nb_execution_raise_on_error`` turns that into a failed build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

#: Above this many characters of LaTeX a Jacobian is shown by its pattern of
#: nonzeros and its first nonzero entry instead of entry by entry. MathJax
#: refuses TeX longer than its internal buffer (5 KiB after macro expansion:
#: "MathJax internal buffer size exceeded"), and an attention Jacobian runs
#: to tens of thousands of characters that say no more than one entry does.
MAX_LATEX_CHARS = 4000


class CheckFailed(AssertionError):
    """A check that ran while the site was built did not pass."""


#: Written by ``netlib_site.registry_results`` earlier in the same build.
RESULTS = Path(__file__).resolve().parents[2] / ".jupyter_cache" / "netlib-check-results.json"


@dataclass(frozen=True)
class Row:
    """One check of one entry, as ``derivations.verify.CheckRow.as_dict`` gives it."""

    entry: str
    wrt: str | None
    shapes: str
    check: str
    passed: bool
    max_rel_error: float | None
    seconds: float
    message: str


def check_results(name: str) -> list[Row]:
    """The check rows of registry entry ``name`` computed by this build."""
    if not RESULTS.exists():
        raise CheckFailed(f"no check results at {RESULTS}: the site's Sphinx extension "
                          f"(docs/_ext/netlib_site.py) runs the checks before the pages")
    entries = json.loads(RESULTS.read_text(encoding="utf-8"))["entries"]
    if name not in entries:
        raise CheckFailed(f"no check results for {name!r} in {RESULTS} "
                          f"(has {sorted(entries)})")
    return [Row(**row) for row in entries[name]["rows"]]


def _registry():
    from derivations.registry import REGISTRY

    return REGISTRY


def _shape_text(shapes) -> str:
    if isinstance(shapes, str):
        return shapes
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table (cells converted with ``str``).

    The same few lines as ``examples.seed_report.markdown_table``: this module
    is also loaded by the Sphinx extension in builds that have no examples/
    (tests/test_site.py builds a copy with netlib/ and derivations/ only).
    """
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def _mark(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


def _error(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1e}"


# -- home page -----------------------------------------------------------------
def status_table(page_prefix: str = "layers/") -> None:
    """Display one row per registry entry from the check results stored by this build."""
    registry = _registry()
    by_entry = {name: check_results(name) for name in registry}
    rows, failures = [], []
    for name, checks in by_entry.items():
        d = registry[name]
        exact = [row.passed for row in checks if row.check in ("exact", "transpose")]
        numeric = [row.passed for row in checks if row.check == "numeric"]
        errors = [row.max_rel_error for row in checks
                  if row.check == "numeric" and row.max_rel_error is not None]
        shape_sets = sorted({row.shapes for row in checks})
        rows.append([f"[{d.title}]({page_prefix}{name}.md)", d.kind,
                     ", ".join(f"`{wrt}`" for wrt in d.inputs), str(len(shape_sets)),
                     f"{sum(exact)}/{len(exact)} " + _mark(all(exact)),
                     f"{sum(numeric)}/{len(numeric)} " + _mark(all(numeric)),
                     _error(max(errors) if errors else None),
                     f"{sum(row.seconds for row in checks):.1f}"])
        failures += [f"{name} d/d{row.wrt} ({row.check}) at {row.shapes}:\n{row.message}"
                     for row in checks if not row.passed]
    total = sum(len(checks) for checks in by_entry.values())
    display(Markdown(
        f"{len(by_entry)} entries, {total} checks, {total - len(failures)} passed, "
        f"{len(failures)} failed.\n\n"
        + markdown_table(["entry", "kind", "arguments", "shape sets", "exact",
                           "numeric", "worst rel. error", "seconds"], rows)))
    if failures:
        raise CheckFailed("checks failed while building the site:\n" + "\n".join(failures))


# -- one page per registry entry -------------------------------------------------
def _math_block(latex: str) -> str:
    return f"```{{math}}\n{latex}\n```"


class LayerPage:
    """The computed sections of one registry entry's page, as MyST text.

    ``docs/_ext/netlib_site.py`` calls these while it writes the page, in the
    same worker process that ran the entry's checks (the SymPy Jacobians are
    cached there), so a layer page needs no kernel of its own.
    """

    def __init__(self, name: str) -> None:
        from derivations.registry import get

        self.d = get(name)
        # The smallest shape set keeps the rendered matrices readable; the
        # checks run at every shape set.
        self.shapes = min(self.d.shape_sets,
                          key=lambda shapes: sum(int(np.prod(s)) for s in shapes.values()))

    def forward_text(self) -> str:
        """The forward map written out at the smallest shape set."""
        from derivations.latex import latex_forward

        text = latex_forward(self.d, self.shapes)
        if len(text) > MAX_LATEX_CHARS:
            return (f"Written out by SymPy at the shapes {_shape_text(self.shapes)}, the "
                    f"expression runs to {len(text)} characters of LaTeX; the definition "
                    f"above says the same in one line.")
        return (f"Written out by SymPy at the shapes {_shape_text(self.shapes)}:\n\n"
                + _math_block(text))

    def jacobians_text(self, image_path: Path, image_link: str) -> str:
        """Each Jacobian as SymPy gives it, and a heat map of all of them."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from derivations.latex import jacobian_structure
        from derivations.verify import jacobian, jacobian_numpy

        d, shapes, parts = self.d, self.shapes, []
        for wrt in d.inputs:
            J = jacobian(d, wrt, shapes)
            head = (rf"J_{{{wrt}}} = \frac{{\partial \operatorname{{vec}} y}}"
                    rf"{{\partial \operatorname{{vec}} {_symbol(wrt)}}}"
                    rf" \in \mathbb R^{{{J.rows}\times {J.cols}}}")
            text = _latex(J)
            if len(text) <= MAX_LATEX_CHARS:
                parts.append(_math_block(head + " = " + text))
                continue
            parts.append(_math_block(head))
            parts.append(f"The full matrix runs to {len(text)} characters of LaTeX; its "
                         "pattern of nonzero (`*`) and zero (`.`) entries:\n\n"
                         f"```text\n{jacobian_structure(d, wrt, shapes)}\n```")
            nonzero = [(i, j) for i in range(J.rows) for j in range(J.cols) if J[i, j] != 0]
            if nonzero:
                i, j = nonzero[0]
                entry = _latex(J[i, j])
                if len(entry) <= MAX_LATEX_CHARS:
                    parts.append("Its first nonzero entry:\n\n" + _math_block(
                        rf"(J_{{{wrt}}})_{{{i},{j}}} = {entry}"))
                else:
                    parts.append(f"Even its first nonzero entry runs to {len(entry)} "
                                 "characters of LaTeX.")
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
        image_path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(image_path, dpi=90, metadata={"Software": None})
        plt.close(fig)
        parts.append(f"![Heat maps of the Jacobians of {d.title}]({image_link})")
        return "\n\n".join(parts)

    def stated_text(self) -> str:
        """The stated closed-form VJP of every argument."""
        from derivations.latex import latex_stated

        return "\n\n".join(
            _math_block(rf"\frac{{\partial L}}{{\partial {_symbol(wrt)}}} = "
                        + latex_stated(self.d, wrt)) for wrt in self.d.inputs)

    @staticmethod
    def checks_text(rows: list[Row]) -> str:
        """The table of this entry's checks, as this build ran them."""
        table = [[row.check, "output" if row.wrt is None else f"`{row.wrt}`", row.shapes,
                  _mark(row.passed), _error(row.max_rel_error), f"{row.seconds:.2f}"]
                 for row in rows]
        return ("Each row ran during this build of the site. *exact*: the stated VJP minus "
                "reshape(Jᵀ vec G) simplifies to zero. *transpose*: this layout's VJPs are "
                "exactly the transposes of the other layout's. *numeric*: netlib's "
                "`backward` against the lambdified Jᵀ g in float64 at a random point with a "
                "random upstream gradient; *forward*: netlib's `forward` against the SymPy "
                "map; *finite differences*: netlib's `backward` against central differences "
                "of its `forward` (netlib.gradcheck). *max rel. error*: "
                "max|netlib − reference| / max|reference|.\n\n"
                + markdown_table(["check", "with respect to", "shapes", "result",
                                   "max rel. error", "seconds"], table))


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
        caught_by = [name for name, caught in (("finite differences",
                                                  r.caught_by_finite_differences),
                                                 ("symbolic", r.caught_by_symbolic)) if caught]
        rows.append([f"{m.description} ([{entry.name}]({page_prefix}{m.entry}.md))", m.symptom,
                     " and ".join(caught_by) if caught_by else "**missed**",
                     r.hint or "(none)", "slips through" if r.slips_square_ones else "caught"])
        if not (r.caught_by_finite_differences and r.caught_by_symbolic):
            unseen.append(f"{m.name}: finite differences caught it: "
                          f"{r.caught_by_finite_differences}, symbolic: {r.caught_by_symbolic}")
    display(Markdown(
        f"{len(results)} mistakes; finite differences caught "
        f"{sum(r.caught_by_finite_differences for r in results)}, the symbolic check caught "
        f"{sum(r.caught_by_symbolic for r in results)}.\n\n"
        + markdown_table(["mistake (entry)", "symptom", "caught by",
                           "hint the finite-difference report prints",
                           "square shapes, all-ones g"], rows)))
    if unseen:
        raise CheckFailed("mistakes the checks did not catch:\n" + "\n".join(unseen))
    return results


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
