"""Confirm candidate answers at random sizes and points.

Every answer ``derive`` prints passes through here: at two random size
assignments (different from each other, non-square unless the expression
forces a square) and a random point of each, the candidate is compared with
the explicit SymPy Jacobian and with central differences (``confirm``).  A
Jacobian given as a matrix expression is compared with the explicit Jacobian
entry by entry.  Each comparison is a
:class:`~derivations.verify.rows.CheckRow`.

``rng`` is a :class:`~derivations.matrix_calculus.rand.Random` (a seed or a
numpy generator is turned into one); ``backend`` (``backend.py``) computes
the numbers, numpy's by default where it is installed.
"""

from __future__ import annotations

import time

from . import confirm
from .backend import default_backend
from .errors import ShapeError
from .expr import Node, subtrees, to_text
from .pure import Mat
from .rand import as_random
from .shapes import sample_sizes

__all__ = ["EVALUATION_ERRORS", "MEMORY_BUDGET", "SIZE_DRAWS", "candidate_value",
           "check_memory", "confirm_candidates", "confirm_jacobian", "finite_differences_at",
           "sample_points", "size_sets"]

#: The most entries any array of a question may have (2**22 float64 values,
#: 32 MiB): a larger request is refused before anything is allocated.
MEMORY_BUDGET = 2**22

# What evaluating a question at a concrete point can raise: a singular matrix
# (numpy's LinAlgError is a ValueError), a complex or infinite value (SymPy's
# zoo has no float), a size out of reach.
EVALUATION_ERRORS = (ShapeError, ValueError, TypeError, ArithmeticError, KeyError)


def _fixed_sizes(problem) -> set[int]:
    """The sizes written as numbers in the question's shapes (the 3 of ``X=4x3``)."""
    env = problem.env
    return {d.coef for n in env.variables for d in env.shape_of(n) if not d.names}


def _draw(problem, free: list, rng, avoid: dict | None = None, wider: int = 0) -> dict:
    """Distinct sizes for ``free`` that also differ from every fixed size, so
    that a free size never makes a square with a fixed one (``X=4x3`` checked
    small is ``s4×3`` with ``s4`` not 3)."""
    sizes = sample_sizes(free, rng, avoid, wider)
    taken = _fixed_sizes(problem) - {1}
    if not taken & set(sizes.values()):
        return sizes
    used = set(sizes.values()) | taken
    for name in free:
        if sizes[name] in taken:
            sizes[name] = next(v for v in range(2, 2 + len(used) + 1) if v not in used)
            used.add(sizes[name])
    if avoid is not None and free and sizes == {n: avoid[n] for n in free}:
        # still the earlier draw: move the largest free size past every value in use
        sizes[free[-1]] = max(used) + 1
    return sizes


def size_sets(problem, rng) -> list[dict]:
    """Two draws of the free sizes, each all distinct, the second unlike the first."""
    rng = as_random(rng)
    shapes = [problem.env.shape_of(n) for n in problem.env.variables]
    free = problem.env.free_sizes([*shapes, problem.output_shape])
    first = _draw(problem, free, rng)
    second = _draw(problem, free, rng, avoid=first)
    return [first, second]


#: How many size draws a point may take: some sizes admit no valid point
#: (inv(X.T @ X) is singular when X has more columns than rows).
SIZE_DRAWS = 6


def sample_points(problem, rng, backend=None, answers: tuple = ()) -> list[tuple]:
    """Two (sizes, concrete shapes, values) at different sizes where the
    expression is finite and off its poles and off the ``answers``' poles;
    sizes at which no such point is found are drawn again (at most
    :data:`SIZE_DRAWS` times: the inverse in an answer may need X to have
    more rows than columns)."""
    rng, backend = as_random(rng), backend or default_backend()
    env, points, error = problem.env, [], None
    free = env.free_sizes([*(env.shape_of(n) for n in env.variables), problem.output_shape])
    for sizes in size_sets(problem, rng):
        for draw in range(SIZE_DRAWS):
            found = points[0][0] if points else None
            if draw or (free and sizes == found):
                # a wider pool, and never the sizes of the point already found
                # (the first point's sizes may be a redraw that met the second set)
                sizes = _draw(problem, free, rng, avoid=found, wider=(draw + 1) // 2)
            concrete = {name: env.concrete(env.shape_of(name), sizes)
                        for name in env.variables if name != "G"}
            try:
                points.append((sizes, concrete,
                               confirm.sample_point(problem.expr, concrete, rng, backend,
                                                    answers=answers)))
                break
            except confirm.DomainError as failure:
                error = failure
        else:
            raise error
    return points


def _where(problem, concrete: dict, entry: Node | None = None) -> tuple:
    return (to_text(problem.expr if entry is None else entry), problem.wrt,
            confirm.shape_text(concrete))


def confirm_candidates(problem, candidates: list, rng, numerators: list | None = None,
                       backend=None) -> list[list]:
    """Check each candidate (variable-shaped) at two random points and sizes.

    At each point: the explicit Jacobian (computed once, shared by all
    candidates), central differences of the candidate, and, for a scalar with
    a numerator-layout form, that form against the transpose.  Returns one
    list of :class:`~derivations.verify.rows.CheckRow` per candidate.
    """
    rng, backend = as_random(rng), backend or default_backend()
    numerators = numerators or [None] * len(candidates)
    results: list[list] = [[] for _ in candidates]
    env = problem.env
    for sizes, concrete, values in sample_points(problem, rng, backend,
                                                 answers=tuple(candidates)):
        where = _where(problem, concrete)
        rows, cols = env.concrete(problem.output_shape, sizes)
        G = Mat(1, 1, [1.0]) if problem.is_scalar else Mat.of(rng.standard_normal((rows, cols)))
        started = time.perf_counter()
        reference = confirm.explicit_jacobian_vjp(problem.expr, problem.wrt, values, G)
        seconds = time.perf_counter() - started
        for found, candidate, numerator in zip(results, candidates, numerators, strict=True):
            value = candidate_value(problem, candidate, values, G, backend=backend)
            found.append(confirm.jacobian_row(value, reference, where, "explicit Jacobian",
                                              seconds))
            found.append(confirm.finite_difference_row(
                problem.expr, problem.wrt, values,
                lambda g, point, c=candidate: candidate_value(problem, c, point, g,
                                                              backend=backend),
                rng, backend, where))
            if numerator is not None:
                transposed = candidate_value(problem, numerator, values, G, transposed=True,
                                             backend=backend)
                found.append(confirm.jacobian_row(transposed.T, value, where, "layout"))
    return results


def candidate_value(problem, candidate: Node, values: dict, G: Mat,
                    transposed: bool = False, backend=None) -> Mat:
    """The candidate VJP at the point ``values`` with upstream ``G``.

    A scalar question's candidate was built for ``G = 1``; it is scaled by
    ``G`` here.  A ``1×1`` value (an answer such as ``0``) is spread to the
    variable's shape; a value that cannot be evaluated is all NaN; a value of
    another shape is returned as it is (the checks reject it, and netlib's
    says whether it is the transpose).
    """
    backend = backend or default_backend()
    rows, cols = Mat.of(values[problem.wrt]).shape
    rows, cols = (cols, rows) if transposed else (rows, cols)
    G = Mat.of(G)
    try:
        value = backend.evaluate(candidate, {**values, "G": G})
    except EVALUATION_ERRORS:
        return Mat(rows, cols, [float("nan")] * (rows * cols))
    if problem.is_scalar:
        value = value.map(lambda v, g=G.flat[0]: v * g)
    if value.shape == (1, 1):
        return Mat(rows, cols, value.flat * (rows * cols))
    return value


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


def finite_differences_at(problem, candidate: Node, rng, backend=None):
    """Central differences of the candidate at the question's own sizes (the
    explicit Jacobian having run at smaller ones)."""
    rng, backend = as_random(rng), backend or default_backend()
    sizes = size_sets(problem, rng)[0]
    env = problem.env
    concrete = {name: env.concrete(env.shape_of(name), sizes)
                for name in env.variables if name != "G"}
    values = confirm.sample_point(problem.expr, concrete, rng, backend)
    return confirm.finite_difference_row(
        problem.expr, problem.wrt, values,
        lambda g, point: candidate_value(problem, candidate, point, g, backend=backend),
        rng, backend, _where(problem, concrete), "finite differences at the sizes asked")


def _identity(n: int) -> Mat:
    return Mat(n, n, [float(i == j) for i in range(n) for j in range(n)])


def confirm_jacobian(problem, forms: tuple, identity: str, rng, backend=None) -> list:
    """The Jacobian ``forms = (denominator, numerator)`` against the explicit
    Jacobian, entry by entry, at two random sizes and points; and the
    numerator form against the transpose of the denominator one."""
    rng, backend = as_random(rng), backend or default_backend()
    found = []
    denominator, numerator = forms
    for sizes, concrete, values in sample_points(
            problem, rng, backend, answers=tuple(form for form in forms if form is not None)):
        where = _where(problem, concrete)
        rows = problem.env.concrete(problem.output_shape, sizes)[0]
        point = {**values, identity: _identity(rows)}
        reference = confirm.explicit_jacobian(problem.expr, problem.wrt, values)
        value = transposed = None
        try:
            value = backend.evaluate(denominator, point)
            transposed = backend.evaluate(numerator, point)
        except EVALUATION_ERRORS:
            pass  # no value: the rows below fail
        found.append(confirm.jacobian_row(value, reference.T, where, "Jacobian matrix"))
        found.append(confirm.jacobian_row(None if transposed is None else transposed.T,
                                          value or reference.T, where, "layout"))
    return found
