"""Matrix calculus answered and verified: ``python -m derivations derive``.

A small matrix language (``parser``), shape inference (``shapes``), a
reverse-mode rule table that produces closed-form answers (``functions``,
``vjp``), and the confirmation of every answer against SymPy's explicit
Jacobian and central differences (``confirm``, ``derive``).  The reference
identities of the site live in ``identities``.
"""

from .derive import Answer, derive, prepare
from .errors import MatrixCalculusError, ParseError, ShapeError
from .expr import to_latex, to_text
from .parser import parse

__all__ = [
    "Answer",
    "MatrixCalculusError",
    "ParseError",
    "ShapeError",
    "derive",
    "parse",
    "prepare",
    "to_latex",
    "to_text",
]
