"""Second derivatives: the Hessian of a scalar, or its product with a direction.

For a scalar ``f`` of a column ``x`` (n×1), the Hessian ``H[i, j] =
∂²f/∂x_i∂x_j`` is the Jacobian of the gradient ``g = ∇f``: the VJP of the
(confirmed) gradient expression with upstream ``G`` is ``Hᵀ G``, and when it
reads ``M @ G`` (``jacobian.py``) the Hessian is ``M``.  For ``xᵀ A x`` the
gradient is ``A x + Aᵀ x`` and the Hessian ``A + Aᵀ``.  The Hessian is
symmetric, so both layouts give the same matrix.

For a matrix variable the Hessian has four indices; what is given instead is
the Hessian-vector product, the directional derivative of the gradient
along a direction ``V`` of ``X``'s shape,

.. math:: \\operatorname{hvp}(V) = \\frac{d}{dt}\\,\\nabla f(X + tV)\\Big|_{t=0},

which, ``H`` being symmetric, is the VJP of the gradient with upstream ``V``.

Either form is confirmed at two random sizes and points against SymPy's
explicit Hessian (``sympy.hessian`` of the function on a matrix of symbols)
and against central differences of the gradient (netlib's rule, by the
backend of ``backend.py``); each comparison is a ``CheckRow``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import sympy

from . import confirm
from .backend import default_backend
from .checks import sample_points
from .derive import Answer, derive, small_problem
from .errors import MatrixCalculusError
from .evaluate import to_sympy
from .expr import Name, Node, to_text
from .jacobian import IDENTITY
from .pure import Mat
from .rand import Random
from .shapes import infer
from .simplify import simplify
from .vjp import candidate_vjp, jacobian_forms

__all__ = ["SecondOrder", "confirm_second_order", "explicit_hessian", "second_order"]


@dataclass
class SecondOrder:
    """The confirmed gradient and its derivative."""

    first: Answer
    hessian: Node | None = None  # for a column variable
    hvp: Node | None = None  # for a matrix variable, in the direction G
    checks: list = field(default_factory=list)  # CheckRow of each comparison
    reason: str = ""

    @property
    def confirmed(self) -> bool:
        return (self.hessian is not None or self.hvp is not None) and all(
            c.passed for c in self.checks)

    def as_dict(self) -> dict:
        shown = {"hessian": None if self.hessian is None else to_text(self.hessian),
                 "hessian_vector_product": None if self.hvp is None else to_text(self.hvp),
                 "direction": "G (the variable's shape)" if self.hvp is not None else None}
        return {**self.first.as_dict(), "order": 2, **shown, "second_order_confirmed":
                self.confirmed, "second_order_checks": [c.as_dict() for c in self.checks],
                **({"second_order_reason": self.reason} if self.reason else {})}


def explicit_hessian(expr: Node, wrt: str, values: dict) -> Mat:
    """SymPy's Hessian of the scalar ``expr`` in the row-major entries of ``wrt``."""
    rows, cols = Mat.of(values[wrt]).shape
    symbols = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"h_{i}_{j}", real=True))
    inputs = {name: sympy.Matrix(Mat.of(v).tolist()).applyfunc(sympy.Float)
              for name, v in values.items() if name != wrt}
    value = to_sympy(expr, {**inputs, wrt: symbols})[0, 0]
    flat = list(symbols)
    point = dict(zip(flat, (sympy.Float(v) for v in Mat.of(values[wrt]).flat), strict=True))
    hessian = sympy.hessian(value, flat)
    n = len(flat)
    return Mat(n, n, [complex(sympy.N(h.xreplace(point))).real for h in hessian])


def second_order(text: str, wrt: str, shapes=(), seed: int = 0, backend=None) -> SecondOrder:
    """The Hessian (column variable) or Hessian-vector product (matrix variable)."""
    backend = backend or default_backend()
    first = derive(text, wrt, shapes, seed=seed, elementwise=False, backend=backend)
    result = SecondOrder(first)
    p = first.problem
    if not p.is_scalar:
        raise MatrixCalculusError("derive: --order 2 needs a scalar expression (its Hessian); "
                                  f"'{to_text(p.expr)}' is {p.output_shape[0]}×"
                                  f"{p.output_shape[1]}")
    if not first.confirmed:
        result.reason = "derive: no confirmed gradient to differentiate again: " + first.reason
        return result
    gradient = first.denominator
    env = copy.deepcopy(p.env)
    env.variables["G"] = env.shape_of(wrt)
    shapes_of = {}
    infer(gradient, copy.deepcopy(env), shapes_of)
    vjp = simplify(candidate_vjp(gradient, wrt, Name("G"), shapes_of), env)
    column = env.shape_of(wrt)[1].is_one
    forms = jacobian_forms(vjp, env) if column else None
    if forms is not None:
        result.hessian = forms[0]
    else:
        result.hvp = vjp
    result.checks = confirm_second_order(p, shapes, gradient, result, Random(seed + 1),
                                         backend)
    if not all(c.passed for c in result.checks):
        result.reason = "derive: the second-order form failed its checks"
    return result


def confirm_second_order(problem, shapes, gradient: Node, result: SecondOrder, rng,
                         backend=None) -> list:
    """The second-order form against SymPy's explicit Hessian, and central
    differences of the gradient against it, at two random sizes and points."""
    backend = backend or default_backend()
    small = small_problem(problem, shapes)
    found = []
    for _, concrete, values in sample_points(small, rng, backend):
        where = (to_text(small.expr), small.wrt, confirm.shape_text(concrete))
        reference = explicit_hessian(small.expr, small.wrt, values)
        n = values[small.wrt].rows * values[small.wrt].cols
        try:
            if result.hessian is not None:
                value = backend.evaluate(result.hessian, {**values, IDENTITY.id: _eye(n)})
                backward = _hvp_of_matrix(result.hessian, backend)
            else:
                V = Mat.of(rng.standard_normal(values[small.wrt].shape))
                value = backend.evaluate(result.hvp, {**values, "G": V})
                reference = _times(reference, V)
                backward = _hvp_of_vjp(result.hvp, backend)
        except (ValueError, ArithmeticError):
            value, backward = None, None
        found.append(confirm.jacobian_row(value, reference, where, "explicit Hessian"))
        if backward is not None:
            found.append(confirm.finite_difference_row(
                gradient, small.wrt, values, backward, rng, backend,
                (to_text(gradient), small.wrt, where[2]), "finite differences of the gradient"))
    return found


def _eye(n: int) -> Mat:
    return Mat(n, n, [float(i == j) for i in range(n) for j in range(n)])


def _times(matrix: Mat, V: Mat) -> Mat:
    """``matrix @ vec(V)`` reshaped to ``V``'s shape (row-major vec)."""
    out = [sum(matrix[i, k] * V.flat[k] for k in range(matrix.cols)) for i in range(matrix.rows)]
    return Mat(V.rows, V.cols, out)


def _hvp_of_matrix(hessian: Node, backend):
    def backward(g, point):
        n = g.rows * g.cols
        matrix = backend.evaluate(hessian, {**point, IDENTITY.id: _eye(n)})
        return _times(matrix.T, g)
    return backward


def _hvp_of_vjp(hvp: Node, backend):
    def backward(g, point):
        return backend.evaluate(hvp, {**point, "G": g})
    return backward
