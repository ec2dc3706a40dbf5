"""Every code block a reader may paste, from the README and the site's prose, runs as written.

The site's ``{code-cell}`` cells run at every build; nothing else did. This test
extracts the other fenced blocks and runs them:

* ``python`` blocks of ``README.md`` and ``docs/**/*.md``: each in a fresh
  interpreter of its own (the one running pytest, i.e. ``.venv/bin/python``
  under ``make test``), from the repository root. A block may not lean on one
  before it, because a reader pastes one block, not the page.
* ``bash`` (``sh``, ``shell``) blocks: one ``bash -e -o pipefail`` script per
  block, from the repository root, as a reader runs them after ``make docs``
  and ``make test``. The directory of this interpreter comes first on ``PATH``,
  so a page's plain ``python`` is the project's venv, as after activating it.

A block may be left out only with a stated reason, by the line right before
it::

    <!-- snippet-test: skip (why) -->

(an HTML comment: invisible on GitHub and on the site). The set-up commands
``make docs`` and ``make test`` are skipped this way; so are commands that
take minutes or need files the repository does not ship.

Shown output is compared. A ``text`` block right after a code block (blank
lines between, nothing else) is what that block prints on stdout, and
:func:`output_mismatch` compares the two under these rules:

* a line ``...`` on its own stands for any number of lines (long output is
  abbreviated in the README);
* runs of spaces count as one, and trailing spaces and blank lines at the
  end are ignored (table columns widen with their contents);
* numbers agree within a relative ``1e-3`` (``NUMBER_RTOL``): printed values
  are rounded, and the last digit may differ between BLAS builds;
* numbers below ``1e-6`` in magnitude (``ROUNDING_LEVEL``) agree with any
  other such number: they are relative errors of checks that passed, i.e.
  rounding, and vary from machine to machine;
* a number followed by `` s`` is a time in seconds and is not compared.

Everything else, words, verdicts, shapes, must match exactly.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

PYTHON_LANGUAGES = {"python", "py", "python3"}
SHELL_LANGUAGES = {"bash", "sh", "shell"}
NUMBER_RTOL = 1e-3
ROUNDING_LEVEL = 1e-6
#: Seconds one block may take before it counts as hung.
TIMEOUT = 120

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SKIP = re.compile(r"^<!--\s*snippet-test:\s*skip\s*(?P<rest>.*?)\s*-->$")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_SECONDS = re.compile(r"\s+s\b")
_CODE_DIRECTIVES = {"{code-block}", "{code}", "{sourcecode}"}
_SET_UP = re.compile(r"\bmake\s+(docs|test)\b")


@dataclass
class Block:
    """One fenced block of a Markdown file, with what the test needs to know of it."""

    path: Path
    line: int                    # 1-based line of the opening fence
    language: str                # first word of the info string, lower case
    code: str
    skip: str | None = None      # the stated reason, if the block is left out
    output: str | None = None    # the ``text`` block right after, if any

    @property
    def where(self) -> str:
        try:
            name = self.path.relative_to(ROOT)
        except ValueError:
            name = self.path
        return f"{name}:{self.line}"

    @property
    def kind(self) -> str | None:
        if self.language in PYTHON_LANGUAGES:
            return "python"
        if self.language in SHELL_LANGUAGES:
            return "shell"
        return None


def extract_blocks(text: str, path: Path) -> list[Block]:
    """All fenced blocks of ``text``, each with its skip reason and shown output.

    Directives (``{code-cell}``, ``{literalinclude}``, ...) are blocks too, with
    a language starting with ``{``; the callers ignore them, except
    ``{code-block}``, which takes the language of its argument. A skip marker
    without a reason in parentheses is an error, not a silent skip.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    previous_end = None          # index of the closing fence of the last block
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        start = i
        body = []
        i += 1
        # A closing fence: the same character, at least as long, nothing after it.
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while i < len(lines) and not closing.match(lines[i]):
            body.append(lines[i])
            i += 1
        words = info.lower().split() or [""]
        if words[0] in _CODE_DIRECTIVES and len(words) > 1:
            # ```{code-block} python shows code without running it, like ```python;
            # its options (":caption: ...") come first.
            words = words[1:]
            while body and re.match(r"^:[\w-]+:", body[0]):
                body.pop(0)
        block = Block(path, start + 1, words[0], "\n".join(body) + "\n",
                      skip=_skip_reason(lines, start, path))
        # A text block with only blank lines between it and the block before it
        # is that block's output.
        if (block.language == "text" and blocks and previous_end is not None
                and all(not line.strip() for line in lines[previous_end + 1:start])):
            blocks[-1].output = block.code
        blocks.append(block)
        previous_end = i
        i += 1
    return blocks


def _skip_reason(lines: list[str], start: int, path: Path) -> str | None:
    """The reason of a skip marker on the line right before line ``start``, if any."""
    if start == 0:
        return None
    marker = _SKIP.match(lines[start - 1].strip())
    if not marker:
        return None
    reason = re.fullmatch(r"\((.+)\)", marker["rest"])
    if not reason:
        raise ValueError(f"{path}:{start}: a skip marker needs a reason: "
                         "<!-- snippet-test: skip (why) -->")
    return reason[1].strip()


def run_block(block: Block) -> subprocess.CompletedProcess:
    """Run one python or shell block from the repository root, as a reader would."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)          # the block sees what a reader's shell sees
    if block.kind == "python":
        command = [sys.executable, "-c", block.code]
    elif block.kind == "shell":
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    else:
        raise ValueError(f"{block.where}: no runner for a {block.language!r} block")
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def check_block(block: Block) -> None:
    """Run ``block``; raise ``AssertionError`` saying where and why if it fails.

    It fails when it exits non-zero, prints nothing (a reader could not tell
    that it worked), or prints something other than its shown output.
    """
    if block.kind == "shell" and _SET_UP.search(block.code):
        # Run inside `make test`, it would start the suite again, and again.
        raise AssertionError(f"{block.where}: a set-up command (make docs, make test) "
                             "runs only with a skip marker before its block")
    process = run_block(block)
    shown = f"--- stdout ---\n{process.stdout[-3000:]}--- stderr ---\n{process.stderr[-3000:]}"
    if process.returncode != 0:
        last = process.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise AssertionError(f"{block.where}: the {block.language} block exits with status "
                             f"{process.returncode}: {last[0]}\n{block.code}{shown}")
    if not process.stdout.strip():
        raise AssertionError(f"{block.where}: the {block.language} block prints nothing\n"
                             f"{block.code}{shown}")
    if block.output is not None:
        mismatch = output_mismatch(block.output, process.stdout)
        if mismatch:
            raise AssertionError(f"{block.where}: the output differs from the one shown "
                                 f"after the block: {mismatch}\n{shown}")


def output_mismatch(expected: str, actual: str) -> str | None:
    """``None`` if ``actual`` matches the shown ``expected``, else the first difference.

    The rules are the module docstring's: ``...`` lines, spaces, numbers.
    """
    want, got = _lines(expected), _lines(actual)

    def match(w: int, g: int) -> tuple[int, int] | None:
        """``None`` on a match from here on, else the (expected, actual) lines that fail."""
        while w < len(want):
            if want[w] == "...":
                if w + 1 == len(want):
                    return None
                failures = [match(w + 1, h) for h in range(g, len(got) + 1)]
                if any(f is None for f in failures):
                    return None
                return max(failures)     # the attempt that got furthest
            if g >= len(got) or not _same_line(want[w], got[g]):
                return (w, g)
            w, g = w + 1, g + 1
        return None if g == len(got) else (w, g)

    failure = match(0, 0)
    if failure is None:
        return None
    w, g = failure
    expected_line = want[w] if w < len(want) else "(end of the shown output)"
    actual_line = got[g] if g < len(got) else "(end of the output)"
    return f"expected line {w + 1}: {expected_line!r}; printed: {actual_line!r}"


def _lines(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in text.strip("\n").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _same_line(expected: str, actual: str) -> bool:
    want, got = _pieces(expected), _pieces(actual)
    if len(want) != len(got):
        return False
    for (w_text, w_number, w_time), (g_text, g_number, _) in zip(want, got, strict=True):
        if w_text != g_text:
            return False
        if w_number is None or w_time:
            if (w_number is None) != (g_number is None):
                return False
            continue
        if g_number is None or not _same_number(w_number, g_number):
            return False
    return True


def _pieces(line: str) -> list[tuple[str, float | None, bool]]:
    """``line`` as (text before, number, is a time) triples, and the text after."""
    pieces, at = [], 0
    for number in _NUMBER.finditer(line):
        is_time = bool(_SECONDS.match(line, number.end()))
        pieces.append((line[at:number.start()], float(number[0]), is_time))
        at = number.end()
    pieces.append((line[at:], None, False))
    return pieces


def _same_number(expected: float, actual: float) -> bool:
    if abs(expected) < ROUNDING_LEVEL and abs(actual) < ROUNDING_LEVEL:
        return True
    return math.isclose(expected, actual, rel_tol=NUMBER_RTOL)


# -- the blocks of the README and the site -----------------------------------------------
def _runnable(path: Path) -> list[Block]:
    return [block for block in extract_blocks(path.read_text(encoding="utf-8"), path)
            if block.kind is not None]


def _site_pages() -> list[Path]:
    # Generated pages (docs/layers, once the site is built) are included too:
    # their blocks are as pasteable as the written ones.
    return sorted(DOCS.rglob("*.md"))


README_BLOCKS = _runnable(README)
SITE_BLOCKS = [block for page in _site_pages() for block in _runnable(page)]


def _params(blocks: list[Block]) -> list:
    return [pytest.param(block, id=f"{block.where}-{block.language}",
                         marks=[pytest.mark.skip(reason=block.skip)] if block.skip else [])
            for block in blocks]


@pytest.mark.parametrize("block", _params(README_BLOCKS))
def test_readme_block_runs_as_written(block):
    check_block(block)


@pytest.mark.parametrize("block", _params(SITE_BLOCKS))
def test_site_prose_block_runs_as_written(block):
    check_block(block)


def test_readme_python_blocks_show_their_output():
    """A reader compares what a Python block prints with the README: it must be shown."""
    python = [block for block in README_BLOCKS if block.kind == "python"]
    assert python, "README.md has no python block: did the extractor break?"
    missing = [block.where for block in python if block.output is None]
    assert not missing, f"python blocks without a ```text block of output after them: {missing}"


def test_readme_shell_blocks_are_run():
    """Skipped blocks state why (the extractor insists); the others must exist and run."""
    shell = [block for block in README_BLOCKS if block.kind == "shell"]
    assert any(block.skip is None for block in shell), \
        [(block.where, block.skip) for block in shell]


# -- the extractor and the runner catch what they are for -------------------------------
PAGE = """\
# A page

<!-- snippet-test: skip (takes an hour) -->
```bash
make everything
```

```python
print(2 + 2)
```

```text
4
```

```{code-cell} ipython3
print("executed by the site, not here")
```

````markdown
```python
not a block of its own
```
````

```{code-block} python
:caption: shown, not executed
print("a directive's code")
```
"""


def test_extractor_reads_languages_markers_and_output():
    blocks = extract_blocks(PAGE, Path("page.md"))
    assert [(b.language, b.line) for b in blocks] == [
        ("bash", 4), ("python", 8), ("text", 12), ("{code-cell}", 16), ("markdown", 20),
        ("python", 26)]
    assert blocks[0].skip == "takes an hour" and blocks[0].output is None
    assert blocks[1].code == "print(2 + 2)\n" and blocks[1].output == "4\n"
    assert [b.kind for b in blocks] == ["shell", "python", None, None, None, "python"]
    assert blocks[5].code == "print(\"a directive's code\")\n"


def test_a_skip_marker_without_a_reason_is_an_error():
    with pytest.raises(ValueError, match="needs a reason"):
        extract_blocks("<!-- snippet-test: skip -->\n```bash\nls\n```\n", Path("page.md"))


def test_a_broken_python_block_fails():
    """The README's old check-your-own-code snippet used x, W, b that no block defined."""
    block = Block(Path("page.md"), 1, "python",
                  "W = [[1.0, 2.0]]\nprint(W, x)\n")
    with pytest.raises(AssertionError, match="NameError: name 'x' is not defined"):
        check_block(block)


def test_a_python_block_that_prints_other_output_fails():
    block = Block(Path("page.md"), 1, "python", "print(2 + 3)\n", output="4\n")
    with pytest.raises(AssertionError, match="expected line 1: '4'; printed: '5'"):
        check_block(block)


def test_a_silent_block_fails():
    block = Block(Path("page.md"), 1, "python", "x = 1\n")
    with pytest.raises(AssertionError, match="prints nothing"):
        check_block(block)


def test_an_unskipped_set_up_command_is_refused():
    block = Block(Path("page.md"), 1, "bash", "make test\n")
    with pytest.raises(AssertionError, match="skip marker"):
        check_block(block)


def test_a_failing_shell_command_fails_the_block():
    """``bash -e``: a failing command in the middle is not hidden by a later one."""
    block = Block(Path("page.md"), 1, "bash", "ls no-such-file\necho done\n")
    with pytest.raises(AssertionError, match="exits with status"):
        check_block(block)


@pytest.mark.parametrize("expected, actual, same", [
    ("loss 2.3026", "loss 2.3027", True),                   # last printed digit
    ("loss 2.3026", "loss 2.4026", False),                  # a real difference
    ("error 3.1e-11 (tolerance 4.0e-08)", "error 8.9e-12 (tolerance 3.9e-08)", True),
    ("error 3.1e-11", "error 3.1e-03", False),              # a wrong gradient
    ("all passed in 0.3 s", "all passed in 41.7 s", True),  # a time
    ("20 passed 0 failed", "20 passed 1 failed", False),
    ("True ['x', 'W']", "True  ['x', 'W']", True),          # spaces
    ("True", "False", False),
    ("a\n...\nz", "a\nb\nc\nz", True),                      # elided lines
    ("a\n...\nz", "a\nz", True),
    ("a\n...\nz", "a\nb\ny", False),
    ("a\nb", "a\nb\nc", False),                             # extra output
    ("a\n...", "a\nb\nc", True),
])
def test_output_comparison(expected, actual, same):
    assert (output_mismatch(expected, actual) is None) == same
