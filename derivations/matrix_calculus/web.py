"""``derive`` for a web page: one call in, the ``--json`` payload out.

The site's "Ask a question" page runs this module in the reader's browser
(Pyodide, in a Web Worker), where there is SymPy and mpmath but no numpy:
everything it imports is SymPy or plain Python, and the confirmation runs on
the plain-Python backend (``backend.py``) when numpy is absent.  Under
CPython with numpy it gives the same answers by the numpy backend; both draw
the same sizes and points from ``seed``.

API
---
``answer(expression, wrt, shapes=None, layout="denominator", seed=0, timeout=None) -> dict``
    ``expression`` and ``wrt`` as typed (the parser reads the text; nothing is
    evaluated).  ``shapes`` is ``None``, a dict ``{"X": "4x3", "x": "nx1",
    "a": "scalar"}`` (a value may also be a pair ``(4, 3)``), or the text
    ``"X=4x3, x=nx1"``.  ``layout`` is ``"denominator"`` or ``"numerator"``.
    ``timeout`` (seconds) applies where a real-time alarm exists (CPython's
    main thread); in the browser the page stops the worker instead.

    Returns exactly the JSON object that ``python -m derivations derive EXPR
    --wrt NAME --json`` prints: ``expression, wrt, kind, layout, shapes,
    output_shape, answer, answer_latex, answers, confirmed, checks`` (each
    check a :meth:`~derivations.verify.rows.CheckRow.as_dict`: ``entry, wrt,
    shapes, check, passed, max_rel_error, seconds, message, tolerance,
    margin, measure, hint, error``), and for a matrix output ``upstream`` and
    ``jacobian``, for an unconfirmed answer ``reason`` (and ``elementwise``).
    For bad input it returns ``{"error": MESSAGE}``, the command's one-line
    message, and never raises for it.
``language_reference() -> dict``
    ``{"text": ..., "markdown": ...}``: the language's reference (operators,
    functions, shapes) generated from the parser's tables, as ``derive
    --help`` and the site's page show it.
"""

from __future__ import annotations

import argparse
import json
import re

from .cli import QuestionTimeout, seed_type, time_limit, timeout_message
from .derive import derive
from .errors import MatrixCalculusError
from .language import help_text, markdown

__all__ = ["answer", "language_reference", "shape_specs"]


def shape_specs(shapes) -> list[str]:
    """``NAME=RxC`` specs, as ``--shape`` takes them, from ``answer``'s ``shapes``.

    >>> shape_specs({"X": "4x3", "b": (3, 1)}), shape_specs("X=4x3, x = nx1")
    (['X=4x3', 'b=3x1'], ['X=4x3', 'x=nx1'])
    """
    if shapes is None:
        return []
    if isinstance(shapes, str):
        # specs apart by commas, semicolons or spaces; spaces around '=' are not apart
        return [part for part in re.split(r"[,;\s]+", re.sub(r"\s*=\s*", "=", shapes))
                if part]
    if isinstance(shapes, dict):
        specs = []
        for name, shape in shapes.items():
            if isinstance(shape, (list, tuple)) and len(shape) == 2:
                shape = f"{shape[0]}x{shape[1]}"
            if not isinstance(name, str) or not isinstance(shape, str):
                raise MatrixCalculusError(f"derive: expected a shape such as 'X': '4x3', got "
                                          f"{name!r}: {shape!r}")
            specs.append(f"{name}={shape.strip()}")
        return specs
    raise MatrixCalculusError(f"derive: expected shapes as a dict or text such as "
                              f"'X=4x3, x=nx1', got {type(shapes).__name__}")


def answer(expression: str, wrt: str, shapes: dict | str | None = None,
           layout: str = "denominator", seed: int = 0, timeout: float | None = None) -> dict:
    """d/d``wrt`` of ``expression``, confirmed: ``derive --json``'s payload, or
    ``{"error": message}`` for bad input (see the module docstring)."""
    try:
        for what, value in (("expression", expression), ("--wrt", wrt)):
            if not isinstance(value, str):
                raise MatrixCalculusError(f"derive: expected {what} as text, got "
                                          f"{type(value).__name__}")
        try:
            seed = seed_type(str(seed))
        except argparse.ArgumentTypeError as error:
            raise MatrixCalculusError(f"derive: --seed: {error}") from None
        specs = shape_specs(shapes)
        if timeout is None:
            found = derive(expression, wrt.strip(), specs, layout=layout, seed=seed)
        else:
            with time_limit(timeout):
                found = derive(expression, wrt.strip(), specs, layout=layout, seed=seed)
    except QuestionTimeout:
        return {"error": timeout_message(timeout)}
    except MatrixCalculusError as error:
        return {"error": str(error)}
    # Through JSON and back: the very payload --json prints (lists, no tuples).
    return json.loads(json.dumps(found.as_dict(), ensure_ascii=False))


def language_reference() -> dict:
    """The language reference, generated from the parser's tables: plain text
    (as ``derive --help`` prints it) and Markdown (as the site's page shows it)."""
    return {"text": help_text(), "markdown": markdown()}
