"""The expression tree of the matrix language, and how to print it back.

A parsed expression is a tree of the small frozen dataclasses below.  The
same tree type carries what the user typed and the answers ``derive``
produces, so every answer can be printed in the language (and parsed again)
and in LaTeX.

Glossary (used across the subpackage): ``G`` is the upstream gradient of a
matrix-valued expression (``G = dL/dY`` of the output's shape); a *VJP* is
``J^T vec(G)`` reshaped to the shape of the variable; for a scalar
expression the upstream gradient is the number 1 and the VJP is the
gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Binary",
    "Call",
    "Name",
    "Neg",
    "Node",
    "Num",
    "Transpose",
    "constant_kind",
    "is_scalar_node",
    "names_in",
    "subtrees",
    "to_latex",
    "to_text",
]


@dataclass(frozen=True)
class Name:
    """A variable: a matrix, a column vector or a scalar, by its shape.

    The constants ``ones`` and ``eye`` are names too, one per occurrence
    (``ones.1``, ``eye.2``: a dot no user's name can hold), each with its own
    inferred shape and filled with ones or the identity wherever the
    expression is evaluated; they print as ``ones`` and ``eye``.
    """

    id: str


#: The constants of the language, whose shapes are inferred from where they stand.
CONSTANTS = ("ones", "eye")


def constant_kind(name: str) -> str | None:
    """``"ones"`` or ``"eye"`` for a constant's occurrence name, else ``None``.

    >>> constant_kind("eye.2"), constant_kind("X")
    ('eye', None)
    """
    kind = name.split(".")[0]
    return kind if "." in name and kind in CONSTANTS else None


@dataclass(frozen=True)
class Num:
    """A numeric constant (a scalar)."""

    value: float


@dataclass(frozen=True)
class Neg:
    """``-arg``."""

    arg: Node


@dataclass(frozen=True)
class Transpose:
    """``arg.T``."""

    arg: Node


@dataclass(frozen=True)
class Binary:
    """``left op right`` with ``op`` one of ``@ * / + - **``.

    ``@`` is the matrix product; ``* / + -`` are elementwise and broadcast a
    scalar (1×1), a column (r×1) or a row (1×c) against a matrix, as numpy
    does with 2-D arrays; ``**`` is the elementwise power by a number.
    """

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """``fn(args...)`` for a function of the whitelist in ``functions.py``."""

    fn: str
    args: tuple


Node = Name | Num | Neg | Transpose | Binary | Call

# Binding strength for printing; a child binding less tightly than its parent
# gets parentheses.  Same table as Python's, which the parser reuses.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "**": 4}
_NEG, _POSTFIX, _ATOM = 3, 5, 6


def _precedence(node: Node) -> int:
    if isinstance(node, Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, Neg):
        return _NEG
    if isinstance(node, Num) and node.value < 0:
        return _NEG
    if isinstance(node, Transpose):
        return _POSTFIX
    return _ATOM


def _format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def to_text(node: Node, call=None, name=None) -> str:
    """Print ``node`` in the matrix language (the parser reads it back).

    ``call(fn, args)`` and ``name(id)``, when given, print calls and names
    another way (``emit.py`` prints numpy code with the same precedence).

    >>> to_text(Binary("@", Transpose(Name("A")), Binary("+", Name("x"), Num(1))))
    'A.T @ (x + 1)'
    """
    if isinstance(node, Name):
        return name(node.id) if name else constant_kind(node.id) or node.id
    if isinstance(node, Num):
        return _format_number(node.value)
    if isinstance(node, Neg):
        inner = to_text(node.arg, call, name)
        # -(a * b) is printed with parentheses: Python's grammar binds unary
        # minus tighter than *, so -a * b would parse as (-a) * b.
        return f"-{inner}" if _precedence(node.arg) >= _NEG else f"-({inner})"
    if isinstance(node, Transpose):
        inner = to_text(node.arg, call, name)
        return f"{inner}.T" if _precedence(node.arg) >= _POSTFIX else f"({inner}).T"
    if isinstance(node, Call):
        args = [to_text(a, call, name) for a in node.args]
        return call(node.fn, args) if call else f"{node.fn}({', '.join(args)})"
    mine = _PRECEDENCE[node.op]
    left = to_text(node.left, call, name)
    if node.op == "**":  # right-associative, and -x ** 2 is -(x ** 2): group the base
        base = left if _precedence(node.left) > mine else f"({left})"
        return f"{base} ** {to_text(node.right, call, name)}"
    if _precedence(node.left) < mine:
        left = f"({left})"
    right = to_text(node.right, call, name)
    # Left-associative operators: the right child needs parentheses when it
    # binds equally (a - (b - c), a @ (b @ c) keeps the order the rule emitted).
    if _precedence(node.right) <= mine:
        right = f"({right})"
    return f"{left} {node.op} {right}"


_LATEX_FUNCTIONS = {
    "tr": r"\operatorname{tr}",
    "det": r"\det",
    "log": r"\log",
    "exp": r"\exp",
    "tanh": r"\tanh",
    "sin": r"\sin",
    "cos": r"\cos",
    "sigmoid": r"\sigma",
    "softmax": r"\operatorname{softmax}",
    "log_softmax": r"\operatorname{log\,softmax}",
    "logsumexp": r"\operatorname{lse}",
    "sum": r"\operatorname{sum}",
    "rowsum": r"\operatorname{rowsum}",
    "colsum": r"\operatorname{colsum}",
    "vec": r"\operatorname{vec}",
    "unvec_like": r"\operatorname{unvec}",
    "vec_columns": r"\operatorname{vec}_{\mathrm{col}}",
    "ones_like": r"\mathbf{1}",
    "eye_like": r"I",
    "logdet": r"\log\det",
    "abs": r"\operatorname{abs}",
    "sign": r"\operatorname{sign}",
    "relu": r"\operatorname{relu}",
    "step": r"\operatorname{step}",
    "diag": r"\operatorname{diag}",
    "adj": r"\operatorname{adj}",
}

#: Functions whose value is always 1×1: a product with one of them is a scalar
#: product, printed without ⊙.
_SCALAR_FUNCTIONS = {"tr", "det", "logdet", "sum", "norm1", "norm2"}


def to_latex(node: Node, scalar: Callable[[Node], bool] | None = None) -> str:
    r"""Print ``node`` as LaTeX (``\odot`` for elementwise products of matrices).

    ``scalar(n)`` says whether subtree ``n`` is 1×1 (default:
    :func:`is_scalar_node`, by its form alone; a caller that has inferred the
    shapes passes a better one). A product with a scalar is printed as a plain
    product, and a scalar's power as a power: ⊙ and ∘ mean entrywise
    operations on matrices only.

    >>> to_latex(Binary("@", Transpose(Name("A")), Call("inv", (Name("X"),))))
    'A^{\\top} X^{-1}'
    """
    scalar = scalar or is_scalar_node
    if isinstance(node, Name):
        kind = constant_kind(node.id)
        return {"ones": r"\mathbf{1}", "eye": "I"}.get(kind, node.id)
    if isinstance(node, Num):
        return _format_number(node.value)
    if isinstance(node, Neg):
        inner = to_latex(node.arg, scalar)
        return f"-{inner}" if _precedence(node.arg) >= _NEG else rf"-\left({inner}\right)"
    if isinstance(node, Transpose):
        arg = node.arg
        if isinstance(arg, Call) and arg.fn == "inv":
            return rf"{_latex_group(arg.args[0], scalar)}^{{-\top}}"
        return rf"{_latex_group(arg, scalar)}^{{\top}}"
    if isinstance(node, Call):
        if node.fn == "inv":
            return rf"{_latex_group(node.args[0], scalar)}^{{-1}}"
        if node.fn in ("norm1", "norm2"):
            return rf"\left\lVert {to_latex(node.args[0], scalar)} \right\rVert_{node.fn[-1]}"
        if node.fn == "matrix_power":
            return rf"{_latex_group(node.args[0], scalar)}^{{{to_latex(node.args[1], scalar)}}}"
        if node.fn == "kron":
            left, right = (_latex_group(a, scalar) for a in node.args)
            pair = rf"{left} \otimes {right}"
            return rf"\left({pair}\right)"
        if node.fn in ("ones_like", "eye_like"):
            return rf"{_LATEX_FUNCTIONS[node.fn]}_{{{to_latex(node.args[0], scalar)}}}"
        if node.fn in ("unvec_like", "unvec_columns_like"):
            shape_of, vector = to_latex(node.args[1], scalar), to_latex(node.args[0], scalar)
            which = r"\mathrm{col}," if node.fn == "unvec_columns_like" else ""
            return rf"\operatorname{{unvec}}_{{{which}{shape_of}}}\left({vector}\right)"
        name = _LATEX_FUNCTIONS.get(node.fn, rf"\operatorname{{{node.fn}}}")
        args = ", ".join(to_latex(a, scalar) for a in node.args)
        return rf"{name}\left({args}\right)"
    mine = _PRECEDENCE[node.op]
    left, right = to_latex(node.left, scalar), to_latex(node.right, scalar)
    if node.op == "**":  # the Hadamard power: X^{∘2}, not the matrix power X^2
        power = "" if scalar(node.left) else r"\circ "
        return rf"{_latex_group(node.left, scalar)}^{{{power}{right}}}"
    if _precedence(node.left) < mine:
        left = rf"\left({left}\right)"
    if _precedence(node.right) <= mine:
        right = rf"\left({right}\right)"
    if node.op == "/":
        return rf"\frac{{{to_latex(node.left, scalar)}}}{{{to_latex(node.right, scalar)}}}"
    symbol = {"@": " ", "*": r" \odot ", "+": " + ", "-": " - "}[node.op]
    if node.op == "*" and (scalar(node.left) or scalar(node.right)):
        symbol = " "  # a number times a matrix is a plain scalar product
    return f"{left}{symbol}{right}"


def is_scalar_node(node: Node) -> bool:
    """Whether ``node`` is 1×1 by its form alone (a number, a trace, a sum, ...).

    >>> is_scalar_node(Binary("*", Num(2), Call("det", (Name("X"),))))
    True
    """
    if isinstance(node, Num):
        return True
    if isinstance(node, Call):
        return node.fn in _SCALAR_FUNCTIONS
    if isinstance(node, (Neg, Transpose)):
        return is_scalar_node(node.arg)
    if isinstance(node, Binary):
        if node.op == "**":
            return is_scalar_node(node.left)
        return is_scalar_node(node.left) and is_scalar_node(node.right)
    return False


def _latex_group(node: Node, scalar: Callable[[Node], bool] | None = None) -> str:
    text = to_latex(node, scalar)
    # A name, or a Kronecker product (printed in its own parentheses), needs none.
    grouped = isinstance(node, Name) or (isinstance(node, Call) and node.fn == "kron")
    return text if grouped else rf"\left({text}\right)"


def subtrees(node: Node):
    """Every subtree of ``node``, ``node`` first, depth first, left to right.

    >>> [to_text(n) for n in subtrees(Binary("@", Name("A"), Transpose(Name("X"))))]
    ['A @ X.T', 'A', 'X.T', 'X']
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (Neg, Transpose)):
            stack.append(current.arg)
        elif isinstance(current, Binary):
            stack += [current.right, current.left]
        elif isinstance(current, Call):
            stack += reversed(current.args)


def names_in(node: Node) -> set[str]:
    """The variable names ``node`` mentions.

    >>> sorted(names_in(Binary("@", Name("A"), Call("inv", (Name("X"),)))))
    ['A', 'X']
    """
    return {n.id for n in subtrees(node) if isinstance(n, Name)}
