"""The README's commands ask only for what they use: Chromium is for the browser test alone.

``make -n`` prints the commands a target would run without running them, so
this reads the Makefile's real dependency chain (not a copy of it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def planned(target: str) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed; the README's commands need it")
    process = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    return process.stdout


@pytest.mark.parametrize("target", ["test", "docs"])
def test_readme_commands_do_not_require_chromium(target):
    commands = planned(target)
    assert "system-deps.sh dataset-fashion-mnist" in commands
    assert "chromium" not in commands, commands


def test_the_browser_test_asks_for_chromium():
    commands = planned("browser-test")
    assert "system-deps.sh chromium" in commands
    assert "tests/test_site.py -m browser" in commands
