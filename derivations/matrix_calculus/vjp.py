"""Reverse-mode rules that turn an expression into a closed-form VJP.

The VJP of ``Y = f(X)`` with upstream gradient ``G`` (``Y``'s shape) is
``J^T vec(G)`` reshaped to ``X``'s shape.  It is built by walking the tree
from the output down, carrying the upstream gradient of each subtree as an
expression of the language, one rule per operation:

.. math::

    Y = A B:\\quad \\bar A = G B^{\\top},\\ \\bar B = A^{\\top} G;

    Y = A \\odot B:\\quad \\bar A = G \\odot B;

    Y = X^{\\top}:\\quad \\bar X = G^{\\top}

and the function rules of ``functions.py``.  Where an operand was broadcast,
its gradient is summed back to its shape (``sum``, ``rowsum``, ``colsum``).
Contributions of several occurrences of the variable are added.

What comes out is only a *candidate*: ``derive`` prints it only after it
matched the explicit Jacobian and finite differences.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from .expr import Binary, Call, Name, Neg, Node, Num, Transpose, names_in
from .functions import FUNCTIONS, NoRule
from .jacobian import IDENTITY, right_factor
from .shapes import ShapeEnv
from .simplify import ShapeOracle, is_call, simplify

__all__ = ["BINARY_RULES", "candidate_vjp", "jacobian_forms", "transpose_of"]


def _unbroadcast(g: Node, operand_shape: tuple, out_shape: tuple) -> Node:
    """Sum ``g`` (output-shaped) back to the shape of an operand that was broadcast."""
    rows_spread = operand_shape[0].is_one and not out_shape[0].is_one
    cols_spread = operand_shape[1].is_one and not out_shape[1].is_one
    if rows_spread and cols_spread:
        return Call("sum", (g,))
    if rows_spread:
        return Call("colsum", (g,))
    if cols_spread:
        return Call("rowsum", (g,))
    return g


# ----- binary operators: one rule per operand, (left rule, right rule) -----
# Each rule gets (left, right, G) and returns the upstream gradient of that
# operand *before* unbroadcasting.

BINARY_RULES: dict[str, tuple[Callable, Callable]] = {
    # The transposes sit where the shapes force them: G is (m, p), A (m, n), B (n, p).
    "@": (lambda a, b, G: Binary("@", G, Transpose(b)),
          lambda a, b, G: Binary("@", Transpose(a), G)),
    "*": (lambda a, b, G: Binary("*", G, b),
          lambda a, b, G: Binary("*", G, a)),
    "/": (lambda a, b, G: Binary("/", G, b),
          lambda a, b, G: Neg(Binary("/", Binary("*", G, a), Binary("*", b, b)))),
    "+": (lambda a, b, G: G, lambda a, b, G: G),
    "-": (lambda a, b, G: G, lambda a, b, G: Neg(G)),
    # d(a ** p) = p a ** (p - 1) da; the exponent is a number (the parser sees to it)
    "**": (lambda a, b, G: Binary("*", G, Binary("*", b, Binary("**", a, Num(b.value - 1)))),
           lambda a, b, G: _no_rule("a variable exponent")),
}


def _no_rule(what: str):
    raise NoRule(f"derive: no closed-form rule for {what}")


def canonical(node: Node, shapes: dict) -> Node:
    """The expression with ``log(softmax(z))`` read as ``log_softmax(z)`` and
    ``log(exp(z))`` as ``z``: the same values, and a gradient that does not
    divide by the softmax.  New nodes get their shapes in ``shapes``."""
    def walk(n: Node) -> Node:
        if isinstance(n, Call):
            args = tuple(walk(a) for a in n.args)
            inner = args[0] if args else None
            if n.fn == "log" and isinstance(inner, Call) and inner.fn == "softmax":
                new = Call("log_softmax", inner.args)
            elif n.fn == "log" and isinstance(inner, Call) and inner.fn == "exp":
                return inner.args[0]
            else:
                new = n if args == n.args else Call(n.fn, args)
        elif isinstance(n, Binary):
            left, right = walk(n.left), walk(n.right)
            new = n if (left, right) == (n.left, n.right) else Binary(n.op, left, right)
        elif isinstance(n, (Neg, Transpose)):
            arg = walk(n.arg)
            new = n if arg is n.arg else type(n)(arg)
        else:
            return n
        shapes[id(new)] = shapes[id(n)]
        return new

    return walk(node)


def candidate_vjp(expr: Node, wrt: str, G: Node, shapes: dict,
                  overrides: dict | None = None, trace: list | None = None) -> Node:
    """The VJP of ``expr`` with respect to ``wrt`` for upstream gradient ``G``.

    ``shapes`` maps ``id(subtree)`` to its inferred shape (from
    :func:`shapes.infer`).  ``overrides`` replaces rules by operator or
    function name: the tests use it to inject a wrong rule and watch the
    confirmation reject it.  Raises :class:`functions.NoRule` where no rule
    is known.  ``trace``, a list, receives ``(subtree, its upstream
    gradient)`` for every subtree the walk passes through, outermost first
    (``steps.py`` shows them as the steps of the derivation).
    """
    overrides = overrides or {}
    expr = canonical(expr, shapes)

    def walk(node: Node, g: Node) -> Node | None:
        if wrt not in names_in(node):
            return None
        if trace is not None:
            trace.append((node, g))
        if isinstance(node, Name):
            return g
        if isinstance(node, Neg):
            return walk(node.arg, Neg(g))
        if isinstance(node, Transpose):
            return walk(node.arg, Transpose(g))
        parts = []
        if isinstance(node, Binary):
            rules = overrides.get(node.op, BINARY_RULES[node.op])
            for operand, rule in zip((node.left, node.right), rules, strict=True):
                if wrt in names_in(operand):
                    local = rule(node.left, node.right, g)
                    if node.op != "@":
                        local = _unbroadcast(local, shapes[id(operand)], shapes[id(node)])
                    parts.append(walk(operand, local))
        else:
            rule = overrides.get(node.fn, FUNCTIONS[node.fn].vjp)
            for index, arg in enumerate(node.args):
                if wrt in names_in(arg):
                    local = rule(node, index, g)
                    if local is not None:
                        parts.append(walk(arg, local))
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        total = parts[0]
        for part in parts[1:]:
            total = Binary("+", total, part)
        return total

    result = walk(expr, G)
    return Num(0.0) if result is None else result


def transpose_of(node: Node, env: ShapeEnv) -> Node:
    """``node.T`` with the transpose pushed down to the leaves where it reads well.

    Used to turn a denominator-layout gradient into numerator layout.
    """
    oracle = ShapeOracle(env)

    def push(n: Node) -> Node:
        if isinstance(n, Transpose):
            return n.arg
        if isinstance(n, Num) or is_call(n, "eye_like") or oracle.is_scalar(n):
            return n
        if isinstance(n, Neg):
            return Neg(push(n.arg))
        if isinstance(n, Binary):
            if n.op == "@":
                return Binary("@", push(n.right), push(n.left))
            return Binary(n.op, push(n.left), push(n.right))
        return Transpose(n)

    return simplify(push(node), env)


def jacobian_forms(vjp: Node, env: ShapeEnv) -> tuple[Node, Node] | None:
    """The Jacobian of a column of a column as ``(denominator, numerator)``
    matrix expressions, read off the VJP ``M @ G`` (see ``jacobian.py``), or
    ``None``.  ``env`` holds the shapes of the variables and of ``G``."""
    env = copy.deepcopy(env)
    rows = env.shape_of("G")[0]
    env.variables[IDENTITY.id] = (rows, rows)
    oracle = ShapeOracle(env)

    def is_column(node: Node) -> bool:
        r, c = oracle(node)
        return c.is_one and not r.is_one

    found = right_factor(vjp, oracle.is_scalar, is_column)
    if found is None:
        return None
    denominator = simplify(found, env)
    return denominator, transpose_of(denominator, env)
