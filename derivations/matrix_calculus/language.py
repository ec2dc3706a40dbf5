"""The language reference, generated from the parser's and the rules' tables.

``derive --help`` and the site's language page both print what
:data:`parser.OPERATORS` and :data:`functions.FUNCTIONS` hold, so that a
function added to the table is documented where it is declared, once, with
its reverse-mode rule shown as the rule itself produces it.
"""

from __future__ import annotations

import textwrap

from .expr import Call, Name, Num, to_latex, to_text
from .functions import FUNCTIONS, SIGNATURES, NoRule
from .parser import OPERATORS

__all__ = ["function_rows", "help_text", "markdown"]


def _rule(spec) -> str:
    """The function's VJP rule for ``f(X)`` and upstream ``G``, as text."""
    args = tuple(Num(3.0) if i in spec.integer_args else Name("XYZ"[i])
                 for i in range(spec.arity))
    node = Call(spec.name, args)
    try:
        parts = [spec.vjp(node, i, Name("G")) for i in range(spec.arity)
                 if i not in spec.integer_args]
    except NoRule:
        return "no closed-form rule (derive gives the elementwise result)"
    shown = [to_text(p) for p in parts if p is not None]
    return "; ".join(shown) if shown else "0 (zero wherever the derivative exists)"


def function_rows() -> list[tuple[str, str, str]]:
    """``(signature, meaning, VJP of the first argument)`` for every function."""
    rows = []
    for name, spec in FUNCTIONS.items():
        signature = SIGNATURES.get(name, f"{name}(X)")
        rows.append((signature, spec.doc, _rule(spec)))
    return rows


def help_text(width: int = 76) -> str:
    """The language as plain text, for ``derive --help``."""
    lines = ["operators and constants:"]
    for syntax, meaning in OPERATORS:
        lines.append(textwrap.fill(f"{syntax:<18}{meaning}", width, initial_indent="  ",
                                   subsequent_indent=" " * 20))
    lines.append("functions (X a matrix, x a column; the VJP rule for upstream G follows "
                 "'->'):")
    for signature, meaning, rule in function_rows():
        if len(signature) >= 18:  # a long signature gets a line of its own
            lines.append(f"  {signature}")
            signature = ""
        lines.append(textwrap.fill(f"{signature:<18}{meaning}; -> {rule}", width,
                                   initial_indent="  ", subsequent_indent=" " * 20))
    return "\n".join(lines)


def markdown() -> str:
    """The language as two Markdown tables, for the site's reference page."""
    def cell(text: str) -> str:
        return text.replace("|", r"\|")

    lines = ["| you write | meaning |", "| --- | --- |"]
    lines += [f"| `{cell(s)}` | {cell(m)} |" for s, m in OPERATORS]
    lines += ["", "| you write | meaning | VJP rule (upstream $G$) |", "| --- | --- | --- |"]
    for name, spec in FUNCTIONS.items():
        signature = SIGNATURES.get(name, f"{name}(X)")
        rule = _rule(spec)
        if not rule.startswith(("no ", "0 ")):
            parts = [spec.vjp(Call(name, tuple(
                Num(3.0) if i in spec.integer_args else Name("XYZ"[i])
                for i in range(spec.arity))), i, Name("G")) for i in range(spec.arity)
                if i not in spec.integer_args]
            rule = "; ".join(f"${to_latex(p)}$" for p in parts if p is not None)
        lines.append(f"| `{cell(signature)}` | {cell(spec.doc)} | {rule} |")
    return "\n".join(lines)
