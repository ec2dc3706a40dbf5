"""What the seed pages of the site compute and show: checks, tables, plots.

Every function here runs something at build time and displays the result; a
failed check raises :class:`SeedCheckFailed`, which fails the page's cell and
therefore the site build.
"""

from __future__ import annotations

import warnings

import numpy as np
from IPython.display import Markdown, display

from examples.seed_networks import (
    SeedSetup,
    registry_entries,
    samples_away_from_kinks,
    take,
)
from netlib.gradcheck import check_model

# netlib.fit imports tqdm.auto, which warns inside a notebook kernel without
# ipywidgets; the pages never show a progress bar (progress=False), so the
# warning would only print noise into the page.
warnings.filterwarnings("ignore", message="IProgress not found")


class SeedCheckFailed(AssertionError):
    """A check run while a seed page was built did not pass."""


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown pipe table (cells converted with ``str``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def show_facts(setup: SeedSetup) -> None:
    """The seed at a glance: architecture, layout, loss, data, init, optimizer."""
    display(Markdown(markdown_table(["", f"seed {setup.name}"],
                                    [[key, value] for key, value in setup.facts.items()])))


def check_point(setup: SeedSetup, limit: int | None = None):
    """Inputs and targets for a finite-difference check: samples away from ReLU kinks."""
    keep = samples_away_from_kinks(setup.model, setup.x)
    if limit is not None:
        keep = keep[:limit]
    if len(keep) == 0:
        raise SeedCheckFailed(f"seed {setup.name}: no sample away from ReLU kinks to check at")
    return take(setup.x, keep, setup.layout), take(setup.target, keep, setup.layout)


def whole_network_check(setup: SeedSetup, limit: int | None = None, model=None):
    """Check the whole model and loss end to end by finite differences, and show it.

    The table has one row per argument (the input ``x`` and every parameter,
    named ``"<layer index>.<name>"``): the entry that came closest to its
    tolerance, analytic against numeric, and the tolerance the checker derived.
    """
    model = setup.model if model is None else model
    x, target = check_point(setup, limit)
    report = check_model(model, setup.loss, x, target, rng=0)
    rows = [[f"`{c.name}`", "×".join(map(str, c.shape)), c.mode,
             f"{c.analytic:.8g}", f"{c.numeric:.8g}", f"{c.error:.1e}",
             f"{c.tolerance:.1e}", "pass" if c.passed else "**FAIL**"] for c in report.checks]
    verdict = "passed" if report.passed else "FAILED"
    n = x.shape[model.batch_axis]
    display(Markdown(
        f"Whole-network check of `{model!r}` with `{setup.loss!r}` on "
        f"{n} sample{'' if n == 1 else 's'} ({setup.layout} layout): **{verdict}**.\n\n"
        + markdown_table(["argument", "shape", "mode", "analytic", "numeric", "abs. error",
                          "tolerance", ""], rows)))
    if not report.passed:
        raise SeedCheckFailed(str(report))
    return report


def layer_checks(setup: SeedSetup) -> list:
    """Run the registry's symbolic and numeric checks of every block the seed uses."""
    from derivations.registry import get
    from derivations.verify import run_checks

    names = registry_entries(setup.model, setup.loss)
    rows, failures = [], []
    for row in run_checks(names):
        error = "n/a" if row.max_rel_error is None else f"{row.max_rel_error:.1e}"
        rows.append([get(row.entry).title, "output" if row.wrt is None else f"`{row.wrt}`",
                     row.check, row.shapes, "pass" if row.passed else "**FAIL**", error])
        if not row.passed:
            failures.append(f"{row.entry} d/d{row.wrt} at {row.shapes}: {row.message}")
    display(Markdown(
        f"Registry checks of the {len(names)} building blocks of seed {setup.name} "
        f"({', '.join(f'`{n}`' for n in names)}): {len(rows) - len(failures)} of "
        f"{len(rows)} passed.\n\n"
        + markdown_table(["entry", "w.r.t.", "check", "shapes", "result",
                          "max rel. error"], rows)))
    if failures:
        raise SeedCheckFailed("\n".join(failures))
    return rows


def plot_history(history, title: str, log: bool = False, accuracy: bool = True,
                 reported: tuple | None = None, xlabel: str = "epoch"):
    """Training loss (and accuracy, where there is one) per epoch.

    ``history`` is a :class:`netlib.History` or a dict of lists with
    ``train_loss`` and optionally ``train_accuracy``, ``val_accuracy``.
    ``reported`` is ``(first, last)``: the seed's own numbers, drawn as marks.
    ``xlabel`` names one point of the curve (an epoch, or a step).
    """
    import matplotlib.pyplot as plt

    record = history.as_dict() if hasattr(history, "as_dict") else history
    loss = np.asarray(record["train_loss"], dtype=float)
    epochs = np.arange(1, len(loss) + 1)
    curves = {name: record.get(name) for name in ("train_accuracy", "val_accuracy",
                                                  "test_accuracy")}
    curves = {name: values for name, values in curves.items()
              if accuracy and values and values[0] is not None}
    fig, axes = plt.subplots(1, 2 if curves else 1, figsize=(9 if curves else 5.5, 3.4),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(epochs, loss, label="training loss")
    if reported is not None:
        ax.plot([1, len(loss)], reported, "o", color="C3", label="the seed reported")
        ax.legend()
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if curves:
        ax2 = axes[0, 1]
        for name, values in curves.items():
            ax2.plot(epochs[:len(values)], values, label=name.replace("_", " "))
        ax2.set_xlabel(xlabel)
        ax2.set_ylabel("accuracy")
        ax2.legend()
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    return fig
