"""The site's Markdown parses the way its authors meant: two kinds of rendering bug.

Both are checked with the parser the site itself uses (MyST's markdown-it,
with the ``dollarmath`` extension of ``conf.py``), so they run in ``make
test`` without building the site:

* a ``|`` inside a generated table cell (``ln|det X|`` in math, ``a|b`` in a
  code span) must not split the cell: ``sitekit.markdown_table`` escapes it;
* a prose formula ``$...$`` broken over two source lines must stay one
  formula: a continuation line that starts with ``+ `` or ``- `` is read as a
  list item, and the page shows the raw ``$y_{nj} = ...``. Every page of
  ``docs/`` (and the layer page template) is parsed, and any ``$`` left in
  plain text is reported with its line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from string import Template

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))


@pytest.fixture(scope="module")
def parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    # The extensions of conf.py's myst_enable_extensions that change parsing.
    config = MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence",
                                               "deflist", "substitution"})
    return create_md_parser(config, RendererHTML)


def _cells(parser, text: str) -> list[list[str]]:
    """Rows of the first table in ``text``, each a list of its cells' inline source."""
    rows, row, inside = [], None, False
    for token in parser.parse(text):
        if token.type == "tr_open":
            row = []
        elif token.type in ("td_open", "th_open"):
            inside = True
        elif token.type == "inline" and inside and row is not None:
            row.append(token.children)
            inside = False
        elif token.type == "tr_close":
            rows.append(row)
    return rows


def test_a_bar_inside_a_table_cell_keeps_the_columns(parser):
    from sitekit import markdown_table

    rows = [[r"$\frac{\partial}{\partial X} \ln\left|\det X\right|$", r"$\|x\|_2$",
             "`a|b` or c|d"]]
    table = markdown_table(["question", "norm", "code"], rows)
    parsed = _cells(parser, table)
    assert [len(row) for row in parsed] == [3, 3], f"cells split or merged:\n{table}"
    first, second, third = parsed[1]
    # Each formula is one math token, and TeX still draws the bars.
    assert [t.type for t in first] == ["math_inline"], first
    assert r"\left\vert" in first[0].content and r"\right\vert" in first[0].content
    assert [t.type for t in second] == ["math_inline"] and r"\Vert" in second[0].content
    # In a code span and in text the bar is shown as typed.
    assert third[0].type == "code_inline" and third[0].content == "a|b", third
    assert "c|d" in "".join(t.content for t in third)


def test_a_line_break_in_a_cell_does_not_end_the_row(parser):
    from sitekit import markdown_table

    parsed = _cells(parser, markdown_table(["a", "b"], [["one\ntwo", "three"]]))
    assert [len(row) for row in parsed] == [2, 2]


def _pages() -> list[Path]:
    pages = [p for p in DOCS.rglob("*.md")
             if "_build" not in p.parts and "layers" not in p.relative_to(DOCS).parts]
    return [*sorted(pages), DOCS / "_ext" / "layer_page.md.tmpl"]


def _dollars_in_text(parser, text: str) -> list[str]:
    """Lines of ``text`` whose ``$`` the parser left as plain text (an unparsed formula)."""
    found = []
    for token in parser.parse(text):
        if token.type != "inline" or not token.children:
            continue
        for child in token.children:
            if child.type == "text" and "$" in child.content:
                line = token.map[0] + 1 if token.map else "?"
                found.append(f"line {line}: {child.content.strip()[:80]!r}")
    return found


class _Blank(dict):
    def __missing__(self, key):
        return ""


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_prose_formulas_are_parsed_as_math(parser, page):
    text = page.read_text(encoding="utf-8")
    # The template's $placeholders are string.Template's ($$ is a dollar sign).
    if page.suffix == ".tmpl":
        text = Template(text).substitute(_Blank())
    problems = _dollars_in_text(parser, text)
    assert not problems, (f"{page.relative_to(ROOT)}: a formula left as raw text (a line "
                          "inside $...$ starting with '+ ', '- ' or '1. ' begins a list; "
                          "move the operator to the line before):\n" + "\n".join(problems))


def test_the_prose_check_sees_a_broken_formula(parser):
    """The check above catches the bug it is for: ``+`` opening a continuation line."""
    broken = "From $y_{nj} = \\sum_i x_{ni} W_{ij}\n+ b_j$: the sums.\n"
    assert _dollars_in_text(parser, broken)
    assert not _dollars_in_text(parser, "From $y_{nj} = \\sum_i x_{ni} W_{ij} +\nb_j$.\n")


def test_a_long_answer_is_split_at_its_terms_and_only_a_long_term_is_folded(parser):
    """The identities page: a sum too wide for one line is shown one term per
    line (one math block, every term in it, none folded away); a single term
    too wide is folded; a short answer stays on one line."""
    from identities_page import LONG_LATEX, _shown

    from derivations.matrix_calculus.expr import to_latex
    from derivations.matrix_calculus.parser import parse

    terms = [f"A{k}.T @ B{k} @ C{k} @ D{k}" for k in range(9)]
    answer = parse(" + ".join(terms[:4]) + " - " + " - ".join(terms[4:]))
    assert len(to_latex(answer)) > LONG_LATEX
    shown = _shown(to_latex, answer, "stated")
    blocks = [t for t in parser.parse(shown) if t.type in ("math_block", "amsmath")]
    assert "details" not in shown and len(blocks) == 1, shown
    lines = blocks[0].content.split(r"\\")
    assert len(lines) == 9 and sum("-" in line for line in lines) == 5, lines
    for k in range(9):
        assert f"A_{{{k}}}" in blocks[0].content or f"A{k}" in blocks[0].content
    one_term = parse(" @ ".join(f"inv(A{k} + B{k} + C{k})" for k in range(12)))
    assert "<details" in _shown(to_latex, one_term, "stated")
    assert _shown(to_latex, parse("A @ x"), "stated").strip().startswith("$")
