"""Every check of an entry, and of the whole registry in parallel worker processes."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable

import numpy as np

from derivations.core import Derivation
from derivations.registry import REGISTRY, get
from derivations.verify.finite_differences import check_finite_differences
from derivations.verify.forward import check_forward
from derivations.verify.numeric import check_numeric
from derivations.verify.rows import KINDS, CheckRow
from derivations.verify.symbolic import check_exact, check_transpose


def check_entry(d: Derivation, seed: int = 0) -> list[CheckRow]:
    """All checks of one entry, rows in the order of :data:`~derivations.verify.rows.KINDS`.

    Exact and numeric rows per (input, shape set); transpose rows for a
    ``transpose_of`` entry; a forward row per shape set; finite-difference
    rows per (input, shape set). Seeded: the same ``seed`` draws the same points.
    """
    rng = np.random.default_rng(seed)
    rows = check_exact(d) + check_transpose(d) + check_numeric(d, rng=rng)
    rows += check_forward(d, rng=rng) + check_finite_differences(d, rng=rng)
    order = {kind: number for number, kind in enumerate(KINDS)}
    return sorted(rows, key=lambda row: order[row.check])


def _entry_rows(name: str, seed: int) -> tuple[str, list[CheckRow], float]:
    started = time.perf_counter()
    rows = check_entry(get(name), seed)
    return name, rows, time.perf_counter() - started


def expected_cost(d: Derivation) -> int:
    """A guess at an entry's SymPy work, to start the slow ones first: Σ (entries)²."""
    return sum(sum(int(np.prod(shape)) for shape in sh.values()) ** 2 for sh in d.shape_sets)


def default_jobs() -> int:
    """Worker processes by default: one per CPU."""
    return os.cpu_count() or 1


def run_checks(names: Iterable[str] | None = None, seed: int = 0, jobs: int = 1,
               on_entry: Callable[[str, list[CheckRow], float], None] | None = None
               ) -> list[CheckRow]:
    """Every check of every (or the named) registry entry, in registry order.

    With ``jobs > 1`` entries run in that many forked worker processes (a
    registry patched in this process is what they see), slowest first.
    ``on_entry(name, rows, seconds)`` is called as each entry finishes.
    """
    selected = list(REGISTRY) if names is None else list(names)
    jobs = max(1, min(jobs, len(selected)))
    done: dict[str, list[CheckRow]] = {}

    def finished(name: str, rows: list[CheckRow], seconds: float) -> None:
        done[name] = rows
        if on_entry is not None:
            on_entry(name, rows, seconds)

    if jobs == 1:
        for name in selected:
            finished(*_entry_rows(name, seed))
    else:
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            slowest_first = sorted(selected, key=lambda name: -expected_cost(get(name)))
            futures = [pool.submit(_entry_rows, name, seed) for name in slowest_first]
            for future in concurrent.futures.as_completed(futures):
                finished(*future.result())
    return [row for name in selected for row in done[name]]
