"""The simplest form of an answer: value-preserving rewrites, applied until
nothing changes.

``derive`` builds a candidate VJP by the rules of ``vjp.py``; this module
tidies it (numbers folded, transposes pushed to the leaves, inverse pairs
and identities dropped, like terms and powers combined, see also
``tidy.py``) before it is confirmed. Every rule keeps the value, and the
tidied answer is still checked against the explicit Jacobian and by finite
differences: a wrong rule fails the check, it does not reach the reader.
"""

from __future__ import annotations

import copy
import operator

from .expr import Binary, Call, Name, Neg, Node, Num, Transpose, constant_kind, subtrees, to_text
from .shapes import ShapeEnv, infer
from .tidy import (
    cancel_factors,
    collect_terms,
    is_symmetric,
    positive_almost_everywhere,
    power_product,
    split_inverses,
)

__all__ = ["ShapeOracle", "is_call", "simplify"]


class ShapeOracle:
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


def is_call(node: Node, fn: str) -> bool:
    return isinstance(node, Call) and node.fn == fn


def _is_eye(node: Node) -> bool:
    return is_call(node, "eye_like") or (isinstance(node, Name)
                                          and constant_kind(node.id) == "eye")


# Folding two numbers (1×1 matrices: ``@`` is their product).
_FOLD = {"*": operator.mul, "@": operator.mul, "+": operator.add, "-": operator.sub,
         "/": operator.truediv}


def _rewrite(node: Node, shape: ShapeOracle) -> Node:
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
        if isinstance(arg, Num) or is_call(arg, "eye_like") or shape.is_scalar(arg):
            return arg
        if is_symmetric(arg):
            return arg  # (X.T @ X).T, inv(X.T @ X).T
        if is_call(arg, "diag") and shape(arg)[1] == shape(arg)[0]:
            return arg  # a diagonal matrix
        if is_call(arg, "ones_like") and shape(arg)[1] == shape(arg)[0]:
            return arg  # a square matrix of ones
        if is_call(arg, "matrix_power"):
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
        if node.fn == "inv" and is_call(args[0], "inv"):
            return args[0].args[0]  # inv(inv(X)) is X
        if node.fn == "sign" and shape.is_scalar(args[0]) and positive_almost_everywhere(args[0]):
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
    if op == "/" and is_call(a, "ones_like") and shape(b) == shape(a):
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
        if is_call(a, "ones_like") and shape(b) == shape(Binary("*", a, b)):
            return b
        if is_call(b, "ones_like") and shape(a) == shape(Binary("*", a, b)):
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
    return (is_call(a, "inv") and a.args[0] == b) or (is_call(b, "inv") and b.args[0] == a)


def _smallest_like(node: Node, shape: ShapeOracle) -> Node:
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
    matrices taken apart (:func:`~.tidy.split_inverses`), and that form is kept
    when it prints shorter: ``A.T @ inv(A @ X @ B).T @ B.T`` is
    ``inv(X).T`` for square ``A`` and ``B``, where for a non-square ``X``
    (``inv(X.T @ A @ X)``) nothing is split.
    """
    oracle = ShapeOracle(env)

    def tidy(node: Node) -> Node:
        for _ in range(20):
            new = _rewrite(node, oracle)
            if new == node:
                break
            node = new
        return node

    node = tidy(node)
    split = split_inverses(node, oracle)
    if split != node:
        split = tidy(split)
        if len(to_text(split)) < len(to_text(node)):
            return split
    return node
