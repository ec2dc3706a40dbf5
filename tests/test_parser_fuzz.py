"""Fuzz the parser and shape inference: an answer or a clear error, never a traceback.

10,000 examples in all (two strategies), and nothing typed is ever run:
``eval``, ``exec`` and SymPy's ``sympify``/``parse_expr`` are replaced by
tripwires while the parser works.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
from pathlib import Path

import sympy
import sympy.parsing.sympy_parser as sympy_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivations.matrix_calculus.errors import MatrixCalculusError
from derivations.matrix_calculus.parser import parse
from derivations.matrix_calculus.shapes import ShapeEnv, infer

PACKAGE = Path(__file__).resolve().parents[1] / "derivations" / "matrix_calculus"
FORBIDDEN = {"eval", "exec", "sympify", "parse_expr", "__import__", "compile"}
FORBIDDEN_METHODS = {"sympify", "parse_expr", "eval", "exec"}  # re.compile is fine


def _tripwire(*args, **kwargs):
    raise AssertionError("the parser tried to evaluate text")


@contextlib.contextmanager
def _tripwires():
    saved = (builtins.eval, builtins.exec, sympy.sympify, sympy_parser.parse_expr)
    builtins.eval = builtins.exec = sympy.sympify = sympy_parser.parse_expr = _tripwire
    try:
        yield
    finally:
        builtins.eval, builtins.exec, sympy.sympify, sympy_parser.parse_expr = saved


def parse_and_infer(text: str):
    """Parse and infer shapes; return the shape or the error, nothing else."""
    with _tripwires():
        try:
            node = parse(text)
            return infer(node, ShapeEnv())
        except MatrixCalculusError as error:
            assert str(error).startswith("derive:"), str(error)
            return error


TOKENS = ["X", "W", "x", "G", "A", "1", "2.5", "0", "1e999", "@", "*", "/", "+", "-", "**",
          ".T", ".shape", "(", ")", ",", " ", "\n", "[", "]", "tr", "sum", "det", "inv",
          "softmax", "logsumexp", "kron", "vec", "unvec_like", "ones_like", "eye_like",
          "lambda", ":", "if", "else", "__import__", "'os'", "=", "==", "not", "~", "%",
          "\x00", "é", "_x", "True", "None", "1j", "...", "ones", "eye", "matrix_power", "diag",
          "logdet", "adj", "norm1", "relu", "abs", "^", "3"]


@settings(max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=80))
def test_arbitrary_text(text):
    parse_and_infer(text)


@settings(max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_token_soup(text):
    parse_and_infer(text)


def test_deep_nesting_is_refused_quickly():
    for text in ["(" * 5000 + "X" + ")" * 5000, "tr(" * 200 + "X" + ")" * 200,
                 "-" * 5000 + "X", "X" + ".T" * 3000, " + ".join(["X"] * 2000)]:
        result = parse_and_infer(text)
        assert isinstance(result, MatrixCalculusError), f"accepted {text[:30]}..."


def test_no_evaluating_call_in_the_package_source():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    name, forbidden = node.func.id, FORBIDDEN
                else:
                    name, forbidden = getattr(node.func, "attr", ""), FORBIDDEN_METHODS
                assert name not in forbidden, f"{path.name}:{node.lineno} calls {name}"
