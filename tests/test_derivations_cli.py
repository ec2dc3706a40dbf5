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
from derivations.layers import losses
from derivations.registry import REGISTRY, get
from derivations.verify import cache

ROOT = Path(__file__).resolve().parents[1]


def test_full_check_passes_every_entry():
    process = subprocess.run([sys.executable, "-m", "derivations", "check", "--json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    report = json.loads(process.stdout)
    assert report["passed"] and report["failed"] == 0
    seen = {(row["entry"], row["wrt"]) for row in report["rows"] if row["wrt"] is not None}
    expected = {(d.name, wrt) for d in REGISTRY.values() for wrt in d.inputs}
    assert seen == expected
    for d in REGISTRY.values():
        kinds = {row["check"] for row in report["rows"] if row["entry"] == d.name}
        assert kinds == {"exact", "numeric", "forward", "finite differences",
                         *(["transpose"] if d.transpose_of else [])}, (d.name, kinds)
    # One progress line per entry, on stderr so that stdout stays JSON.
    assert len([line for line in process.stderr.splitlines() if " passed " in line]) \
        == len(REGISTRY), process.stderr


def test_list_names_every_entry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in REGISTRY:
        assert name in out


def test_check_prints_a_line_per_entry_and_exits_zero(capsys):
    assert main(["check", "dense", "relu", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines() if line.startswith(("dense ", "relu "))]
    # dense: 3 inputs × 2 shape sets × (exact, numeric, finite differences) + 2 forward.
    assert sorted((line[0], line[1], line[3]) for line in lines) == [
        ("dense", "20", "0"), ("relu", "8", "0")], out
    assert "all passed" in out


def test_check_table_lists_every_check(capsys):
    assert main(["check", "relu", "--table", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "max rel err" in out
    assert len([line for line in out.splitlines() if line.startswith("relu ")]) == 1 + 8


def test_check_json_parses(capsys):
    assert main(["check", "mse", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == len(report["rows"]) == 8
    assert all(row["passed"] for row in report["rows"])
    assert {row["check"] for row in report["rows"]} == {
        "exact", "numeric", "forward", "finite differences"}


def _wrong(name, wrt, factor):
    d = get(name)
    return dataclasses.replace(d, stated={**d.stated, wrt: factor * d.stated[wrt]})


@pytest.mark.parametrize(("name", "wrt", "factor"), [
    ("dense", "x", 2),                     # a stray factor
    ("dense", "W", -1),                    # the sign of the update
    ("mse", "x", losses.N),                # missing 1/batch
], ids=["factor 2", "sign", "missing 1/batch"])
def test_check_exits_nonzero_and_shows_stated_against_derived(monkeypatch, capsys,
                                                              name, wrt, factor):
    monkeypatch.setitem(REGISTRY, name, _wrong(name, wrt, factor))
    assert main(["check", name]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {name} / {wrt} (exact)" in out
    assert "stated" in out and "derived" in out
    assert main(["check", name, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["passed"]
    assert any("derived" in row["message"] for row in report["rows"] if not row["passed"])


def test_a_changed_formula_is_checked_again_never_served_from_the_cache(monkeypatch, capsys,
                                                                         tmp_path):
    """Warm the cache, change the stated VJP: the exact check runs again and fails."""
    cache.configure(path=tmp_path)
    try:
        assert main(["check", "dense", "--jobs", "1"]) == 0
        stored = sorted(tmp_path.rglob("*.pickle"))
        assert {p.parent.name for p in stored} >= {"jacobian", "exact", "stated"}
        assert main(["check", "dense", "--jobs", "1"]) == 0        # warm: nothing new
        assert sorted(tmp_path.rglob("*.pickle")) == stored
        monkeypatch.setitem(REGISTRY, "dense", _wrong("dense", "W", -1))
        capsys.readouterr()
        assert main(["check", "dense", "--jobs", "1"]) == 1
        out = capsys.readouterr().out
        assert "FAILED dense / W (exact)" in out and "FAILED dense / x" not in out, out
        # The Jacobians did not change and were reused; the changed stated VJP got
        # a new verdict at each shape set. (Generated numpy code may be stored
        # anew too, depending on what this process already holds in memory.)
        new = set(tmp_path.rglob("*.pickle")) - set(stored)
        kinds = [p.parent.name for p in new]
        assert "jacobian" not in kinds, new
        assert kinds.count("exact") == 2 and kinds.count("stated") == 2, new
        monkeypatch.undo()
        assert main(["check", "dense", "--jobs", "1"]) == 0
    finally:
        cache.configure()


def test_check_no_cache_writes_nothing(capsys, tmp_path):
    cache.configure(path=tmp_path)
    try:
        assert main(["check", "relu", "--no-cache", "--jobs", "1"]) == 0
        assert not list(tmp_path.rglob("*.pickle"))
    finally:
        cache.configure()


def test_check_unknown_entry_is_refused_with_the_known_names(capsys):
    assert main(["check", "densse"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no entry named 'densse'; did you mean 'dense'?" in captured.err
    assert "known entries: dense" in captured.err


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
    captured = capsys.readouterr()
    assert captured.out == "" and "known entries" in captured.err


@pytest.mark.parametrize(("given", "suggested"), [
    ("Dense", "'dense'"),                                    # the class name
    ("SoftmaxCrossEntropy", "'softmax_cross_entropy'"),      # a class named unlike its entry
    ("RELU", "'relu'"),
    ("layernorm", "'layer_norm'"),
])
def test_a_near_miss_gets_a_suggestion_on_stderr(capsys, given, suggested):
    assert main(["show", given]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"show: no entry named {given!r}; did you mean {suggested}" in captured.err


def test_without_sympy_the_command_says_how_to_install_it():
    # sys.modules["sympy"] = None makes every `import sympy` fail, as if absent.
    code = ("import sys, runpy; sys.modules['sympy'] = None; "
            "runpy.run_module('derivations', run_name='__main__')")
    process = subprocess.run([sys.executable, "-c", code, "list"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert process.returncode == 1
    assert process.stdout == ""
    assert "pip install 'netlib[derive]'" in process.stderr
    assert "Traceback" not in process.stderr


def test_help_names_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "check", "show"):
        assert command in out
    assert "Jᵀ" in out


def test_no_command_prints_help_to_stderr_and_fails(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "COMMAND" in captured.err and captured.out == ""


def test_argparse_mistakes_go_to_stderr(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["show"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "NAME" in captured.err
