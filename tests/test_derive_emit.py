"""``derive --emit numpy``: the printed module runs, and netlib's check in it passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from derivations.matrix_calculus import derive
from derivations.matrix_calculus.emit import CALLS, numpy_source
from derivations.matrix_calculus.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]


def test_every_function_has_a_numpy_spelling():
    assert sorted(CALLS) == sorted(FUNCTIONS)


@pytest.mark.parametrize("text, wrt, shapes", [
    ("sum(softmax(X @ W) * Y)", "W", ()),
    ("x.T @ A @ x", "x", ("x=nx1",)),
    ("logdet(X) + sum(log(X) * A)", "X", ()),
    ("sigmoid(X @ W)", "W", ()),
    ("-sum(Y * log_softmax(Z))", "Z", ()),
])
def test_emitted_numpy_runs_and_passes_netlibs_check(tmp_path, text, wrt, shapes):
    answer = derive(text, wrt, shapes, elementwise=False)
    assert answer.confirmed, answer.reason
    script = tmp_path / "emitted.py"
    script.write_text(numpy_source(answer, answer.checked_shapes))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, env={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-1500:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.split()[0] == wrt and last.split()[-1] == "yes", result.stdout


def test_cli_emit(capsys):
    from derivations.cli import main
    assert main(["derive", "tr(A @ X @ B)", "--wrt", "X", "--emit", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "def value_and_gradient(A, B, X):" in out and "gradient = A.T @ B.T" in out
    assert "check_gradients(" in out
