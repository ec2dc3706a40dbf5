"""Read the matrix language from text, without ever evaluating the text.

The text is parsed by Python's own grammar (``ast.parse(..., mode="eval")``),
which produces a syntax tree and runs nothing, and the tree is then walked
against a whitelist: names, numeric constants, the constants ``ones`` and
``eye``, ``@ * / + -``, ``**`` by a number, unary minus, the attribute
``.T`` and calls of the functions in ``functions.FUNCTIONS``.
Anything else is refused with the line and column of the offending token.
Length, nesting depth and node count are capped so that no input can make
the parser or anything after it run long.
"""

from __future__ import annotations

import ast
import math
import warnings

from .errors import ParseError
from .expr import CONSTANTS, Binary, Call, Name, Neg, Node, Num, Transpose
from .functions import FUNCTIONS

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_NODES", "OPERATORS", "RESERVED", "parse"]

MAX_LENGTH = 1000
MAX_DEPTH = 40
MAX_NODES = 300
#: The largest k of matrix_power(X, k): its rule has k terms.
MAX_POWER = 16
#: ``G`` is the upstream gradient in answers; it cannot be a user's variable.
RESERVED = frozenset({"G"})

_OPERATORS = {ast.MatMult: "@", ast.Mult: "*", ast.Div: "/", ast.Add: "+", ast.Sub: "-",
              ast.Pow: "**"}

#: The language's operators and constants, as the reference shows them
#: (``derive --help`` and the site's language page are generated from this
#: table and from ``functions.FUNCTIONS``).
OPERATORS = (
    ("A @ B", "matrix product"),
    ("A * B, A / B", "elementwise product and division (a scalar, a column or a row "
                     "broadcasts, as in numpy)"),
    ("A + B, A - B, -A", "sum, difference, negation (broadcasting likewise)"),
    ("A ** p", "elementwise power by a number p (x ** 2, x ** -1, x ** 0.5); the matrix "
               "power is matrix_power(X, k)"),
    ("A.T", "transpose"),
    ("2, -0.5, 1e-3", "scalar constants"),
    ("ones", "a matrix of ones, its shape inferred from where it stands (x.T @ ones)"),
    ("eye", "the identity matrix, its size inferred likewise (X + 2 * eye)"),
)

_REFUSED_OPERATORS = {
    ast.FloorDiv: "'//'",
    ast.Mod: "'%'",
    ast.BitAnd: "'&'",
    ast.BitOr: "'|'",
    ast.BitXor: "'^' (write X ** 2 for the elementwise power, matrix_power(X, 2) for X @ X)",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
}


def parse(text: str, upstream: bool = False) -> Node:
    """Parse ``text`` into an expression tree, or raise :class:`ParseError`.

    With ``upstream=True`` the name ``G`` (the upstream gradient) is allowed,
    as in an answer that is read back.

    >>> from derivations.matrix_calculus.expr import to_text
    >>> to_text(parse("tr(A @ X @ B)"))
    'tr(A @ X @ B)'
    >>> try:
    ...     parse("X.shape")
    ... except ParseError as error:
    ...     print(error.column, error.message)
    3 only the attribute .T (transpose) is allowed, got '.shape'
    """
    if not isinstance(text, str):
        raise ParseError(f"expected the expression as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are accepted",
            text[:80], 1, 1,
        )
    stripped = text.strip()
    if not stripped:
        raise ParseError("the expression is empty", text, 1, 1)
    # Columns are reported in the text as typed: remember what strip() removed.
    shift = len(text) - len(text.lstrip())
    first_line_shift = shift if "\n" not in text[:shift] else 0
    if "\x00" in stripped:
        column = stripped.index("\x00") + 1
        raise ParseError("the expression contains a NUL character", stripped, 1, column)
    try:
        with warnings.catch_warnings():
            # "1if x" and friends warn before they fail; the failure is reported.
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        lines = stripped.splitlines() or [""]
        line = min(max(error.lineno or 1, 1), len(lines))
        offset = error.offset or 0
        if not 1 <= offset <= len(lines[line - 1]):
            offset = len(lines[line - 1]) + 1  # the input ended too early
        column = offset + (first_line_shift if line == 1 else 0)
        reason = (error.msg or "invalid syntax").split(" (")[0]
        raise ParseError(f"not a valid expression ({reason})", text.strip("\n"),
                         line, column) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:
        raise ParseError(f"not a valid expression ({type(error).__name__})", stripped,
                         1, 1) from None
    walker = _Walker(stripped, text.strip("\n"), first_line_shift)
    walker.constants = {}
    walker.reserved = frozenset() if upstream else RESERVED
    return walker.walk(tree.body, 0)


class _Walker:
    """Turn a whitelisted Python syntax tree into an expression tree."""

    def __init__(self, text: str, shown: str, shift: int):
        self.text, self.shown, self.shift, self.count = text, shown, shift, 0

    def fail(self, node: ast.AST, message: str, column: int | None = None) -> ParseError:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) if column is None else column
        return ParseError(message, self.shown, line, column + 1 + (self.shift if line == 1 else 0))

    def token(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        return segment if len(segment) <= 40 else segment[:37] + "..."

    def walk(self, node: ast.AST, depth: int) -> Node:
        self.count += 1
        if depth > MAX_DEPTH:
            raise self.fail(node, f"the expression is nested more than {MAX_DEPTH} levels deep")
        if self.count > MAX_NODES:
            raise self.fail(node, f"the expression has more than {MAX_NODES} parts")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, f"{self.describe(node)} is not part of the matrix language "
                                  f"(got '{self.token(node)}')")
        return method(node, depth + 1)

    @staticmethod
    def describe(node: ast.AST) -> str:
        kinds = {
            "Compare": "a comparison", "BoolOp": "'and'/'or'", "Subscript": "indexing",
            "Lambda": "lambda", "IfExp": "'if'", "Tuple": "a tuple", "List": "a list",
            "Dict": "a dict", "Set": "a set", "JoinedStr": "an f-string",
            "Starred": "'*' unpacking", "NamedExpr": "':='", "Await": "await",
            "Yield": "yield", "GeneratorExp": "a generator", "ListComp": "a comprehension",
            "SetComp": "a comprehension", "DictComp": "a comprehension", "Slice": "a slice",
        }
        return kinds.get(type(node).__name__, type(node).__name__)

    def _Name(self, node: ast.Name, depth: int) -> Node:
        if node.id in FUNCTIONS:
            raise self.fail(node, f"'{node.id}' is a function: call it as {node.id}(...)")
        if node.id in CONSTANTS:
            # One name per occurrence: two ones may have different shapes.
            count = self.constants[node.id] = self.constants.get(node.id, 0) + 1
            return Name(f"{node.id}.{count}")
        if node.id in self.reserved:
            raise self.fail(node, f"'{node.id}' is reserved for the upstream gradient; "
                                  "rename the variable")
        if node.id.startswith("_"):
            raise self.fail(node, f"names may not start with '_', got '{node.id}'")
        if not node.id.isascii():
            raise self.fail(node, f"names must be ASCII letters, digits and '_', "
                                  f"got '{node.id}'")
        return Name(node.id)

    def _Constant(self, node: ast.Constant, depth: int) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"only real numbers are allowed as constants, "
                                  f"got '{self.token(node)}'")
        if isinstance(value, int) and abs(value) > 10**15:
            raise self.fail(node, f"the number '{self.token(node)}' is too large")
        value = float(value)
        if not math.isfinite(value):
            raise self.fail(node, f"the number '{self.token(node)}' is not finite")
        return Num(value)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Node:
        if isinstance(node.op, ast.UAdd):
            return self.walk(node.operand, depth)
        if not isinstance(node.op, ast.USub):
            symbol = {ast.Not: "'not'", ast.Invert: "'~'"}.get(type(node.op), "this operator")
            raise self.fail(node, f"{symbol} is not part of the matrix language")
        inner = self.walk(node.operand, depth)
        return Num(-inner.value) if isinstance(inner, Num) else Neg(inner)

    def _BinOp(self, node: ast.BinOp, depth: int) -> Node:
        op = _OPERATORS.get(type(node.op))
        if op is None:
            what = _REFUSED_OPERATORS.get(type(node.op), "this operator")
            # Point at the operator, which sits after the left operand.
            same_line = getattr(node.left, "end_lineno", None) == node.lineno
            column = node.left.end_col_offset + 1 if same_line else None
            raise self.fail(node, f"the operator {what} is not part of the matrix language",
                            column)
        right = self.walk(node.right, depth)
        if op == "**" and not isinstance(right, Num):
            raise self.fail(node.right, "the exponent of '**' must be a number (elementwise "
                                        "power); for X @ X write matrix_power(X, 2)")
        return Binary(op, self.walk(node.left, depth), right)

    def _Attribute(self, node: ast.Attribute, depth: int) -> Node:
        if node.attr != "T":
            same_line = getattr(node, "end_lineno", None) == node.lineno
            column = node.end_col_offset - len(node.attr) if same_line else None
            raise self.fail(node, f"only the attribute .T (transpose) is allowed, "
                                  f"got '.{node.attr}'", column)
        return Transpose(self.walk(node.value, depth))

    def _Call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, f"only named functions can be called, "
                                  f"got '{self.token(node.func)}'")
        spec = FUNCTIONS.get(node.func.id)
        if spec is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(node, f"unknown function '{node.func.id}'; known: {known}")
        if node.keywords:
            raise self.fail(node.keywords[0].value if node.keywords[0].value else node,
                            f"{spec.name}() takes no keyword arguments")
        if len(node.args) != spec.arity:
            raise self.fail(node, f"{spec.name}() takes {spec.arity} argument"
                                  f"{'s' if spec.arity > 1 else ''}, got {len(node.args)}")
        args = tuple(self.walk(arg, depth) for arg in node.args)
        for index in spec.integer_args:
            value = args[index]
            if not (isinstance(value, Num) and value.value.is_integer() and 0 <= value.value
                    <= MAX_POWER):
                raise self.fail(node.args[index], f"argument {index + 1} of {spec.name}() "
                                                  f"must be an integer from 0 to {MAX_POWER}")
        return Call(spec.name, args)
