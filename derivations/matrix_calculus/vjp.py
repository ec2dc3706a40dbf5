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
import operator
from collections.abc import Callable

from .expr import (
    Binary,
    Call,
    Name,
    Neg,
    Node,
    Num,
    Transpose,
    constant_kind,
    names_in,
    subtrees,
    to_text,
)
from .functions import FUNCTIONS, NoRule
from .jacobian import IDENTITY, right_factor
from .shapes import ShapeEnv, infer
from .tidy import cancel_factors, chain_factors, collect_terms, is_symmetric, power_product

__all__ = ["BINARY_RULES", "candidate_vjp", "jacobian_forms", "simplify", "transpose_of"]


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


class _ShapeOracle:
    """Shapes of answer expressions (which mention ``G``), memoised."""

    def __init__(self, env: ShapeEnv):
        self.env, self.cache = env, {}

    def __call__(self, node: Node) -> tuple:
        if node not in self.cache:
            env = copy.deepcopy(self.env)
            self.cache[node] = infer(node, env)
        return self.cache[node]

    def is_scalar(self, node: Node) -> bool:
        rows, cols = self(node)
        return rows.is_one and cols.is_one


def _is_call(node: Node, fn: str) -> bool:
    return isinstance(node, Call) and node.fn == fn


def _is_eye(node: Node) -> bool:
    return _is_call(node, "eye_like") or (isinstance(node, Name)
                                          and constant_kind(node.id) == "eye")


# Folding two numbers (1×1 matrices: ``@`` is their product).
_FOLD = {"*": operator.mul, "@": operator.mul, "+": operator.add, "-": operator.sub,
         "/": operator.truediv}


def _rewrite(node: Node, shape: _ShapeOracle) -> Node:
    """One bottom-up pass of algebraic tidying; every rule keeps the value."""
    if isinstance(node, Neg):
        arg = _rewrite(node.arg, shape)
        if isinstance(arg, Neg):
            return arg.arg
        if isinstance(arg, Num):
            return Num(-arg.value)
        return Neg(arg)
    if isinstance(node, Transpose):
        arg = _rewrite(node.arg, shape)
        if isinstance(arg, Transpose):
            return arg.arg
        if isinstance(arg, Num) or _is_call(arg, "eye_like") or shape.is_scalar(arg):
            return arg
        if is_symmetric(arg):
            return arg  # (X.T @ X).T, inv(X.T @ X).T
        if _is_call(arg, "diag") and shape(arg)[1] == shape(arg)[0]:
            return arg  # a diagonal matrix
        if _is_call(arg, "ones_like") and shape(arg)[1] == shape(arg)[0]:
            return arg  # a square matrix of ones
        if _is_call(arg, "matrix_power"):
            return Call("matrix_power", (Transpose(arg.args[0]), arg.args[1]))
        if isinstance(arg, Binary):
            # (a @ b).T = b.T @ a.T; elementwise ops commute with .T: the
            # transposes end on the leaves, where the Cookbook writes them.
            if arg.op == "@":
                return Binary("@", Transpose(arg.right), Transpose(arg.left))
            if arg.op == "**":
                return Binary("**", Transpose(arg.left), arg.right)  # the exponent is a number
            return Binary(arg.op, Transpose(arg.left), Transpose(arg.right))
        if isinstance(arg, Neg):
            return Neg(Transpose(arg.arg))
        return Transpose(arg)
    if isinstance(node, Call):
        args = tuple(_rewrite(a, shape) for a in node.args)
        if node.fn in ("ones_like", "eye_like"):
            args = (_smallest_like(args[0], shape),)  # ones_like(X), not of a whole sum
        if node.fn in _LINEAR and isinstance(args[0], Neg):
            return Neg(Call(node.fn, (args[0].arg,)))  # rowsum(-Y) is -rowsum(Y)
        if node.fn == "inv" and _is_call(args[0], "inv"):
            return args[0].args[0]  # inv(inv(X)) is X
        if node.fn == "sign" and shape.is_scalar(args[0]) and _positive_almost_everywhere(args[0]):
            return Num(1.0)  # sign(x.T @ x) is 1 wherever its derivative exists (x ≠ 0)
        return Call(node.fn, args)
    if not isinstance(node, Binary):
        return node
    op, a, b = node.op, _rewrite(node.left, shape), _rewrite(node.right, shape)
    if isinstance(a, Num) and isinstance(b, Num) and not (op == "/" and b.value == 0):
        return Num(_FOLD[op](a.value, b.value))
    if op in "*@" and isinstance(a, Num) and a.value == 1:
        return b
    if op in "*/@" and isinstance(b, Num) and b.value == 1:
        return a  # x @ 1 is x: a 1×1 right factor only fits a column
    if op == "*" and isinstance(a, Binary) and a.op == "/" and a.right == b:
        return a.left  # (x / y) * y
    if op == "*" and isinstance(b, Binary) and b.op == "/" and b.right == a:
        return b.left
    if op == "**" and b == Num(1.0):
        return a
    if (op == "/" and shape.is_scalar(a) and isinstance(b, Call) and b.fn in ("norm2", "abs")
            and b.args[0] == a):
        return Call("sign", (a,))  # a / |a| for a number a
    if op == "/" and _is_call(a, "ones_like") and shape(b) == shape(a):
        return Binary("/", Num(1), b)
    if op in "*/":
        cancelled = cancel_factors(Binary(op, a, b))
        if cancelled is not None and shape(cancelled) == shape(Binary(op, a, b)):
            return cancelled  # 2 * n * x / n is 2 * x; sign(d) * d / abs(d) is 1
    if op in "*@":
        product = power_product(op, a, b)
        if product is not None:
            return product  # x * x is x ** 2, X @ X is matrix_power(X, 2)
    if op == "@" and isinstance(a, Binary) and a.op == "@":
        product = power_product(op, a.right, b)
        if product is not None:
            return Binary("@", a.left, product)  # (A @ X) @ X is A @ matrix_power(X, 2)
    if op == "*":
        # A matrix of ones times y is y when y already has the product's shape.
        if _is_call(a, "ones_like") and shape(b) == shape(Binary("*", a, b)):
            return b
        if _is_call(b, "ones_like") and shape(a) == shape(Binary("*", a, b)):
            return a
        if isinstance(a, Num) and a.value == -1:
            return Neg(b)
        if isinstance(b, Binary) and b.op == "/" and b.left == Num(1.0):
            return Binary("/", a, b.right)  # a * (1 / x) is a / x
    if op == "@" and isinstance(b, Binary) and b.op == "@":
        return Binary("@", Binary("@", a, b.left), b.right)  # read products left to right
    if op == "@":
        # A scalar factor leaves the matrix product: A (s B) = s (A B).
        for outer, inner, scaled_left in ((b, a, False), (a, b, True)):
            if isinstance(outer, Binary) and outer.op == "*":
                for s_, m in ((outer.left, outer.right), (outer.right, outer.left)):
                    if shape.is_scalar(s_) and not shape.is_scalar(m):
                        product = Binary("@", m, inner) if scaled_left else Binary("@", inner, m)
                        return Binary("*", s_, product)
        if _inverse_pair(a, b):
            return Call("eye_like", (b,))  # inv(X) @ X, X.T @ inv(X).T
        if isinstance(a, Binary) and a.op == "@" and _inverse_pair(a.right, b):
            return a.left  # (A @ inv(X)) @ X
        if _is_eye(a):
            return b
        if _is_eye(b):
            return a
    if op in "*@/" and isinstance(a, Neg):
        return Neg(Binary(op, a.arg, b))
    if op in "*@/" and isinstance(b, Neg):
        return Neg(Binary(op, a, b.arg))
    if op == "-" and isinstance(b, Neg):
        return Binary("+", a, b.arg)
    if op == "+" and isinstance(b, Neg):
        return Binary("-", a, b.arg)
    if op == "+" and isinstance(a, Neg):
        return Binary("-", b, a.arg)
    if op in "+-":
        return collect_terms(Binary(op, a, b))  # like terms combined
    return Binary(op, a, b)


_LINEAR = ("sum", "rowsum", "colsum", "tr", "vec", "vec_columns", "diag")


def _inverse_pair(a: Node, b: Node) -> bool:
    """Whether ``a @ b`` is an identity: ``inv(X) @ X``, ``X @ inv(X)``, or their transposes."""
    if isinstance(a, Transpose) and isinstance(b, Transpose):
        a, b = a.arg, b.arg
    return (_is_call(a, "inv") and a.args[0] == b) or (_is_call(b, "inv") and b.args[0] == a)


def _positive_almost_everywhere(node: Node) -> bool:
    """Whether a scalar ``node`` is > 0 except on a set of measure zero, where
    what contains it is not differentiable anyway: ``exp(s)``; ``|s|`` and
    ``‖s‖``; a product that reads the same transposed with an even number of
    factors (``x.T @ x``, ``x.T @ A.T @ A @ x``: a squared norm)."""
    if _is_call(node, "exp") or (isinstance(node, Call) and node.fn in ("abs", "norm2")):
        return True
    if isinstance(node, Binary) and node.op == "@":
        factors = chain_factors(node)
        return len(factors) % 2 == 0 and is_symmetric(node)
    return False


def _smallest_like(node: Node, shape: _ShapeOracle) -> Node:
    """A variable of ``node``'s shape, found inside it, to stand for ``node``
    in ``ones_like``/``eye_like`` (which only read the shape); else ``node``."""
    target = shape(node)
    for sub in subtrees(node):
        if isinstance(sub, Name) and sub.id != "G" and shape(sub) == target:
            return sub
    return node


def simplify(node: Node, env: ShapeEnv) -> Node:
    """Tidy an answer until nothing changes (at most 20 passes each time).

    ``env`` holds the variables' shapes, including the upstream ``G``. The
    tidy answer is tidied once more with the inverses of products of square
    matrices taken apart (:func:`_split_inverses`), and that form is kept
    when it prints shorter: ``A.T @ inv(A @ X @ B).T @ B.T`` is
    ``inv(X).T`` for square ``A`` and ``B``, where for a non-square ``X``
    (``inv(X.T @ A @ X)``) nothing is split.
    """
    oracle = _ShapeOracle(env)

    def tidy(node: Node) -> Node:
        for _ in range(20):
            new = _rewrite(node, oracle)
            if new == node:
                break
            node = new
        return node

    node = tidy(node)
    split = _split_inverses(node, oracle)
    if split != node:
        split = tidy(split)
        if len(to_text(split)) < len(to_text(node)):
            return split
    return node


def _split_inverses(node: Node, shape: _ShapeOracle) -> Node:
    """``node`` with every ``inv(P @ Q @ ...)`` of square factors written
    ``... @ inv(Q) @ inv(P)`` (and ``inv(P.T)`` as ``inv(P).T``)."""
    def inverse(factor: Node) -> Node:
        if isinstance(factor, Transpose):
            return Transpose(inverse(factor.arg))
        if _is_call(factor, "inv"):
            return factor.args[0]
        return Call("inv", (factor,))

    def walk(n: Node) -> Node:
        if isinstance(n, Call):
            args = tuple(walk(a) for a in n.args)
            if n.fn == "inv" and isinstance(args[0], Binary) and args[0].op == "@":
                factors = chain_factors(args[0])
                if all(shape(f)[0] == shape(f)[1] for f in factors):
                    result = inverse(factors[-1])
                    for factor in reversed(factors[:-1]):
                        result = Binary("@", result, inverse(factor))
                    return result
            return Call(n.fn, args)
        if isinstance(n, Binary):
            return Binary(n.op, walk(n.left), walk(n.right))
        if isinstance(n, Transpose):
            return Transpose(walk(n.arg))
        if isinstance(n, Neg):
            return Neg(walk(n.arg))
        return n

    return walk(node)


def transpose_of(node: Node, env: ShapeEnv) -> Node:
    """``node.T`` with the transpose pushed down to the leaves where it reads well.

    Used to turn a denominator-layout gradient into numerator layout.
    """
    oracle = _ShapeOracle(env)

    def push(n: Node) -> Node:
        if isinstance(n, Transpose):
            return n.arg
        if isinstance(n, Num) or _is_call(n, "eye_like") or oracle.is_scalar(n):
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
    oracle = _ShapeOracle(env)

    def is_column(node: Node) -> bool:
        r, c = oracle(node)
        return c.is_one and not r.is_one

    found = right_factor(vjp, oracle.is_scalar, is_column)
    if found is None:
        return None
    denominator = simplify(found, env)
    return denominator, transpose_of(denominator, env)
