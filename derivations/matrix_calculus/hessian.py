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
and against netlib's central differences of the gradient.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import sympy

from . import confirm
from .checks import sample_points
from .derive import Answer, derive, small_problem
from .errors import MatrixCalculusError
from .evaluate import to_sympy
from .expr import Name, Node, to_text
from .jacobian import IDENTITY
from .numeric import to_numpy
from .shapes import infer
from .vjp import candidate_vjp, jacobian_forms, simplify

__all__ = ["SecondOrder", "confirm_second_order", "explicit_hessian", "second_order"]


@dataclass
class SecondOrder:
    """The confirmed gradient and its derivative."""

    first: Answer
    hessian: Node | None = None  # for a column variable
    hvp: Node | None = None  # for a matrix variable, in the direction G
    checks: list = field(default_factory=list)
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


def explicit_hessian(expr: Node, wrt: str, values: dict) -> np.ndarray:
    """SymPy's Hessian of the scalar ``expr`` in the row-major entries of ``wrt``."""
    rows, cols = values[wrt].shape
    symbols = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"h_{i}_{j}", real=True))
    inputs = {name: sympy.Matrix(v.tolist()).applyfunc(sympy.Float)
              for name, v in values.items() if name != wrt}
    value = to_sympy(expr, {**inputs, wrt: symbols})[0, 0]
    flat = list(symbols)
    point = dict(zip(flat, (sympy.Float(float(v)) for v in values[wrt].ravel()), strict=True))
    hessian = sympy.hessian(value, flat)
    return np.array([[complex(sympy.N(h.xreplace(point))).real for h in row]
                     for row in hessian.tolist()], dtype=float)


def second_order(text: str, wrt: str, shapes=(), seed: int = 0) -> SecondOrder:
    """The Hessian (column variable) or Hessian-vector product (matrix variable)."""
    first = derive(text, wrt, shapes, seed=seed, elementwise=False)
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
    result.checks = confirm_second_order(p, shapes, gradient, result,
                                         np.random.default_rng(seed + 1))
    if not all(c.passed for c in result.checks):
        result.reason = "derive: the second-order form failed its checks"
    return result


def confirm_second_order(problem, shapes, gradient: Node, result: SecondOrder, rng) -> list:
    small = small_problem(problem, shapes)
    found = []
    for _, concrete, values in sample_points(small, rng):
        reference = explicit_hessian(small.expr, small.wrt, values)
        n = values[small.wrt].size
        with np.errstate(all="ignore"):
            if result.hessian is not None:
                value = np.asarray(to_numpy(result.hessian, {**values, IDENTITY.id: np.eye(n)}),
                                   dtype=float)
                found.append(confirm.jacobian_confirmation(
                    value, reference, concrete, "Hessian = explicit Hessian (SymPy)"))
                backward = _hvp_of_matrix(result.hessian)
            else:
                V = rng.standard_normal(values[small.wrt].shape)
                value = np.asarray(to_numpy(result.hvp, {**values, "G": V}), dtype=float)
                found.append(confirm.jacobian_confirmation(
                    value, (reference @ V.reshape(-1)).reshape(V.shape), concrete,
                    "Hessian-vector product = explicit Hessian (SymPy) times V"))
                backward = _hvp_of_vjp(result.hvp)
        check = confirm.finite_difference_check(gradient, small.wrt, values, backward, rng,
                                                concrete)[0]
        check.method = "central differences of the gradient " + check.method.split(" ", 2)[2]
        found.append(check)
    return found


def _hvp_of_matrix(hessian: Node):
    def backward(g, point):
        n = g.size
        matrix = np.asarray(to_numpy(hessian, {**point, IDENTITY.id: np.eye(n)}), dtype=float)
        return (matrix.T @ g.reshape(-1)).reshape(g.shape)
    return backward


def _hvp_of_vjp(hvp: Node):
    def backward(g, point):
        return np.asarray(to_numpy(hvp, {**point, "G": g}), dtype=float)
    return backward
