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
from derivations.verify import cache
from derivations.verify.finite_differences import check_finite_differences
from derivations.verify.forward import check_forward
from derivations.verify.numeric import check_numeric
from derivations.verify.rows import KINDS, CheckRow
from derivations.verify.symbolic import check_exact, check_exact_one, check_transpose


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


def _exact_task(name: str, index: int, wrt: str) -> str:
    """One exact check in a worker: its Jacobian, stated VJP and verdict land in the cache."""
    d = get(name)
    check_exact_one(d, wrt, d.shape_sets[index])
    return name


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

    With ``jobs > 1`` the work runs in that many forked worker processes (a
    registry patched in this process is what they see): first every exact
    check, one (entry, shape set, input) per task so that one slow entry
    is spread over every worker, then each entry's remaining checks as soon
    as its exact checks are in (reading their SymPy results from the disk
    cache). ``on_entry(name, rows, seconds)`` is called as each entry finishes.
    """
    selected = list(REGISTRY) if names is None else list(names)
    done: dict[str, list[CheckRow]] = {}

    def finished(name: str, rows: list[CheckRow], seconds: float) -> None:
        done[name] = rows
        if on_entry is not None:
            on_entry(name, rows, seconds)

    if max(1, min(jobs, len(selected))) == 1 or not cache.enabled():
        # Without the disk cache the workers could not hand their results on.
        for name in selected:
            finished(*_entry_rows(name, seed))
        return [row for name in selected for row in done[name]]
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        tasks = [(name, index, wrt) for name in sorted(selected, key=lambda n: -expected_cost(
                  get(n))) for index in range(len(get(name).shape_sets))
                 for wrt in get(name).inputs]
        remaining = {name: 0 for name in selected}
        for name, _, _ in tasks:
            remaining[name] += 1
        pending = {pool.submit(_exact_task, *task) for task in tasks}
        while pending:
            complete, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in complete:
                result = future.result()
                if isinstance(result, str):
                    remaining[result] -= 1
                    if remaining[result] == 0:
                        pending.add(pool.submit(_entry_rows, result, seed))
                else:
                    name, rows, _ = result
                    finished(name, rows, time.perf_counter() - started)
    return [row for name in selected for row in done[name]]
