r"""The mutation catalogue: realistic wrong backward passes, and the checks that catch them.

Each :class:`Mutant` is one mistake people make when they write backprop by
hand (a missing transpose, a bias summed over the wrong axis, ``1/batch``
applied twice...), attached to the registry entry it breaks. Its ``wrong``
class is a subclass of the entry's netlib class that overrides only the
backward computation; :meth:`Mutant.make` builds the entry's layer with the
given values and gives it the wrong backward. Two independent checks must
reject every mutant:

* **finite differences** — :func:`derivations.verify.finite_difference_check`,
  netlib's one finite-difference engine (:mod:`netlib.gradcheck`) applied to
  the entry;
* **symbolic** — :func:`symbolic_check`, the engine's numeric check
  (:func:`derivations.verify.check_numeric`: netlib's VJP against the
  lambdified SymPy Jacobian) applied to the mutated layer.

Both use non-square shapes (the entry's shape sets) and random upstream
gradients. :func:`square_ones_check` shows why: with every axis the same size
and an all-ones upstream gradient, some mutants pass, and each entry records
whether it does (``slips_square_ones``, confirmed by the tests).

A mutant lives beside its derivation, in the entry's file under
``derivations/layers/``: one class, and one line in the entry's ``mutants``
(every entry has at least one; ``tests/test_mutants.py`` holds each to being
caught)::

    class LayerNormMeanNotSubtracted(LayerNorm):
        def _backward(self, g): ...

    LAYER_NORM = Derivation(..., mutants=(
        Mutant("layer_norm_...", "one line: the mistake", "one line: what goes wrong",
               LayerNormMeanNotSubtracted),
    ))

:data:`MUTANTS` collects them from the registry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from derivations.core import Derivation, Mutant
from derivations.registry import REGISTRY
from derivations.verify import (
    check_numeric,
    finite_difference_check,
    netlib_forward,
    sample_values,
)
from netlib.gradcheck import GradcheckReport

#: The catalogue: every entry's mutants, in registry order. Each is written
#: beside its derivation (``Derivation.mutants`` in ``derivations/layers/``).
MUTANTS: tuple[Mutant, ...] = tuple(m for d in REGISTRY.values() for m in d.mutants)


#: Changes that look like mistakes but are not: the checks rightly accept them.
NOT_MISTAKES: tuple[tuple[str, str], ...] = (
    ("ReLU mask from the output sign, y > 0", "y > 0 exactly when x > 0: the same mask"),
    ("ReLU mask x >= 0 instead of x > 0", "differs only at x = 0, where ReLU has no "
     "derivative and any value in [0, 1] is a valid subgradient"),
)


def mutant_names() -> list[str]:
    return [m.name for m in MUTANTS]


def get_mutant(name: str) -> Mutant:
    for mutant in MUTANTS:
        if mutant.name == name:
            return mutant
    raise KeyError(f"derivations.mutants: no mutant named {name!r}; known: "
                   f"{', '.join(mutant_names())}")


# -- the two checkers, on any registry entry (or a mutated one) ----------------------

# netlib_forward and finite_difference_check live in the verification engine
# (derivations.verify); they are imported above and used here under those names.

def symbolic_check(d: Derivation, shapes: dict, rng) -> bool:
    """True when netlib's (possibly mutated) backward matches the lambdified Jᵀg.

    :func:`derivations.verify.check_numeric` at one random point of ``shapes``
    (relative error at most ``NUMERIC_RTOL`` for every input).
    """
    return all(row.passed for row in check_numeric(d, shapes, np.random.default_rng(rng)))


def square_shapes(d: Derivation, size: int = 3) -> dict:
    """The entry's first shape set with every axis of length ``size``."""
    return {name: (size,) * len(shape) for name, shape in d.shape_sets[0].items()}


def square_ones_check(d: Derivation, rng=0) -> GradcheckReport:
    """The finite-difference check as it should *not* be run: square, all-ones g."""
    shapes = square_shapes(d)
    rng = np.random.default_rng(rng)
    values = sample_values(d, shapes, rng)
    y = netlib_forward(d, REGISTRY[d.name].build(values), values)
    return finite_difference_check(d, shapes, rng, upstream=np.ones(np.shape(y)),
                                   values=values)


# -- running the catalogue --------------------------------------------------------

@dataclass
class MutantResult:
    """How one mutant fared. ``caught_*`` hold at every shape set of the entry."""

    mutant: Mutant
    caught_by_finite_differences: bool
    caught_by_symbolic: bool
    slips_square_ones: bool
    hint: str
    report: str
    seconds: float


def run_mutant(mutant: Mutant, seed: int = 0) -> MutantResult:
    started = time.perf_counter()
    d = mutant.as_derivation()
    fd_caught, symbolic_caught, hint, text = True, True, "", ""
    for index, shapes in enumerate(d.shape_sets):
        report = finite_difference_check(d, shapes, seed + index)
        fd_caught &= not report.passed
        symbolic_caught &= not symbolic_check(d, shapes, seed + index)
        if not text:
            text = str(report)
            hint = "; ".join(f"{c.name}: {c.hint}" for c in report.failures() if c.hint)
    slips = square_ones_check(d, seed).passed
    return MutantResult(mutant, fd_caught, symbolic_caught, slips, hint, text,
                        time.perf_counter() - started)


def run_catalogue(seed: int = 0) -> list[MutantResult]:
    return [run_mutant(mutant, seed) for mutant in MUTANTS]


def false_alarms(seeds: int = 200, names=None) -> dict[str, int]:
    """Correct code checked at ``seeds`` random points per entry: rejections per checker.

    Each seed draws new values and a new upstream gradient; seeds alternate
    between the entry's shape sets.
    """
    counts = {"finite differences": 0, "symbolic": 0, "checks": 0}
    for name in names or REGISTRY:
        d = REGISTRY[name]
        for seed in range(seeds):
            shapes = d.shape_sets[seed % len(d.shape_sets)]
            counts["finite differences"] += not finite_difference_check(d, shapes, seed).passed
            counts["symbolic"] += not symbolic_check(d, shapes, seed)
            counts["checks"] += 1
    return counts


def kill_rates(results: list[MutantResult]) -> dict[str, float]:
    n = len(results)
    return {"finite differences": sum(r.caught_by_finite_differences for r in results) / n,
            "symbolic": sum(r.caught_by_symbolic for r in results) / n,
            "square shapes, all-ones g": sum(not r.slips_square_ones for r in results) / n}


def catalogue_table(seed: int = 0) -> list[dict]:
    """The catalogue as rows for the site's "Common mistakes" page.

    Every row is computed by running the checks now: ``mistake``, ``symptom``,
    ``entry``, ``caught_by`` (the checks that reject it), ``slips_square_ones``
    and ``hint`` (what the finite-difference checker prints).
    """
    rows = []
    for r in run_catalogue(seed):
        caught = [label for label, flag in (("finite differences",
                                             r.caught_by_finite_differences),
                                            ("symbolic", r.caught_by_symbolic)) if flag]
        rows.append({"name": r.mutant.name, "entry": r.mutant.entry,
                     "mistake": r.mutant.description, "symptom": r.mutant.symptom,
                     "caught_by": caught, "slips_square_ones": r.slips_square_ones,
                     "hint": r.hint})
    return rows
