"""The Jacobian of a vector-valued expression as a matrix expression.

For a column ``y`` (k×1) of a column ``x`` (n×1) the VJP is linear in the
upstream gradient: ``x̄ = Jᵀ G``.  When the VJP the rules produce can be
written ``M @ G`` (``G`` at the right end of every term), ``M = Jᵀ`` is the
Jacobian in denominator layout (n×k) and its transpose ``J`` (k×n,
``J[i, j] = dy_i/dx_j``) the Jacobian in numerator layout, the layout of
matrixcalculus.org, where ``∂(A x)/∂x = A``.  The rewriting uses

.. math::

    G \\mapsto I_k, \\quad P\\,(Q G) = (P Q) G,

    v \\odot (Q G) = \\operatorname{diag}(v)\\, Q G, \\quad
    c\\,(Q G) = (c Q) G \\ (c \\text{ scalar}),

and gives up (``None``) on anything else: then ``derive`` gives the VJP and
says so.  A matrix output or a matrix variable has a four-index Jacobian and
no such form.  What comes out is confirmed entry by entry against the
explicit Jacobian, like every answer.
"""

from __future__ import annotations

from .expr import Binary, Call, Name, Neg, Node, Num, names_in

__all__ = ["IDENTITY", "right_factor"]

#: The identity of the output's size, a constant of its own (prints as eye).
IDENTITY = Name("eye.jacobian")


def right_factor(vjp: Node, is_scalar, is_column) -> Node | None:
    """``M`` with ``vjp == M @ G``, or ``None`` when the form has no such ``M``.

    ``is_scalar(node)`` and ``is_column(node)`` tell the shapes of factors
    (a scalar multiplies, a column of the output's size becomes ``diag``).

    >>> from derivations.matrix_calculus.parser import parse
    >>> from derivations.matrix_calculus.expr import to_text
    >>> to_text(right_factor(parse("A.T @ G", upstream=True), lambda n: False, None))
    'A.T @ eye'
    """
    if "G" not in names_in(vjp):
        return None
    if vjp == Name("G"):
        return IDENTITY
    if isinstance(vjp, Neg):
        inner = right_factor(vjp.arg, is_scalar, is_column)
        return None if inner is None else Neg(inner)
    if not isinstance(vjp, Binary):
        return None
    a, b = vjp.left, vjp.right
    if vjp.op in "+-":
        left, right = (right_factor(a, is_scalar, is_column),
                       right_factor(b, is_scalar, is_column))
        return None if left is None or right is None else Binary(vjp.op, left, right)
    if vjp.op == "@" and "G" not in names_in(a):
        inner = right_factor(b, is_scalar, is_column)
        return None if inner is None else Binary("@", a, inner)
    if vjp.op in "*/":
        if vjp.op == "*" and "G" in names_in(b):
            a, b = b, a  # the factor with G first
        if "G" in names_in(b):
            return None
        inner = right_factor(a, is_scalar, is_column)
        if inner is None:
            return None
        if is_scalar(b):
            return Binary(vjp.op, inner, b) if vjp.op == "/" else Binary("*", b, inner)
        if is_column(b):
            scale = b if vjp.op == "*" else Binary("/", Num(1), b)
            return Binary("@", Call("diag", (scale,)), inner)
    return None
