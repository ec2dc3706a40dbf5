"""The one exception family of the matrix-calculus subpackage.

Everything a user can get wrong (text that is not in the language, shapes
that do not fit, a name that is not in the expression) raises a subclass of
:class:`MatrixCalculusError` with a message that says what was expected and
what was found; the CLI prints the message, never a traceback.
"""

from __future__ import annotations

__all__ = ["MatrixCalculusError", "ParseError", "ShapeError"]


class MatrixCalculusError(ValueError):
    """Base class: a question ``derive`` cannot answer as asked."""


class ParseError(MatrixCalculusError):
    """The text is not an expression of the matrix language.

    ``column`` is 1-based and points at the offending token; ``str(error)``
    shows the text with a caret under it.
    """

    def __init__(self, message: str, text: str = "", line: int = 1, column: int = 1):
        self.message, self.text, self.line, self.column = message, text, line, column
        lines = text.splitlines() or [""]
        shown = lines[line - 1] if 0 < line <= len(lines) else ""
        where = f"line {line}, column {column}" if len(lines) > 1 else f"column {column}"
        pointer = f"\n  {shown}\n  {' ' * (column - 1)}^" if shown else ""
        super().__init__(f"derive: cannot parse the expression at {where}: {message}{pointer}")


class ShapeError(MatrixCalculusError):
    """The shapes do not fit together, or cannot be inferred."""
