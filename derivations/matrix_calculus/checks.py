"""Confirm candidate answers at random sizes and points.

Every answer ``derive`` prints passes through here: at two random size
assignments (different from each other, non-square unless the expression
forces a square) and a random point of each, the candidate is compared with
the explicit SymPy Jacobian and with netlib's central differences
(``confirm``).  A Jacobian given as a matrix expression is compared with the
explicit Jacobian entry by entry.
"""

from __future__ import annotations

import numpy as np

from . import confirm
from .errors import ShapeError
from .expr import Node, subtrees, to_text
from .numeric import to_numpy
from .shapes import sample_sizes

__all__ = ["MEMORY_BUDGET", "SIZE_DRAWS", "candidate_value", "check_memory",
           "confirm_candidates", "confirm_jacobian", "finite_differences_at", "sample_points",
           "size_sets"]

#: The most entries any array of a question may have (2**22 float64 values,
#: 32 MiB): a larger request is refused before anything is allocated.
MEMORY_BUDGET = 2**22

# What evaluating a question at a concrete point can raise: a singular matrix,
# a complex or infinite value (SymPy's zoo has no float), a size out of reach.
EVALUATION_ERRORS = (ShapeError, ValueError, TypeError, ArithmeticError,
                     np.linalg.LinAlgError, KeyError)


def size_sets(problem, rng: np.random.Generator) -> list[dict]:
    """Two draws of the free sizes, each all distinct, the second unlike the first."""
    shapes = [problem.env.shape_of(n) for n in problem.env.variables]
    free = problem.env.free_sizes([*shapes, problem.output_shape])
    first = sample_sizes(free, rng)
    second = sample_sizes(free, rng, avoid=first)
    return [first, second]


#: How many size draws a point may take: some sizes admit no valid point
#: (inv(X.T @ X) is singular when X has more columns than rows).
SIZE_DRAWS = 6


def sample_points(problem, rng: np.random.Generator) -> list[tuple]:
    """Two (sizes, concrete shapes, values) at different sizes where the
    expression is finite and off its poles; sizes at which no such point is
    found are drawn again (at most :data:`SIZE_DRAWS` times)."""
    env, points, error = problem.env, [], None
    free = env.free_sizes([*(env.shape_of(n) for n in env.variables), problem.output_shape])
    for sizes in size_sets(problem, rng):
        for draw in range(SIZE_DRAWS):
            if draw:  # a wider pool, and never the sizes of the point already found
                sizes = sample_sizes(free, rng, avoid=points[0][0] if points else None,
                                     wider=(draw + 1) // 2)
            concrete = {name: env.concrete(env.shape_of(name), sizes)
                        for name in env.variables if name != "G"}
            try:
                points.append((sizes, concrete,
                               confirm.sample_point(problem.expr, concrete, rng)))
                break
            except confirm.DomainError as failure:
                error = failure
        else:
            raise error
    return points


def confirm_candidates(problem, candidates: list, rng: np.random.Generator,
                       numerators: list | None = None) -> list[list]:
    """Check each candidate (variable-shaped) at two random points and sizes.

    At each point: the explicit Jacobian (computed once, shared by all
    candidates), netlib's finite-difference check of the candidate, and, for
    a scalar with a numerator-layout form, that form against the transpose.
    Returns one list of :class:`confirm.Confirmation` per candidate.
    """
    numerators = numerators or [None] * len(candidates)
    results: list[list] = [[] for _ in candidates]
    env = problem.env
    for sizes, concrete, values in sample_points(problem, rng):
        out_shape = env.concrete(problem.output_shape, sizes)
        G = np.ones((1, 1)) if problem.is_scalar else rng.standard_normal(out_shape)
        reference = confirm.explicit_jacobian_vjp(problem.expr, problem.wrt, values, G)
        for found, candidate, numerator in zip(results, candidates, numerators, strict=True):
            value = candidate_value(problem, candidate, values, G)
            found.append(confirm.jacobian_confirmation(value, reference, concrete))
            found.append(confirm.finite_difference_check(
                problem.expr, problem.wrt, values,
                lambda g, point, c=candidate: candidate_value(problem, c, point, g),
                rng, concrete)[0])
            if numerator is not None:
                transposed = candidate_value(problem, numerator, values, G, transposed=True)
                found.append(confirm.jacobian_confirmation(
                    transposed.T, value, concrete,
                    "numerator layout = transpose of denominator layout"))
    return results


def candidate_value(problem, candidate: Node, values: dict, G: np.ndarray,
                    transposed: bool = False) -> np.ndarray:
    """The candidate VJP at the point ``values`` with upstream ``G``.

    A scalar question's candidate was built for ``G = 1``; it is scaled by
    ``G`` here.  A ``1×1`` value (an answer such as ``0``) is spread to the
    variable's shape; a value that cannot be evaluated is all NaN; a value of
    another shape is returned as it is (the checks reject it, and netlib's
    says whether it is the transpose).
    """
    shape = values[problem.wrt].shape
    shape = shape[::-1] if transposed else shape
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(to_numpy(candidate, {**values, "G": G}), dtype=float)
            if problem.is_scalar:
                value = value * np.asarray(G, dtype=float).reshape(())
    except EVALUATION_ERRORS:
        return np.full(shape, np.nan)
    return np.broadcast_to(value, shape) if value.shape == (1, 1) else value


def check_memory(problem) -> None:
    """Refuse a question whose arrays would exceed :data:`MEMORY_BUDGET`
    entries, naming the part and its size; free sizes count at their largest draw."""
    env = problem.env
    free = env.free_sizes([env.shape_of(n) for n in env.variables])
    largest = dict.fromkeys(free, max(3, len(free) + 1))
    for node_id, shape in problem.subtree_shapes.items():
        rows, cols = env.concrete(shape, largest)
        if rows * cols > MEMORY_BUDGET:
            part = next((n for n in subtrees(problem.expr) if id(n) == node_id), None)
            raise ShapeError(
                f"derive: '{to_text(part)}' would be {rows}×{cols} ({rows * cols:,} entries, "
                f"{rows * cols * 8 / 2**20:,.0f} MiB), more than the budget of "
                f"{MEMORY_BUDGET:,} entries; nothing was allocated")


def finite_differences_at(problem, candidate: Node, rng: np.random.Generator):
    """netlib's central differences of the candidate at the question's own
    sizes (the explicit Jacobian having run at smaller ones)."""
    sizes = size_sets(problem, rng)[0]
    env = problem.env
    concrete = {name: env.concrete(env.shape_of(name), sizes)
                for name in env.variables if name != "G"}
    values = confirm.sample_point(problem.expr, concrete, rng)
    check = confirm.finite_difference_check(
        problem.expr, problem.wrt, values,
        lambda g, point: candidate_value(problem, candidate, point, g), rng, concrete)[0]
    check.method += ", at the sizes asked"
    return check


def confirm_jacobian(problem, forms: tuple, identity: str, rng: np.random.Generator) -> list:
    """The Jacobian ``forms = (denominator, numerator)`` against the explicit
    Jacobian, entry by entry, at two random sizes and points; and the
    numerator form against the transpose of the denominator one."""
    found = []
    denominator, numerator = forms
    for sizes, concrete, values in sample_points(problem, rng):
        rows = problem.env.concrete(problem.output_shape, sizes)[0]
        point = {**values, identity: np.eye(rows)}
        reference = confirm.explicit_jacobian(problem.expr, problem.wrt, values)
        with np.errstate(all="ignore"):
            value = np.asarray(to_numpy(denominator, point), dtype=float)
            transposed = np.asarray(to_numpy(numerator, point), dtype=float)
        found.append(confirm.jacobian_confirmation(
            value, reference.T, concrete, "Jacobian matrix = explicit Jacobian (SymPy)"))
        found.append(confirm.jacobian_confirmation(
            transposed.T, value, concrete, "numerator layout = transpose of denominator layout"))
    return found
