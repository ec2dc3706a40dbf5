"""``derive`` where there is no numpy (the browser, issue 15): the same answers.

Each question is answered twice: here, by ``python -m derivations derive
--json`` (numpy and netlib's finite differences), and in a subprocess where
``numpy`` and ``netlib`` cannot be imported, by ``web.answer`` (plain-Python
floats and the same finite-difference rule). Both draw the same sizes and
points from the seed, so the answers, the checks run, their sizes and their
verdicts must be equal; the errors, computed by two engines, need only pass.
The plain-Python confirmation is shown to reject wrong answers on its own,
and its functions (``pure.py``) to agree with numpy's (``numeric.py``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derivations.cli import main
from derivations.matrix_calculus.numeric import NUMPY
from derivations.matrix_calculus.pure import PYTHON, Mat, smallest_singular_value

ROOT = Path(__file__).resolve().parents[1]

QUESTIONS = [
    ("tr(A @ X @ B)", "X", None),
    ("log(det(X))", "X", None),
    ("sum(Y * log(softmax(Z)))", "Z", None),
    ("sum(X * X) + 1e6", "X", None),   # the tolerance must scale with the function
    ("A @ x", "x", {"x": "nx1"}),      # a Jacobian as a matrix expression
    ("sum(tanh(X @ W))", "W", "X=4x3, W=3x2"),
]
MALFORMED = [("tr(A @ @ X)", "X"), ("tr(X)", "Y"), ("X ^ 2", "X")]

# Wrong answers the plain-Python checks must reject by themselves: the
# numerator layout given for the denominator one (a transpose, X non-square),
# a transpose on a square X (same shape: only the values betray it), a
# missing factor 2 under a large constant, and the right answer as a control.
CANDIDATES = [
    ("tr(A @ X @ B)", "X", "B @ A", False),
    ("log(det(X))", "X", "inv(X)", False),
    ("sum(X * X) + 1e6", "X", "X", False),
    ("tr(A @ X @ B)", "X", "A.T @ B.T", True),
]

# Runs with numpy, netlib and the SymPy subpackages the browser does not get
# (tools/browser_assets.py, LEFT_OUT) blocked; prints one JSON document.
SCRIPT = """
import json, sys
questions, malformed, candidates, blocked = json.loads(sys.argv[1])
for name in ["numpy", "netlib", *blocked]:
    sys.modules[name] = None
from derivations.matrix_calculus.backend import default_backend
from derivations.matrix_calculus.derive import derive
from derivations.matrix_calculus.parser import parse
from derivations.matrix_calculus.web import answer, language_reference
out = {"backend": default_backend().name,
       "answers": [answer(text, wrt, shapes) for text, wrt, shapes in questions],
       "errors": [answer(text, wrt) for text, wrt in malformed],
       "candidates": [],
       "reference": sorted(language_reference())}
for text, wrt, candidate, _ in candidates:
    found = derive(text, wrt, candidate=parse(candidate), elementwise=False)
    out["candidates"].append({"confirmed": found.confirmed,
                              "checks": [c.as_dict() for c in found.checks]})
out["imported"] = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "netlib")
                         and sys.modules[m] is not None)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def without_numpy() -> dict:
    argument = json.dumps([QUESTIONS, MALFORMED, CANDIDATES, _left_out_of_the_browser()])
    result = subprocess.run([sys.executable, "-c", SCRIPT, argument], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _left_out_of_the_browser() -> list[str]:
    """Module names of the subpackages the site's browser assets leave out."""
    spec = importlib.util.spec_from_file_location("browser_assets",
                                                  ROOT / "tools" / "browser_assets.py")
    assets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(assets)
    return [f"{package}.{sub.replace('/', '.')}" for package, subs in assets.LEFT_OUT.items()
            for sub in subs]


def _cli(text: str, wrt: str, shapes, capsys) -> tuple[int, dict]:
    specs = []
    if isinstance(shapes, dict):
        specs = [f"{name}={shape}" for name, shape in shapes.items()]
    elif shapes:
        specs = [part.strip() for part in shapes.split(",")]
    argv = ["derive", text, "--wrt", wrt, "--json", *(f"--shape={s}" for s in specs)]
    status = main(argv)
    captured = capsys.readouterr()
    return status, json.loads(captured.out or captured.err)


def _verdicts(payload: dict) -> list:
    """What must agree between the engines: each check's kind, sizes and verdict."""
    rows = payload["checks"] + (payload.get("jacobian") or {}).get("checks", [])
    return [(c["check"], c["shapes"], c["passed"]) for c in rows]


def test_nothing_of_numpy_or_netlib_is_imported(without_numpy):
    assert without_numpy["backend"] == "python"
    assert without_numpy["imported"] == []
    assert without_numpy["reference"] == ["markdown", "text"]


@pytest.mark.parametrize("index", range(len(QUESTIONS)), ids=[q[0] for q in QUESTIONS])
def test_answers_equal_the_numpy_command_line(without_numpy, index, capsys):
    text, wrt, shapes = QUESTIONS[index]
    status, expected = _cli(text, wrt, shapes, capsys)
    got = without_numpy["answers"][index]
    assert status == 0 and expected["confirmed"], expected.get("reason")
    assert got["confirmed"], got.get("reason")
    assert set(got) == set(expected)
    for key in ("expression", "kind", "layout", "shapes", "output_shape", "answer",
                "answer_latex", "answers", "upstream"):
        assert got.get(key) == expected.get(key), key
    if expected.get("jacobian"):
        assert {k: v for k, v in got["jacobian"].items() if k != "checks"} == {
            k: v for k, v in expected["jacobian"].items() if k != "checks"}
    assert _verdicts(got) == _verdicts(expected)
    for row in got["checks"]:
        assert row["error"] <= row["tolerance"], row


def test_the_tolerance_scales_with_the_function_without_numpy(without_numpy):
    shifted = without_numpy["answers"][3]
    assert shifted["answer"] == "2 * X"
    differences = [c for c in shifted["checks"] if c["check"] == "finite differences"]
    # F = sum|g f| is about 1e6 here: the derived tolerance follows it.
    assert differences and all(c["tolerance"] > 1e-6 for c in differences), differences


@pytest.mark.parametrize("index", range(len(CANDIDATES)), ids=[c[2] for c in CANDIDATES])
def test_wrong_answers_are_rejected_without_numpy(without_numpy, index):
    candidate, right = CANDIDATES[index][2:]
    found = without_numpy["candidates"][index]
    assert found["confirmed"] is right, (candidate, found["checks"])
    if right:
        return
    for kind in ("explicit Jacobian", "finite differences"):
        rows = [c for c in found["checks"] if c["check"] == kind]
        assert len(rows) == 2 and not any(c["passed"] for c in rows), (kind, rows)
        # Rejected by a margin, not by noise: a wrong value misses by orders of
        # magnitude (a wrong shape has no finite error at all).
        assert all(c["margin"] is None or c["margin"] > 100 for c in rows), (kind, rows)


@pytest.mark.parametrize("index", range(len(MALFORMED)), ids=[m[0] for m in MALFORMED])
def test_malformed_questions_get_the_command_lines_message(without_numpy, index, capsys):
    text, wrt = MALFORMED[index]
    status, expected = _cli(text, wrt, None, capsys)
    assert status == 2 and set(expected) == {"error"}
    assert without_numpy["errors"][index] == expected
    assert expected["error"].startswith("derive:") and "Traceback" not in expected["error"]


def _arguments(name: str, rng):
    """Inputs in the function's domain: a well-conditioned square matrix, a
    positive one for log and sqrt, and the extra arguments some functions take."""
    square = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    if name in ("log", "sqrt"):
        return [np.abs(square) + 0.1]
    if name == "matrix_power":
        return [square, np.array([[3.0]])]
    if name in ("unvec_like", "unvec_columns_like"):
        return [rng.standard_normal((6, 1)), rng.standard_normal((2, 3))]
    if name == "kron":
        return [square, rng.standard_normal((2, 3))]
    return [square]


@pytest.mark.parametrize("name", sorted(PYTHON))
def test_plain_python_functions_agree_with_numpy(name):
    rng = np.random.default_rng(7)
    cases = [_arguments(name, rng)] + ([[rng.standard_normal((4, 1))]] if name == "diag" else [])
    for args in cases:
        got = np.array(PYTHON[name](*[Mat.of(a) for a in args]).tolist())
        expected = NUMPY[name](*args)
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_plain_python_is_nan_outside_the_domain_as_numpy_is():
    outside = Mat.of([[-1.0, 0.0]])
    assert [math.isnan(v) for v in PYTHON["log"](outside).flat] == [True, False]
    assert PYTHON["log"](outside).flat[1] == -math.inf
    assert math.isnan(PYTHON["logdet"](Mat.of(-np.eye(3))).flat[0])
    with pytest.raises(ValueError):
        PYTHON["inv"](Mat.of(np.zeros((2, 2))))


def test_smallest_singular_value_matches_numpy():
    rng = np.random.default_rng(8)
    for shape in ((4, 4), (3, 2), (2, 3)):
        m = rng.standard_normal(shape)
        assert abs(smallest_singular_value(Mat.of(m))
                   - np.linalg.svd(m, compute_uv=False).min()) < 1e-10


def test_importing_the_engine_pulls_in_neither_numpy_nor_netlib():
    # With numpy installed too: derive loads it only when a question runs on
    # the numpy backend, so the browser's import path is the command line's.
    code = ("import sys\nimport derivations.matrix_calculus.web\n"
            "from derivations.verify.rows import CheckRow\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'netlib')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", result.stdout
