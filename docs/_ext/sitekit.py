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
import os
import re
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


#: Written by ``netlib_site.registry_results`` earlier in the same build, in the
#: build's cache folder (``nb_execution_cache_path``), which the extension
#: hands to the page kernels as NETLIB_CHECK_RESULTS.
RESULTS = Path(os.environ.get(
    "NETLIB_CHECK_RESULTS",
    Path(__file__).resolve().parents[2] / ".jupyter_cache" / "netlib-check-results.json"))


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
    tolerance: float | None = None     # the row's own, where its check states one

    @classmethod
    def of(cls, row: dict) -> Row:
        """The row from ``CheckRow.as_dict``, keeping the fields the pages show.

        ``as_dict`` may carry more keys (a margin, a hint) than the tables
        read, and has ``tolerance`` only where the check states one.
        """
        from dataclasses import fields

        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


def check_results(name: str) -> list[Row]:
    """The check rows of registry entry ``name`` computed by this build."""
    if not RESULTS.exists():
        raise CheckFailed(f"no check results at {RESULTS}: the site's Sphinx extension "
                          f"(docs/_ext/netlib_site.py) runs the checks before the pages")
    entries = json.loads(RESULTS.read_text(encoding="utf-8"))["entries"]
    if name not in entries:
        raise CheckFailed(f"no check results for {name!r} in {RESULTS} "
                          f"(has {sorted(entries)})")
    return [Row.of(row) for row in entries[name]["rows"]]


def _registry():
    from derivations.registry import REGISTRY

    return REGISTRY


def _shape_text(shapes) -> str:
    if isinstance(shapes, str):
        return shapes
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())


def table_cell(value) -> str:
    r"""One cell of a Markdown pipe table: ``value`` as text that keeps its column.

    A ``|`` ends a cell wherever it stands, inside ``$...$`` math and code spans
    too (the log det identity, :math:`\ln\lvert\det X\rvert`, lost its
    columns this way). Inside math a bar becomes ``\vert`` (``\|`` becomes
    ``\Vert``), which TeX draws the same; elsewhere it is escaped as ``\|``,
    which the table parser turns back into ``|`` (in code spans too). A line
    break would end the row: it becomes a space.
    """
    text = str(value).replace("\r", " ").replace("\n", " ")
    return _CELL_PARTS.sub(_cell_part, text)


#: A code span, a ``$...$`` formula, or a bar anywhere else.
_CELL_PARTS = re.compile(r"(`[^`]*`)|(\$[^$]+\$)|(\|)")


def _cell_part(match: re.Match) -> str:
    code, math, _ = match.groups()
    if code:
        return code.replace("|", "\\|")
    if math:
        return math.replace("\\|", "\\Vert ").replace("|", "\\vert ")
    return "\\|"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table; every cell goes through :func:`table_cell`.

    The same few lines as ``examples.seed_report.markdown_table``: this module
    is also loaded by the Sphinx extension in builds that have no examples/
    (tests/test_site.py builds a copy with netlib/ and derivations/ only).
    """
    lines = ["| " + " | ".join(table_cell(cell) for cell in header) + " |",
             "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(table_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _mark(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


def _error(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "0" if value == 0 else f"{value:.1e}"


# -- home page and status page ---------------------------------------------------
def status_line(status_page: str = "status.md") -> None:
    """One sentence for the home page: entries and checks of this build, linked to the table."""
    registry = _registry()
    rows = [row for name in registry for row in check_results(name)]
    failed = [row for row in rows if not row.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} checks failed while building the site")
    display(Markdown(
        f"**Verified when this site was built:** {len(registry)} layers and losses, "
        f"{len(rows)} checks passed, none failed ([every check, entry by entry]"
        f"({status_page}))."))


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
#: Above this many characters of LaTeX a formula is folded away (a collapsed
#: block the reader opens on purpose) instead of shown in the page's flow.
FOLD_LATEX_CHARS = 2000


def _math_block(latex: str) -> str:
    return f"```{{math}}\n{latex}\n```"


#: Characters of LaTeX per displayed line of a long sum: about 60 rendered
#: columns, which fit the text column at 1280 px.
LINE_LATEX_CHARS = 90


def _broken_sum(lhs: str, terms: list[str]) -> str:
    """``lhs = t1 + t2 + ...`` as an ``aligned`` block, a new line before a line gets long."""
    lines, current = [], ""
    for term in terms:
        joined = term if not current else (
            f"{current} {term}" if term.startswith("-") else f"{current} + {term}")
        if current and len(joined) > LINE_LATEX_CHARS:
            lines.append(current)
            current = term if term.startswith("-") else f"+ {term}"
        else:
            current = joined
    lines.append(current)
    return (rf"\begin{{aligned}} {lhs} &= {lines[0]}"
            + "".join(rf" \\ &\quad {line}" for line in lines[1:]) + r" \end{aligned}")


def fold(summary: str, body: str) -> str:
    """A collapsed block: ``summary`` is always shown, ``body`` (MyST) on request."""
    summary = summary.replace("<", "&lt;").replace(">", "&gt;")
    return (f'<details class="netlib-fold">\n<summary>{summary}</summary>\n\n{body}\n\n'
            "</details>")


def _rst_to_myst(text: str) -> str:
    """A docstring's first sentence, its reStructuredText roles made MyST."""
    text = re.sub(r":math:`([^`]*)`", r"$\1$", text)
    text = re.sub(r":(?:class|func|meth|mod|data|attr):`~?([^`]*)`", r"`\1`", text)
    return text.replace("``", "`")


def _docstring_line(kind: type) -> str:
    """First paragraph of the first docstring along ``kind``'s MRO within derivations."""
    for klass in kind.__mro__:
        if klass.__module__.startswith("derivations") and klass.__doc__:
            paragraph = klass.__doc__.strip().split("\n\n")[0]
            return _rst_to_myst(" ".join(line.strip() for line in paragraph.splitlines()))
    return ""


class LayerPage:
    """The computed sections of one registry entry's page, as MyST text.

    ``docs/_ext/netlib_site.py`` calls these while it writes the page, in the
    same worker process that ran the entry's checks (the SymPy Jacobians are
    cached there), so a layer page needs no kernel of its own. Every formula
    is SymPy's or the printer's output of the checked expressions; long ones
    are summarised and folded away (:func:`fold`), never dumped.
    """

    def __init__(self, name: str) -> None:
        from derivations.registry import get

        self.d = get(name)
        # The smallest shape set keeps the rendered matrices readable; the
        # checks run at every shape set.
        self.shapes = min(self.d.shape_sets,
                          key=lambda shapes: sum(int(np.prod(s)) for s in shapes.values()))

    # -- names -----------------------------------------------------------------
    def _atoms(self) -> list:
        """Matrix symbols, operators and named quantities of the entry's expressions."""
        import sympy

        from derivations.notation import Operator, is_expression

        found = []
        for expr in [self.d.forward, *self.d.stated.values()]:
            if not is_expression(expr):
                continue
            for atom in sympy.preorder_traversal(expr):
                if isinstance(atom, (sympy.MatrixSymbol, Operator)) and atom not in found:
                    found.append(atom)
        return found

    def symbol(self, name: str) -> str:
        """LaTeX of argument ``name`` as the printer shows it (``Wq`` -> ``W_{q}``)."""
        import sympy

        from derivations.printing import latex

        for atom in self._atoms():
            if isinstance(atom, sympy.MatrixSymbol) and atom.name == name:
                return latex(atom)
        return _symbol(name)

    def _gradient(self, wrt: str) -> str:
        return rf"\frac{{\partial L}}{{\partial {self.symbol(wrt)}}}"

    # -- sections ----------------------------------------------------------------
    def forward_text(self) -> str:
        """The forward map written out at the smallest shape set, folded away."""
        from derivations.latex import latex_forward

        text = latex_forward(self.d, self.shapes)
        summary = (f"The forward map written out by SymPy, entry by entry, at the shapes "
                   f"{_shape_text(self.shapes)}")
        if len(text) > MAX_LATEX_CHARS:
            return (f"(Written out entry by entry at the shapes {_shape_text(self.shapes)}, "
                    "SymPy's form of this map is too long to typeset; the definition says "
                    "the same.)")
        return fold(summary, _math_block(text))

    def derivation_text(self) -> str:
        """The chain rule in index form, and SymPy's sum for the first entry of each gradient."""
        import sympy

        from derivations.verify import jacobian

        d, shapes = self.d, self.shapes
        G = d.upstream_symbol(shapes)
        flat_G = list(G)
        symbols = d.symbols(shapes)
        loss = d.kind == "loss"
        parts = [
            "One entry of a gradient collects every output that entry touches, each "
            "weighted by the upstream gradient (the chain rule, with $y$ and the "
            "argument $a$ flattened row by row; see {doc}`../conventions`):",
            _math_block(r"\frac{\partial L}{\partial a_k} = \sum_i \frac{\partial L}"
                        r"{\partial y_i}\,\frac{\partial y_i}{\partial a_k} = \sum_i G_i\,"
                        r"J_{ik}, \qquad \operatorname{vec}\frac{\partial L}{\partial A} = "
                        r"J_A^\top \operatorname{vec} G ."),
        ]
        if loss:
            parts.append("For a loss the output is the scalar $L$ itself, $J$ has one row, "
                         "and $G$ is the number `backward(g)` receives (1 at the end of "
                         "the chain).")
        parts.append(f"SymPy forms this sum at the shapes {_shape_text(shapes)}. For the "
                     "first entry of each argument it gives the following; the exact check "
                     "below proves the whole sum equals the stated formula, entry by entry.")
        folded, long = [], []
        for wrt in d.inputs:
            J = jacobian(d, wrt, shapes)
            first = sympy.latex(symbols[wrt][0])
            terms = [flat_G[i] * J[i, 0] for i in range(J.rows) if J[i, 0] != 0]
            lhs = rf"\frac{{\partial L}}{{\partial {first}}}"
            if not terms:
                parts.append(_math_block(lhs + " = 0"))
                continue
            text = sympy.latex(sympy.Add(*terms))
            block = _math_block(_broken_sum(lhs, [sympy.latex(t) for t in terms]))
            longest = max(len(sympy.latex(t)) for t in terms)
            if len(text) <= FOLD_LATEX_CHARS and longest <= LINE_LATEX_CHARS:
                parts.append(block)
            elif len(text) <= MAX_LATEX_CHARS:
                folded.append((f"∂L/∂{wrt}[0]: a sum of {len(terms)} terms", block))
            else:
                long.append(f"${self.symbol(wrt)}$ ({len(terms)} terms)")
        parts += [fold(summary, body) for summary, body in folded]
        if long:
            parts.append("For " + ", ".join(long) + " the sum is too long to typeset: its "
                         "terms are long expressions in the entries. The stated formula "
                         "below is its closed form.")
        return "\n\n".join(parts)

    def jacobians_text(self, image_path: Path, image_link: str) -> str:
        """A heat map of every Jacobian, then the matrices themselves, folded away."""
        from derivations.latex import jacobian_structure
        from derivations.verify import jacobian, jacobian_numpy

        d, shapes = self.d, self.shapes
        values = d.sample(np.random.default_rng(0), shapes)
        matrices = [(wrt, jacobian_numpy(d, wrt, shapes, values=values)) for wrt in d.inputs]
        self._heat_maps(matrices, image_path)
        loss = d.kind == "loss"
        if loss:
            what = ("A loss has one output, so its Jacobian is a single row; the picture "
                    "shows that row reshaped to the argument's shape, i.e. the gradient "
                    "itself")
        else:
            what = ("Rows index the output $y$, columns the argument, both flattened row "
                    "by row (numerator layout); white is zero, and zeros are structure, "
                    "not chance")
        parts = [f"![Heat maps of the Jacobians of {d.title}]({image_link})",
                 f"The Jacobians at a random point, at the shapes {_shape_text(shapes)}. "
                 f"{what}. Colour is the value (scale beside each map)."]
        shown = []
        for wrt in d.inputs:
            J = jacobian(d, wrt, shapes)
            head = (rf"J_{{{self.symbol(wrt)}}} = \frac{{\partial \operatorname{{vec}} y}}"
                    rf"{{\partial \operatorname{{vec}} {self.symbol(wrt)}}}"
                    rf" \in \mathbb R^{{{J.rows}\times {J.cols}}}")
            text = _latex(J)
            nonzero = sum(1 for entry in J if entry != 0)
            if len(text) <= MAX_LATEX_CHARS:
                shown.append(_math_block(head + " = " + text))
            else:
                shown.append(_math_block(head) + f"\n\n{nonzero} of its {J.rows * J.cols} "
                             "entries are nonzero (`*`), too long to typeset one by one "
                             f"({len(text):,} characters of LaTeX):\n\n"
                             f"```text\n{jacobian_structure(d, wrt, shapes)}\n```")
        sizes = ", ".join(f"{wrt}: {J.shape[0]}×{J.shape[1]}" for wrt, J in matrices)
        parts.append(fold(f"The Jacobians entry by entry, as SymPy gives them ({sizes})",
                          "\n\n".join(shown)))
        return "\n\n".join(parts)

    def _heat_maps(self, matrices, image_path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        d, shapes = self.d, self.shapes
        loss = d.kind == "loss"
        if loss:   # one row: show it in the argument's own shape
            symbols = d.symbols(shapes)
            matrices = [(wrt, J.reshape(symbols[wrt].shape)) for wrt, J in matrices]
        columns = min(len(matrices), 3)
        rows = -(-len(matrices) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns + 0.6, 3.4 * rows),
                                 squeeze=False)
        for ax in axes.flat[len(matrices):]:
            ax.axis("off")
        for ax, (wrt, J) in zip(axes.flat, matrices, strict=False):
            limit = float(np.abs(J).max()) or 1.0
            image = ax.imshow(J, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
                              interpolation="nearest")
            symbol = self.symbol(wrt)
            if loss:
                ax.set_title(rf"$\partial L/\partial {symbol}$, {J.shape[0]}×{J.shape[1]}")
                ax.set_xlabel("column of " + wrt)
                ax.set_ylabel("row of " + wrt)
            else:
                ax.set_title(f"$J_{{{symbol}}}$, {J.shape[0]}×{J.shape[1]}")
                ax.set_xlabel(f"entry of vec {wrt}")
                ax.set_ylabel("entry of vec y")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
            ax.tick_params(labelsize=8)
            fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03).ax.tick_params(labelsize=7)
        fig.tight_layout()
        image_path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(image_path, dpi=100, bbox_inches="tight", pad_inches=0.05,
                    metadata={"Software": None})
        plt.close(fig)

    def stated_text(self) -> str:
        """The stated closed-form VJP of every argument (the printer's output)."""
        from derivations.latex import latex_stated

        return "\n\n".join(
            _math_block(f"{self._gradient(wrt)} = " + latex_stated(self.d, wrt))
            for wrt in self.d.inputs)

    def symbols_text(self) -> str:
        """Every symbol of the page's formulas: its shape and what it is."""
        import sympy

        from derivations.printing import latex

        d = self.d
        rows = [[f"${'L' if d.kind == 'loss' else 'Y'}$", "output",
                 "the loss, a number" if d.kind == "loss"
                 else f"the layer's {_glossary('output', 'x-y')}; $y = \\operatorname{{vec}} Y$ "
                 f"{_glossary('flattened row by row', 'vec')}"]]
        seen = set()
        for atom in self._atoms():
            text = latex(atom)
            if isinstance(atom, sympy.MatrixSymbol):
                if text in seen:
                    continue
                seen.add(text)
                shape = _shape_latex(atom)
                if atom.name == "G":
                    meaning = (_glossary("upstream gradient", "upstream-gradient")
                               + " $\\partial L/\\partial Y$, the shape of the output")
                elif atom.name == d.forward_arg:
                    meaning = _glossary("input", "x-y") + " (`x` in netlib)"
                elif atom.name in d.inputs:
                    meaning = _glossary("parameter", "parameters") + f" (`{atom.name}` in netlib)"
                elif atom.name in d.constants:
                    meaning = f"constant, not differentiated (`{atom.name}`: the targets)"
                else:
                    meaning = _docstring_line(type(atom))
                rows.append([f"${text}$", shape, meaning])
            else:
                kind = type(atom).__name__
                key = text if kind in ("Quantity", "Backward") else kind
                # An operator by its own name: its arguments (listed on their
                # own rows) shown as a dot, pad(·) rather than pad(G).
                for argument in atom.args:
                    if isinstance(argument, sympy.MatrixExpr) and latex(argument) in text:
                        text = text.replace(latex(argument), r"\cdot")
                if key in seen or kind == "Where":
                    continue
                seen.update({key, text})
                if kind == "Quantity":
                    meaning = "computed by the forward pass (see the definition)"
                elif kind == "Backward":
                    meaning = ("gradient of $L$ with respect to the forward quantity of the "
                               "same letter, defined in the *where* lines")
                else:
                    meaning = _docstring_line(type(atom))
                # An operator's shape is that of a flattened view: left out.
                shape = _shape_latex(atom) if kind in ("Quantity", "Backward") else ""
                rows.append([f"${text}$", shape, meaning])
        stated = " ".join(self.d.stated_text(wrt) for wrt in d.inputs)
        notation = [(r"\odot", r"\odot", _glossary("elementwise (Hadamard) product", "hadamard")),
                    (r"^\top", r"A^\top", _glossary("transpose", "transpose")),
                    (r"\mathbf{1}", r"\mathbf 1",
                     _glossary("a column of ones", "ones") + " (sums rows or columns)")]
        rows += [[f"${shown}$", "", meaning] for marker, shown, meaning in notation
                 if marker in stated and marker not in seen]
        rows.append([r"$J_A$", "", _glossary("Jacobian", "jacobian")
                     + " $\\partial \\operatorname{vec} y / \\partial \\operatorname{vec} A$, "
                     "one row per output entry"])
        return ("Every symbol of the formulas above; the general conventions are in "
                "{doc}`../conventions`.\n\n"
                + markdown_table(["symbol", "shape", "meaning"], rows))

    @staticmethod
    def checks_text(rows: list[Row], tolerances: dict | None = None) -> str:
        """The table of this entry's checks, as this build ran them.

        ``tolerances`` maps ``(wrt, shapes)`` of a finite-difference row to
        ``(error, tolerance)``, both absolute at the worst entry (from the
        same checker's report); the other numeric rows are relative errors
        against the row's own tolerance, or
        :data:`derivations.verify.rows.NUMERIC_RTOL` where it states none.
        """
        from derivations.verify.numeric import ROUNDING_FACTOR
        from derivations.verify.rows import NUMERIC_RTOL

        tolerances = tolerances or {}
        table = []
        for row in rows:
            if row.check in ("exact", "transpose"):
                error, tolerance, units = "0", "0", "exact"
            elif row.check == "finite differences" and (row.wrt, row.shapes) in tolerances:
                abs_error, abs_tolerance = tolerances[row.wrt, row.shapes]
                error, tolerance = _error(abs_error), f"{abs_tolerance:.1e}"
                units = "absolute"
            else:
                stated = NUMERIC_RTOL if row.tolerance is None else row.tolerance
                error, tolerance = _error(row.max_rel_error), f"{stated:.0e}"
                units = "relative"
            table.append([row.check, "output" if row.wrt is None else f"`{row.wrt}`",
                          row.shapes, error, tolerance, units, _mark(row.passed)])
        return ("Every row ran while this page was built; a row passes when its *error* "
                "is at most its *tolerance*, both in the units of its *units* column. "
                "*exact*: the stated VJP minus reshape(Jᵀ vec G) simplifies to zero "
                "(no rounding, so both are 0). *transpose*: this layout's VJPs are exactly "
                "the transposes of the other layout's. *numeric*: netlib's `backward` "
                "against the lambdified Jᵀ g (evaluated in extended precision) at a random "
                f"point with a random upstream gradient; its tolerance is {NUMERIC_RTOL:.0e}, "
                f"or {ROUNDING_FACTOR:g} times what float64 rounding costs Jᵀ g at that point "
                "where terms cancel. *forward*: netlib's `forward` against the SymPy map, "
                f"tolerance {NUMERIC_RTOL:.0e}. "
                "Both *relative*, max|netlib − SymPy| / max|SymPy|. "
                "*finite differences*: netlib's `backward` against central differences of "
                "its `forward` (`netlib.gradcheck`); *absolute* error at the worst entry "
                "against the tolerance the checker derives from the step size.\n\n"
                + markdown_table(["check", "w.r.t.", "shapes", "error", "tolerance",
                                   "units", "result"], table))


def _glossary(text: str, entry: str) -> str:
    """``text`` linked to its entry in the glossary (docs/conventions.md, ``glossary-<entry>``)."""
    return f"{{ref}}`{text} <glossary-{entry}>`"


def _shape_latex(atom) -> str:
    """``$(N, n_{in})$``: a matrix expression's shape in its size symbols."""
    import sympy

    try:
        sizes = [sympy.latex(size, mul_symbol="dot") for size in atom.shape]
    except (AttributeError, TypeError):
        return ""
    return "$(" + ", ".join(sizes) + ")$"


def _latex(matrix) -> str:
    import sympy

    return sympy.latex(matrix, mat_delim="(")


def _symbol(name: str) -> str:
    """``x`` -> ``x``; ``gamma`` -> ``\\gamma``; ``Wq`` -> ``W_{q}`` (names as LaTeX)."""
    greek = {"gamma", "beta", "alpha", "mu", "sigma"}
    if name in greek:
        return f"\\{name}"
    match = re.fullmatch(r"([A-Za-z])([a-z0-9]+)", name)
    return f"{match[1]}_{{{match[2]}}}" if match else name


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


# -- pictures ----------------------------------------------------------------------
def _product_row(ax, y: float, terms, unit: float = 0.32) -> dict:
    """Draw ``A · B = C`` as boxes sized by their shapes, left to right from x = 0.

    ``terms`` is a list of ``(key, label, rows, cols, colour)`` and operator
    strings. Returns ``{key: (left, bottom, width, height)}`` of the boxes,
    for the arrows between rows.
    """
    from matplotlib.patches import Rectangle

    x, boxes = 0.0, {}
    for term in terms:
        if isinstance(term, str):
            ax.text(x + 0.25, y, term, ha="center", va="center", fontsize=15)
            x += 0.5
            continue
        key, label, rows, cols, colour = term
        width, height = cols * unit, rows * unit
        ax.add_patch(Rectangle((x, y - height / 2), width, height, facecolor=colour,
                               edgecolor="black", linewidth=1.2, alpha=0.85))
        for i in range(1, rows):            # one cell per entry: the shape at a glance
            ax.plot([x, x + width], [y - height / 2 + i * unit] * 2, color="white", lw=0.6)
        for j in range(1, cols):
            ax.plot([x + j * unit] * 2, [y - height / 2, y + height / 2], color="white", lw=0.6)
        ax.text(x + width / 2, y + height / 2 + 0.12, label, ha="center", va="bottom",
                fontsize=12)
        ax.text(x + width / 2, y - height / 2 - 0.1, f"{rows}×{cols}", ha="center",
                va="top", fontsize=9, color="#333")
        boxes[key] = (x, y - height / 2, width, height)
        x += width + 0.15
    return boxes


def _flow_arrow(ax, start, end, label: str, colour: str, bend: float) -> None:
    """A curved arrow from the bottom of box ``start`` to the top of box ``end``."""
    tail = (start[0] + start[2] / 2, start[1] - 0.32)
    head = (end[0] + end[2] / 2, end[1] + end[3] + 0.45)
    ax.annotate("", xy=head, xytext=tail, arrowprops={
        "arrowstyle": "-|>", "color": colour, "lw": 1.4, "shrinkA": 0, "shrinkB": 0,
        "connectionstyle": f"arc3,rad={bend}"})
    # The label sits by the arrow's tail, under the box it starts from.
    ax.text(tail[0] + 0.08, tail[1] - 0.05, label, color=colour, fontsize=9, ha="left",
            va="top", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                            "alpha": 0.85})


def dense_shape_diagram(N: int = 2, n_in: int = 3, n_out: int = 4):
    """The dense layer's forward and backward products in both layouts, boxes to scale.

    Each box has a cell per entry, so a transpose is visibly a turned box and a
    product fits only where the inner sizes meet. Arrows show where each
    factor of the backward products comes from: ``G`` arrives in ``Y``'s
    shape from the layer above, ``Wᵀ`` and ``Xᵀ`` are the forward factors
    turned. Returns the figure.
    """
    import matplotlib.pyplot as plt

    blue, orange, green, grey = "#4c72b0", "#dd8452", "#55a868", "#8172b3"
    T = "^\\top"
    rows_layout = [
        ("forward", [("X", "$X$", N, n_in, blue), "·", ("W", "$W$", n_in, n_out, orange), "=",
                     ("Y", "$Y$", N, n_out, green)]),
        ("input gradient", [("G1", "$G$", N, n_out, grey), "·",
                            ("WT", f"$W{T}$", n_out, n_in, orange), "=",
                            ("dX", "$\\partial L/\\partial X$", N, n_in, blue)]),
        ("weight gradient", [("XT", f"$X{T}$", n_in, N, blue), "·", ("G2", "$G$", N, n_out, grey),
                             "=", ("dW", "$\\partial L/\\partial W$", n_in, n_out, orange)]),
    ]
    columns_layout = [
        ("forward", [("W", "$W$", n_out, n_in, orange), "·", ("X", "$X$", n_in, N, blue), "=",
                     ("Y", "$Y$", n_out, N, green)]),
        ("input gradient", [("WT", f"$W{T}$", n_in, n_out, orange), "·",
                            ("G1", "$G$", n_out, N, grey), "=",
                            ("dX", "$\\partial L/\\partial X$", n_in, N, blue)]),
        ("weight gradient", [("G2", "$G$", n_out, N, grey), "·", ("XT", f"$X{T}$", N, n_in, blue),
                             "=", ("dW", "$\\partial L/\\partial W$", n_out, n_in, orange)]),
    ]
    gap = 3.1                                # vertical distance between the rows
    fig, axes = plt.subplots(1, 2, figsize=(11, 8.4))
    for ax, (title, layout, bend) in zip(axes, (
            (f"row layout: $X$ is ({N}, {n_in}), $W$ is ({n_in}, {n_out})", rows_layout, 0.35),
            (f"column layout: $X$ is ({n_in}, {N}), $W$ is ({n_out}, {n_in})",
             columns_layout, 0.0)), strict=True):
        boxes = {}
        for row, (name, terms) in enumerate(layout):
            y = -row * gap
            boxes.update(_product_row(ax, y, terms))
            ax.text(-0.1, y + 1.25, name, fontsize=11, ha="left", va="bottom",
                    fontweight="bold")
        _flow_arrow(ax, boxes["Y"], boxes["G1"], "$G = \\partial L/\\partial Y$ comes\n"
                    "back in $Y$'s shape", grey, -0.2)
        _flow_arrow(ax, boxes["W"], boxes["WT"], "transpose", orange, 0.0)
        _flow_arrow(ax, boxes["X"], boxes["XT"], "transpose", blue, bend)
        ax.set_title(title, fontsize=11, loc="left")
        ax.set_xlim(-0.6, 5.8)
        ax.set_ylim(-2 * gap - 1.2, 1.7)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    return fig


def composition_graph(layers: list[str], loss: str = "loss"):
    """A network as a computational graph: forward arrows above, VJPs below.

    ``layers`` are the boxes' names in order; the values between them are
    :math:`x = a_0, a_1, \\dots` and the gradients coming back
    :math:`g_k = \\partial L / \\partial a_k`. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    names = [*layers, loss]
    count = len(names)
    fig, ax = plt.subplots(figsize=(1.9 * count + 1.2, 2.9))
    width, gap = 1.3, 0.6
    centres = [0.9 + index * (width + gap) + width / 2 for index in range(count)]
    for index, (name, centre) in enumerate(zip(names, centres, strict=True)):
        colour = "#f2c9a8" if index == count - 1 else "#c8d7ee"
        ax.add_patch(FancyBboxPatch((centre - width / 2, -0.45), width, 0.9,
                                    boxstyle="round,pad=0.05", facecolor=colour,
                                    edgecolor="black"))
        ax.text(centre, 0, name, ha="center", va="center", fontsize=11)
    starts = [0.0, *[c + width / 2 for c in centres[:-1]]]
    ends = [c - width / 2 for c in centres]
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        label = "$x$" if k == 0 else f"$a_{k}$"
        ax.annotate("", xy=(end, 0.25), xytext=(start, 0.25),
                    arrowprops={"arrowstyle": "->", "color": "#2a5caa", "lw": 1.6})
        ax.text((start + end) / 2, 0.42, label, ha="center", va="bottom", color="#2a5caa")
        gradient = r"$\partial L/\partial x$" if k == 0 else f"$g_{k}$"
        ax.annotate("", xy=(start, -0.25), xytext=(end, -0.25),
                    arrowprops={"arrowstyle": "->", "color": "#b5442c", "lw": 1.6})
        ax.text((start + end) / 2, -0.42, gradient, ha="center", va="top", color="#b5442c")
    ax.text(0.0, 1.05, "forward: each layer keeps what its backward needs", color="#2a5caa",
            fontsize=10, va="bottom")
    ax.text(0.0, -1.05, r"backward: $g_{k-1} = J_k^\top g_k$, one VJP per layer, "
            "right to left", color="#b5442c", fontsize=10, va="top")
    ax.set_xlim(-0.2, centres[-1] + width / 2 + 0.2)
    ax.set_ylim(-1.4, 1.4)
    ax.axis("off")
    fig.tight_layout()
    return fig
