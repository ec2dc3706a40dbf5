"""``derive``: answer a matrix-calculus question and prove the answer.

The question is an expression of the matrix language, a variable, optional
shapes and a layout.  The answer is

- for a scalar expression, its **gradient**: in *denominator layout* it has
  the variable's shape (the project's convention: a gradient has the shape of
  what it is taken with respect to, as in numpy and PyTorch code); in
  *numerator layout* it is the transpose (the layout of the project's
  Jacobians, ``J[i, j] = dy_i/dx_j``, applied to a scalar ``y``);
- for a matrix-valued expression, its **VJP** with an upstream gradient
  ``G`` of the output's shape: ``J^T vec(G)`` reshaped to the variable's
  shape, the same in both layouts.

A closed-form candidate comes from the reverse-mode rules of ``vjp.py``. It
is printed only if it matches the explicit SymPy Jacobian *and* central
differences at two random points (each comparison a
:class:`~derivations.verify.rows.CheckRow` in ``Answer.checks``); otherwise
the answer says so and gives the elementwise result from the explicit
Jacobian.  The sizes left free are
drawn anew for each point, distinct from one another (shapes are non-square
unless the expression makes them square) and different at the two points;
sizes fixed by ``--shape`` are the same at both.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import sympy

from . import confirm
from .backend import default_backend
from .checks import (
    EVALUATION_ERRORS,
    candidate_value,
    check_memory,
    confirm_candidates,
    confirm_jacobian,
    finite_differences_at,
    size_sets,
)
from .dims import Dim
from .errors import MatrixCalculusError, ShapeError
from .evaluate import to_sympy
from .expr import Name, Node, Num, constant_kind, is_scalar_node, names_in, to_latex, to_text
from .functions import NoRule
from .jacobian import IDENTITY
from .parser import parse
from .rand import Random
from .shapes import ShapeEnv, describe, infer, parse_shape_spec
from .simplify import simplify
from .vjp import candidate_vjp, jacobian_forms, transpose_of

__all__ = ["LAYOUTS", "Answer", "Problem", "candidate_value", "confirm_candidates", "derive",
           "small_problem",
           "prepare", "size_sets"]

LAYOUTS = ("denominator", "numerator")
#: Inputs larger than this (entries in all) get no printed elementwise result.
MAX_ELEMENTWISE_ENTRIES = 48


@dataclass
class Problem:
    """A parsed question with its inferred shapes."""

    text: str
    expr: Node
    wrt: str
    env: ShapeEnv
    subtree_shapes: dict
    output_shape: tuple

    @property
    def is_scalar(self) -> bool:
        return self.output_shape[0].is_one and self.output_shape[1].is_one

    def latex(self, node: Node) -> str:
        """``node`` (an answer, the question) as LaTeX, knowing which parts are 1×1.

        The shapes are inferred in a copy of the question's environment, so
        that a product with a 1×1 part (a scalar variable, ``x.T @ y``) prints
        as a product, not ⊙ (:func:`~derivations.matrix_calculus.expr.to_latex`).
        """
        env, shapes = copy.deepcopy(self.env), {}
        try:
            infer(node, env, shapes)
        except MatrixCalculusError:
            return to_latex(node)

        def scalar(n: Node) -> bool:
            shape = shapes.get(id(n))
            return is_scalar_node(n) or (shape is not None and all(d.is_one for d in shape))

        return to_latex(node, scalar)

    def shapes(self) -> dict[str, str]:
        """Variable name -> its shape as text (``'m×n'``, ``'rows(X)×3'``)."""
        return {name: describe(self.env.shape_of(name)) for name in sorted(self.env.variables)
                if name != "G" and constant_kind(name) is None}


def prepare(text: str, wrt: str, shapes=(), scale_above: int | None = None) -> Problem:
    """Parse ``text``, apply ``--shape`` specs and infer every shape.

    With ``scale_above``, every size of a spec larger than it becomes a size
    name (``8`` becomes ``s8``; equal sizes stay equal): the question at
    small sizes, where the explicit Jacobian is cheap.

    >>> p = prepare("tr(A @ X @ B)", "X", ["X=mxn"])
    >>> p.shapes()
    {'A': 'rows(A)×m', 'B': 'n×rows(A)', 'X': 'm×n'}
    """
    expr = parse(text)
    env = ShapeEnv()
    for spec in shapes:
        name, shape = parse_shape_spec(spec)
        if scale_above is not None:
            shape = tuple(Dim(1, (f"s{d.coef}",)) if not d.names and d.coef > scale_above
                          else d for d in shape)
        if name in env.variables:
            raise ShapeError(f"derive: --shape gives {name!r} twice")
        env.variables[name] = shape
        env.declared.add(name)
    mentioned = names_in(expr)
    if not isinstance(wrt, str) or wrt not in mentioned:
        raise MatrixCalculusError(
            f"derive: --wrt {wrt!r} does not occur in '{to_text(expr)}' "
            f"(its variables: {', '.join(sorted(mentioned)) or 'none'})"
        )
    unused = sorted(env.declared - mentioned)
    if unused:
        raise ShapeError(f"derive: --shape names {', '.join(unused)}, which the expression "
                         "does not use")
    subtree_shapes: dict = {}
    infer(expr, env, {})
    # A size only the constants ones and eye carry is 1: x.T @ ones is a number.
    user = env.free_sizes([env.shape_of(n) for n in env.variables if not constant_kind(n)])
    for size in env.free_sizes([env.shape_of(n) for n in env.variables if constant_kind(n)]):
        if size not in user:
            env.bindings[size] = Dim(1)
    output = infer(expr, env, subtree_shapes)
    problem = Problem(text, expr, wrt, env, subtree_shapes, output)
    check_memory(problem)
    return problem


#: Fixed sizes above this are checked against the explicit Jacobian at small
#: sizes (the answer is a formula for every size), and by central differences
#: at the sizes asked: SymPy's explicit Jacobian of an 8×8 question takes minutes.
EXPLICIT_SIZE = 3


def small_problem(problem: Problem, shapes) -> Problem:
    """The question with its large fixed sizes made free, or itself."""
    env = problem.env
    if not any(not d.names and d.coef > EXPLICIT_SIZE
               for n in env.declared for d in env.variables[n]):
        return problem
    try:
        return prepare(problem.text, problem.wrt, shapes, scale_above=EXPLICIT_SIZE)
    except MatrixCalculusError:
        return problem  # sizes tied by products (kron, vec): keep them


@dataclass
class Answer:
    """What ``derive`` found, and how it was confirmed."""

    problem: Problem
    layout: str
    denominator: Node | None = None  # the confirmed closed form (variable-shaped)
    numerator: Node | None = None  # its transpose, for scalar expressions
    checks: list = field(default_factory=list)  # CheckRow of each comparison
    reason: str = ""  # why there is no confirmed closed form
    elementwise: sympy.Matrix | None = None
    elementwise_sizes: dict | None = None
    jacobian: tuple | None = None  # (denominator, numerator) matrix expressions
    jacobian_checks: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "gradient" if self.problem.is_scalar else "vjp"

    @property
    def confirmed(self) -> bool:
        return self.denominator is not None

    @property
    def checked_shapes(self) -> dict:
        """The shapes of the first check (name -> (rows, cols)), as ``--emit`` uses them."""
        return confirm.shapes_of(self.checks[0].shapes) if self.checks else {}

    @property
    def answer(self) -> Node | None:
        if self.denominator is None:
            return None
        return self.numerator if self.layout == "numerator" else self.denominator

    def as_dict(self) -> dict:
        """The ``--json`` payload."""
        p = self.problem
        out = {
            "expression": to_text(p.expr),
            "wrt": p.wrt,
            "kind": self.kind,
            "layout": self.layout if p.is_scalar else "vjp (variable-shaped in both layouts)",
            "shapes": p.shapes(),
            "output_shape": describe(p.output_shape),
            "answer": None if self.answer is None else to_text(self.answer),
            "answer_latex": None if self.answer is None else p.latex(self.answer),
            "answers": None if self.denominator is None else {
                "denominator": to_text(self.denominator),
                "numerator": to_text(self.numerator if p.is_scalar else self.denominator)},
            "confirmed": self.confirmed,
            "checks": [c.as_dict() for c in self.checks],
        }
        if not p.is_scalar:
            out["upstream"] = f"G ({describe(p.output_shape)})"
            out["jacobian"] = None if self.jacobian is None else {
                "denominator": to_text(self.jacobian[0]),
                "numerator": to_text(self.jacobian[1]),
                "answer": to_text(self.jacobian[self.layout == "numerator"]),
                "answer_latex": p.latex(self.jacobian[self.layout == "numerator"]),
                "checks": [c.as_dict() for c in self.jacobian_checks]}
        if not self.confirmed:
            out["reason"] = self.reason
            if self.elementwise is not None:
                out["elementwise"] = [[str(v) for v in self.elementwise.row(i)]
                                      for i in range(self.elementwise.rows)]
                out["elementwise_sizes"] = {k: list(v)
                                            for k, v in self.elementwise_sizes.items()}
        return out


def _elementwise(problem: Problem, sizes: dict) -> tuple[sympy.Matrix, dict]:
    """The gradient (or VJP) entry by entry, on symbol matrices of one size."""
    env = problem.env
    concrete = {name: env.concrete(env.shape_of(name), sizes)
                for name in env.variables if name != "G"}
    symbols = {name: sympy.Matrix(r, c, lambda i, j, n=name: sympy.Symbol(f"{n}_{i}_{j}"))
               for name, (r, c) in concrete.items()}
    for name, (r, c) in concrete.items():
        kind = constant_kind(name)
        if kind is not None:
            symbols[name] = sympy.ones(r, c) if kind == "ones" else sympy.eye(r)
    out = to_sympy(problem.expr, symbols)
    flat = out.reshape(out.rows * out.cols, 1)
    target = symbols[problem.wrt]
    variables = list(target)
    jacobian = flat.jacobian(variables)
    if problem.is_scalar:
        g = sympy.ones(1, 1)
    else:
        g = sympy.Matrix(out.rows * out.cols, 1,
                         lambda i, j: sympy.Symbol(f"G_{i // out.cols}_{i % out.cols}"))
    vjp = (jacobian.T * g).reshape(target.rows, target.cols)
    return vjp, concrete


def _add_jacobian(answer: Answer, env: ShapeEnv, rng: Random, backend) -> None:
    """For a column of a column: the Jacobian as a matrix expression, if the
    confirmed VJP has the form ``M @ G`` and ``M`` passes its own checks."""
    p = answer.problem
    wrt_cols = p.env.shape_of(p.wrt)[1]
    if not (p.output_shape[1].is_one and wrt_cols.is_one):
        return
    forms = jacobian_forms(answer.denominator, env)
    if forms is None:
        return
    checks = confirm_jacobian(p, forms, IDENTITY.id, rng, backend)
    if all(c.passed for c in checks):
        answer.jacobian, answer.jacobian_checks = forms, checks


def derive(text: str, wrt: str, shapes=(), layout: str = "denominator", seed: int = 0,
           overrides: dict | None = None, candidate: Node | None = None,
           elementwise: bool = True, backend=None) -> Answer:
    """Answer "what is d/d``wrt`` of ``text``" with a confirmed closed form.

    Parameters
    ----------
    text : str
        The expression, in the matrix language.
    wrt : str
        The variable to differentiate with respect to.
    shapes : iterable of str
        ``NAME=RxC`` specs; sizes no spec fixes are inferred or left free.
    layout : {"denominator", "numerator"}
        Which layout the scalar gradient is shown in (both are computed).
    seed : int
        Seed of the random sizes, points and upstream gradients.
    overrides : dict, optional
        Replacement VJP rules by operator or function name (to test that a
        wrong rule is rejected).
    candidate : Node, optional
        Confirm this answer instead of the one the rules give.
    elementwise : bool
        Compute the elementwise fallback when nothing is confirmed.
    backend : optional
        What computes the numbers (``backend.get_backend("python")`` for plain
        Python); numpy's where it is installed, by default.  Both draw the
        same sizes and points from ``seed`` and give the same answers.

    Returns
    -------
    Answer
        ``answer.confirmed`` tells whether a closed form passed every check;
        ``answer.checks`` holds each check (a ``CheckRow``) with its measured error.
    """
    if layout not in LAYOUTS:
        raise MatrixCalculusError(f"derive: layout must be one of {LAYOUTS}, got {layout!r}")
    problem = prepare(text, wrt, shapes)
    rng, backend = Random(seed), backend or default_backend()
    answer = Answer(problem, layout)
    env = copy.deepcopy(problem.env)
    env.variables["G"] = problem.output_shape
    G = Num(1.0) if problem.is_scalar else Name("G")
    try:
        if candidate is None:
            candidate = candidate_vjp(problem.expr, wrt, G, problem.subtree_shapes, overrides)
        candidate = simplify(candidate, env)
        numerator = transpose_of(candidate, env) if problem.is_scalar else None
        small = small_problem(problem, shapes)
        answer.checks = confirm_candidates(small, [candidate], rng, [numerator], backend)[0]
        if small is not problem:
            answer.checks.append(finite_differences_at(problem, candidate, rng, backend))
    except NoRule as error:
        answer.reason = str(error)
    except confirm.DomainError as error:
        answer.reason = str(error)
        return answer  # no point to show an elementwise result at either
    except EVALUATION_ERRORS as error:
        answer.reason = f"derive: the answer could not be checked ({error})"
    else:
        if all(c.passed for c in answer.checks):
            answer.denominator, answer.numerator = candidate, numerator
            if not problem.is_scalar:
                _add_jacobian(answer, env, rng, backend)
        else:
            failed = [c for c in answer.checks if not c.passed]
            answer.reason = ("derive: the closed-form candidate failed "
                             f"{len(failed)} of {len(answer.checks)} checks "
                             f"(largest error {max(c.error for c in failed):.3g})")
    if not answer.confirmed and elementwise:
        sizes = size_sets(problem, Random(seed))[0]
        entries = sum(math.prod(problem.env.concrete(problem.env.shape_of(n), sizes))
                      for n in problem.env.variables)
        if entries > MAX_ELEMENTWISE_ENTRIES:
            answer.reason += (f"; the elementwise result is not printed: the inputs have "
                              f"{entries} entries, more than {MAX_ELEMENTWISE_ENTRIES}")
        else:
            try:
                answer.elementwise, answer.elementwise_sizes = _elementwise(problem, sizes)
            except EVALUATION_ERRORS as error:
                answer.reason += f"; the elementwise result could not be formed ({error})"
    return answer
