"""``python -m derivations``: list, check (table and --json, exit status), show, --help.

One test runs the real command line on the whole registry in a subprocess; the
others call ``derivations.cli.main`` in process on a few entries. The time of
the full check is printed by the command itself (its last line) and reported
from a run, not asserted here: this machine is shared and timed tests flake.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from derivations.cli import main
from derivations.registry import REGISTRY, get

ROOT = Path(__file__).resolve().parents[1]


def test_full_check_passes_every_entry():
    process = subprocess.run([sys.executable, "-m", "derivations", "check", "--json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    report = json.loads(process.stdout)
    assert report["passed"] and report["failed"] == 0
    seen = {(row["entry"], row["wrt"]) for row in report["rows"]}
    expected = {(d.name, wrt) for d in REGISTRY.values() for wrt in d.inputs}
    assert seen == expected


def test_list_names_every_entry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in REGISTRY:
        assert name in out


def test_check_prints_a_table_and_exits_zero(capsys):
    assert main(["check", "dense", "relu"]) == 0
    out = capsys.readouterr().out
    assert "max rel err" in out and "exact" in out
    assert "all passed" in out
    lines = [line for line in out.splitlines() if line.startswith(("dense ", "relu "))]
    # dense: 3 inputs × 2 shape sets; relu: 1 × 2.
    assert len(lines) == 3 * 2 + 1 * 2


def test_check_json_parses(capsys):
    assert main(["check", "mse", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == len(report["rows"]) == 2
    assert all(row["exact"] and row["numeric_passed"] for row in report["rows"])


@pytest.mark.parametrize(("name", "wrt", "wrong"), [
    ("dense", "x", lambda G, s: G * s["W"]),                       # missing transpose
    ("dense", "W", lambda G, s: G.T * s["x"]),                     # wrong order
    ("mse", "x", lambda G, s: G[0, 0] * (s["x"] - s["t"])),        # missing 1/batch
], ids=["missing transpose", "wrong order", "missing 1/batch"])
def test_check_exits_nonzero_and_shows_stated_against_derived(monkeypatch, capsys,
                                                              name, wrt, wrong):
    d = get(name)
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(d, stated={**d.stated, wrt: wrong}))
    assert main(["check", name]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {name} / {wrt}" in out
    assert "stated" in out and "derived" in out
    assert main(["check", name, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["passed"]
    assert any("derived" in row["message"] for row in report["rows"] if not row["passed"])


def test_check_unknown_entry_is_refused_with_the_known_names(capsys):
    assert main(["check", "densse"]) == 2
    out = capsys.readouterr().out
    assert "densse" in out and "dense" in out


def test_show_dense_explains_where_the_gradients_come_from(capsys):
    assert main(["show", "dense"]) == 0
    out = capsys.readouterr().out
    assert r"dL/dx = G W^\top" in out and r"dL/dW = X^\top G" in out
    # The entry x[0,0] spelled out as Σ_j G[0,j] W[0,j], which is (G Wᵀ)[0,0].
    for j in range(4):
        assert f"G_{{0,{j}}} · (∂y[0,{j}]/∂x[0,0] = W_{{0,{j}}})" in out
    assert "d tr(Gᵀ Y)/dX = G*W.T: confirmed" in out
    assert "FAIL" not in out


def test_show_latex(capsys):
    assert main(["show", "softmax", "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"\frac{e^{x_{0,0}}}" in out
    assert sympy.latex(sympy.Symbol("x_{0,0}")) in out


def test_show_unknown_entry(capsys):
    assert main(["show", "nope"]) == 2
    assert "known entries" in capsys.readouterr().out


def test_help_names_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "check", "show"):
        assert command in out
    assert "Jᵀ" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
